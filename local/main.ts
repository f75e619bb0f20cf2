/**
 * `npm start`: the whole Event Router on 127.0.0.1 — real handlers, local DynamoDB/SQS/EventBridge/Secrets
 * Manager/API Gateway, no AWS, no Docker.
 *
 *   npm start -- [--http-port 3000] [--ws-port 3001] [--metrics-port 3002] [--data-dir .local-data]
 *                [--config router.config.ts] [--demo] [--allow-outbound] [--retry-delay 1] [--sweep-interval 60]
 *                [--log-level INFO] [--log-format human|json] [--quiet]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type RouterConfig, RouterConfigError } from '../core/config';
import { REPO_ROOT } from '../lib/bundling';
import { type DemoAgent, startDemoAgent } from './demo-agent';
import { type LogFormat, localLogSink } from './log-format';
import { PortInUseError } from './net';
import { sampleCurl } from './sample-webhook';
import { LOCAL_REGION, localCredentials } from './services/aws-env';
import { defaultSigningSecret, defaultSigningSecretName, LocalSecretStore } from './services/secrets';
import { ConfigLoadError, LOCAL_NAMES, type LocalStack, loadConfigFile, startLocalStack } from './stack';
import { localStackState, removeLocalState, writeLocalState } from './state';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const USAGE = `Usage: npm start -- [options]
  --http-port <n>     webhook HTTP API port (default 3000)
  --ws-port <n>       WebSocket API + @connections port (default 3001)
  --metrics-port <n>  Prometheus metrics port: GET /metrics (default 3002)
  --data-dir <dir>    persist DynamoDB, SQS and S3 data there (default: in memory)
  --config <path>     router config module (default: router.config.ts)
  --demo              start a sample agent and point every HTTP target at it
  --allow-outbound    deliver to targets outside this machine (default: such targets are paused, their events
                      wait in their queues)
  --retry-delay <s>   local delay before a failed delivery is retried (default 1)
  --sweep-interval <s> how often pending events are republished (default 60; also once at start)
  --log-level <lvl>   DEBUG | INFO | WARN | ERROR: the functions' Powertools log level (default INFO)
  --log-format <f>    human: one line per accepted, rejected, delivered or failed event, and every warning
                      (default); json: the functions' raw JSON log lines, as in CloudWatch
  --quiet             show only what went wrong (rejections, failures, warnings, errors)

Alarm conditions (the deployed alarms, with the dev thresholds) are logged as they change:
  ALARM <alarm> <subject> = <value>, then OK <alarm> <subject> = <value> when they clear.`;

/** A bad flag value: printed as one line. */
class UsageError extends Error {}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} must be a positive number of seconds, got "${value}"`);
  return n;
}

function parsePort(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`${flag} must be a port number, got "${value}"`);
  return port;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'http-port': { type: 'string' },
      'ws-port': { type: 'string' },
      'metrics-port': { type: 'string' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      demo: { type: 'boolean', default: false },
      'allow-outbound': { type: 'boolean', default: false },
      'log-format': { type: 'string' },
      'retry-delay': { type: 'string' },
      'sweep-interval': { type: 'string' },
      'log-level': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const logLevel = (values['log-level'] ?? 'INFO').toUpperCase();
  if (!['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel))
    throw new UsageError(`--log-level must be DEBUG, INFO, WARN or ERROR, got "${values['log-level']}"`);
  const logFormat = values['log-format'] ?? 'human';
  if (logFormat !== 'human' && logFormat !== 'json')
    throw new UsageError(`--log-format must be human or json, got "${logFormat}"`);

  let demo: DemoAgent | undefined;
  let stack: LocalStack | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    removeLocalState();
    await stack?.stop();
    await demo?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const configPath = values.config ? path.resolve(values.config) : undefined;
  // Read once, before anything starts: a missing or broken file is a one-line error.
  const config = await loadConfigFile(configPath ?? path.join(REPO_ROOT, 'router.config.ts'));
  const targetUrls: Record<string, string> = {};
  if (values.demo) {
    // The demo agent verifies with the secret the delivery functions sign with (env override or local default).
    const probe = targetSigningSecrets(config);
    const first = probe[0];
    if (first) {
      demo = await startDemoAgent({ secret: first.secret });
      for (const t of probe) targetUrls[t.name] = demo.url;
      if (probe.length > 1) console.log('Note: the demo agent verifies signatures of the first target only.');
    }
  }

  stack = await startLocalStack({
    httpPort: parsePort(values['http-port'], 3000, '--http-port'),
    wsPort: parsePort(values['ws-port'], 3001, '--ws-port'),
    metricsPort: parsePort(values['metrics-port'], 3002, '--metrics-port'),
    ...(values['data-dir'] ? { dataDir: path.resolve(values['data-dir']) } : {}),
    config,
    targetUrls,
    // Nothing leaves this machine unless asked: the demo agent is local, --allow-outbound lets the rest out.
    outbound: values['allow-outbound'] ? 'allow' : 'pause',
    retryDelaySeconds:
      values['retry-delay'] === undefined ? 1 : positive(values['retry-delay'], '--retry-delay'),
    sweepIntervalSeconds:
      values['sweep-interval'] === undefined ? 60 : positive(values['sweep-interval'], '--sweep-interval'),
    logLevel: logLevel as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR',
    functionLogs: localLogSink(logFormat as LogFormat, { quiet: values.quiet }),
  });
  // Where the CLI (`npx event-router …`) finds this stack and its local credentials.
  writeLocalState(localStackState(stack));
  process.on('exit', () => removeLocalState());
  printBanner(stack, demo, values['data-dir'] ? path.resolve(values['data-dir']) : undefined);
}

/** Target names and signing secrets, without starting anything (the demo agent needs them first). */
function targetSigningSecrets(config: RouterConfig): { name: string; secret: string }[] {
  const store = new LocalSecretStore();
  return config.targets.flatMap((t) =>
    t.kind === 'http'
      ? [
          {
            name: t.name,
            secret: store.define(
              t.signingSecret?.secretName ?? defaultSigningSecretName(t.name),
              defaultSigningSecret(t.name),
            ).value,
          },
        ]
      : [],
  );
}

function printBanner(stack: LocalStack, demo: DemoAgent | undefined, dataDir: string | undefined): void {
  const lines: string[] = ['', 'Event Router is running locally (127.0.0.1 only).', ''];
  lines.push(
    dataDir
      ? `  State:          kept in ${dataDir} (events, queues, payloads, URL tokens; survives restarts and kill -9)`
      : '  State:          IN MEMORY: lost when this process stops (keep it with --data-dir <dir>)',
  );
  for (const source of stack.config.sources)
    lines.push(`  Webhook URL (${source.name}): ${stack.webhookUrl(source.name)}`);
  lines.push(
    `  WebSocket URL:  ${stack.websocketUrl}?token=${encodeURIComponent(stack.secrets.streamToken)}`,
  );
  lines.push(`  @connections:   ${stack.managementUrl}`);
  lines.push(
    `  Management API: ${stack.http.url}/v1 (SigV4, access key ${localCredentials.accessKeyId}, secret key ` +
      `${localCredentials.secretAccessKey}, region ${LOCAL_REGION}, service execute-api)`,
    '                  npx event-router events list   (the CLI signs for you: see `npx event-router --help`)',
    `  Metrics:        ${stack.metricsUrl} (Prometheus text format; alarm conditions are logged as ALARM/OK lines)`,
  );
  const e = stack.endpoints;
  lines.push(
    '',
    '  Local AWS endpoints (aws --endpoint-url <url> --region us-east-1, credentials local/local):',
    `    DynamoDB ${e.dynamodb}   SQS and S3 ${e.sqs}   EventBridge ${e.eventbridge}   Secrets Manager ${e.secretsManager}`,
    `    tables ${stack.tableName}, ${LOCAL_NAMES.liveTable}; queues: aws sqs list-queues --endpoint-url ${e.sqs}`,
  );
  for (const target of stack.config.targets) {
    const paused = stack.pausedTargets.includes(target.name);
    lines.push(
      `  Target ${target.name} → ${stack.targetDescription(target.name)}${paused ? '   PAUSED: outside this machine; its events wait in its queue' : ''}`,
    );
  }
  if (stack.pausedTargets.length > 0) {
    lines.push(
      '    Nothing leaves this machine unless you ask: restart with --allow-outbound, point the target at 127.0.0.1,',
      '    or use --demo. To resume a paused target now:',
      ...stack.pausedTargets.map(
        (name) =>
          `      aws lambda update-event-source-mapping --uuid local-${name} --enabled --endpoint-url ${e.lambda} --region us-east-1`,
      ),
    );
  }
  if (demo) lines.push(`  Demo agent:     ${demo.url} (verifies Standard Webhooks signatures)`);
  lines.push('', '  Secrets (override with env EVENT_ROUTER_SECRET_<NAME>):');
  for (const secret of stack.secrets.list()) {
    const origin = secret.origin === 'default' ? 'LOCAL DEFAULT' : `from ${secret.origin}`;
    lines.push(`    ${secret.name} = ${secret.value}   [${origin}; env ${secret.envName}]`);
  }
  const github = stack.config.sources.find((s) => s.provider === 'github');
  if (github) {
    const { command } = sampleCurl(stack.webhookUrl(github.name), stack.secrets.source(github.name));
    lines.push('', `  Send a signed sample GitHub pull_request.opened webhook:`, '', command);
  }
  lines.push('', 'Ctrl-C to stop.', '');
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  if (
    error instanceof PortInUseError ||
    error instanceof RouterConfigError ||
    error instanceof ConfigLoadError ||
    error instanceof UsageError
  )
    console.error(`error: ${error.message}`);
  else if (String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
    console.error(`error: ${(error as Error).message}\n${USAGE}`);
  } else console.error(error);
  process.exit(1);
});
