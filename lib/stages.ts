/**
 * Deployment stages modelled in code. The stack receives one of these as a prop; nothing in `lib/` reads
 * `process.env`.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { HANDLERS, type HandlerName } from '../core/plan';
import type { StageName } from '../core/stages';
import type { WebSocketAccessLogs } from './live-stream';

export type { StageName };

export interface StageConfig {
  readonly name: StageName;
  /** How long Lambda and API access logs are kept. */
  readonly logRetention: RetentionDays;
  /** What happens to the event store and payload bucket when the stack is deleted. */
  readonly dataRemovalPolicy: RemovalPolicy;
  /** Powertools log level of every function. */
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * Share of invocations that log at DEBUG whatever `logLevel` says (Powertools' POWERTOOLS_LOGGER_SAMPLE_RATE,
   * decided anew for every invocation): the detail of a few requests without the cost of all.
   */
  readonly logSampleRate: number;
  /**
   * Functions that start X-Ray traces (tracing mode Active: Lambda samples the first request each second and 5 % of
   * the others, a rate nobody can change: X-Ray sampling rules apply to API Gateway REST APIs, AppSync, Step Functions
   * and SDK-instrumented hosts, not to Lambda, https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html);
   * the others are PassThrough: they start no trace and pass an upstream trace context on without segments of their
   * own (https://aws.amazon.com/blogs/compute/streamlining-trace-sampling-behavior-for-aws-lambda-functions-with-aws-x-ray/).
   *
   * Tracing is not free even for the invocations Lambda does not sample: a traced function loads the X-Ray SDK at
   * init (118 KiB; ingest's cold start 1.23 → 1.45 × its SDK floor) and runs its async-context hooks on every event
   * (bench/results.json `cpu.*`), and at a few webhooks a second the first-request-each-second reservoir records
   * about 30 % of them ($5 per million traces: more than ingest's whole Lambda bill). So prod traces deliveries only —
   * where the time goes to someone else's endpoint — and the webhook path is followed by its correlation id in the
   * logs and the API's access log. `cdk deploy -c tracing=ingest,delivery` (or `all`, `none`) overrides it.
   */
  readonly activeTracing: readonly HandlerName[];
  /** How often the sweeper republishes events whose PutEvents failed. */
  readonly sweepInterval: Duration;
  /**
   * Access logs of the WebSocket stage; anything but `off` needs the account's API Gateway CloudWatch Logs role
   * (see WebSocketAccessLogs). Override with `cdk deploy -c websocketAccessLogs=account-role-exists`.
   */
  readonly websocketAccessLogs: WebSocketAccessLogs;
}

export const STAGES: Readonly<Record<StageName, StageConfig>> = {
  dev: {
    name: 'dev',
    logRetention: RetentionDays.ONE_WEEK,
    dataRemovalPolicy: RemovalPolicy.DESTROY,
    logLevel: 'DEBUG',
    logSampleRate: 0,
    activeTracing: HANDLERS,
    sweepInterval: Duration.minutes(5),
    websocketAccessLogs: 'off',
  },
  staging: {
    name: 'staging',
    logRetention: RetentionDays.ONE_MONTH,
    dataRemovalPolicy: RemovalPolicy.RETAIN,
    logLevel: 'INFO',
    logSampleRate: 0.1,
    activeTracing: HANDLERS,
    sweepInterval: Duration.minutes(1),
    websocketAccessLogs: 'off',
  },
  prod: {
    name: 'prod',
    logRetention: RetentionDays.THREE_MONTHS,
    dataRemovalPolicy: RemovalPolicy.RETAIN,
    logLevel: 'INFO',
    logSampleRate: 0.01,
    activeTracing: ['delivery'],
    sweepInterval: Duration.minutes(1),
    websocketAccessLogs: 'off',
  },
};

const ACCESS_LOG_SETTINGS: readonly WebSocketAccessLogs[] = [
  'off',
  'account-role-exists',
  'create-account-role',
];

/**
 * The functions a `tracing` context value names: `all`, `none`, or handler names separated by commas
 * (`ingest,delivery`).
 */
export function parseTracing(value: unknown): readonly HandlerName[] {
  const text = String(value).trim();
  if (text === 'all') return HANDLERS;
  if (text === 'none') return [];
  const names = text
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (names.length === 0)
    throw new Error(
      `tracing: expected all, none or a comma-separated list of ${HANDLERS.join(', ')}, got "${text}"`,
    );
  const unknown = names.filter((n) => !(HANDLERS as readonly string[]).includes(n));
  if (unknown.length > 0)
    throw new Error(
      `tracing: unknown function ${unknown.map((n) => `"${n}"`).join(', ')}; expected all, none or a comma-separated list of ${HANDLERS.join(', ')}`,
    );
  return [...new Set(names)] as HandlerName[];
}

/** A stage by name, with the `websocketAccessLogs` and `tracing` context values when given. */
export function stageConfig(name: string, websocketAccessLogs?: unknown, tracing?: unknown): StageConfig {
  if (!(name in STAGES)) {
    throw new Error(`Unknown stage "${name}": expected one of ${Object.keys(STAGES).join(', ')}`);
  }
  let stage: StageConfig = STAGES[name as StageName];
  if (tracing !== undefined) stage = { ...stage, activeTracing: parseTracing(tracing) };
  if (websocketAccessLogs === undefined) return stage;
  if (!ACCESS_LOG_SETTINGS.includes(websocketAccessLogs as WebSocketAccessLogs)) {
    throw new Error(
      `websocketAccessLogs must be one of ${ACCESS_LOG_SETTINGS.join(', ')}, got "${String(websocketAccessLogs)}"`,
    );
  }
  return { ...stage, websocketAccessLogs: websocketAccessLogs as WebSocketAccessLogs };
}
