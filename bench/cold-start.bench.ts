/**
 * Cold start of every function, as deployed: a fresh `node` process importing the function's code directory (the
 * ESM bundle lib/bundling.ts builds for `cdk deploy`, plus its runtime.json), with the deployed `NODE_OPTIONS`
 * (source maps) and an environment shaped like the deployed one in the reference stage, prod (bench/deployed.ts) —
 * tracing included: the functions prod traces (X-Ray Active) load Powertools' Tracer and the X-Ray SDK at init, the
 * others (PassThrough, `POWERTOOLS_TRACE_ENABLED=false`) do not; a traced function is measured untraced as well
 * (`<name>.untraced`), which shows what tracing costs at init. Each is compared with its own SDK floor: a module
 * bundled the same way that only creates the SDK clients the function calls for every event it handles —
 *
 * - ingest, sweeper: DynamoDB + EventBridge;
 * - delivery: DynamoDB, plus the client of its target's kind (none for http);
 * - broadcast, connections: DynamoDB + API Gateway Management API;
 * - routes (runs at deploy): API Gateway v2 + Secrets Manager.
 *
 * Clients a function needs only now and then — Secrets Manager for a cached webhook or signing secret, S3 for large
 * payloads, SQS and Lambda on a failed delivery — are not in its floor: loading them is a cost the function may
 * defer, and the `first_event` figures of the cpu suite show what the first event then pays.
 *
 * Rounds: each runs every floor and function back to back (order alternating by round); a figure's ratio is the
 * median of its per-round ratios. Also records each bundle's size, eager (loaded at init) and in all.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseRouterConfig } from '../core/config';
import { allFunctions, type FunctionSpec, planTopology } from '../core/plan';
import { bundleHandler, FUNCTION_NODE_OPTIONS, functionCode, REPO_ROOT } from '../lib/bundling';
import exampleConfig from '../router.config';
import { deployedEnvironment, deployedTracing, REFERENCE_STAGE } from './deployed';
import { median, pairedSummary, round } from './stats';
import type { BenchFigure, BenchSuite } from './types';

const ROUNDS = Number(process.env.BENCH_ROUNDS) > 0 ? Number(process.env.BENCH_ROUNDS) : 20;
/** Each spawn is killed if it takes longer than this (a broken bundle must not hang the suite). */
const SPAWN_TIMEOUT_MS = 20_000;

/** SDK clients by the package and class a floor module imports. */
const CLIENTS = {
  dynamodb: ['@aws-sdk/client-dynamodb', 'DynamoDBClient'],
  eventbridge: ['@aws-sdk/client-eventbridge', 'EventBridgeClient'],
  management: ['@aws-sdk/client-apigatewaymanagementapi', 'ApiGatewayManagementApiClient'],
  apigatewayv2: ['@aws-sdk/client-apigatewayv2', 'ApiGatewayV2Client'],
  secrets: ['@aws-sdk/client-secrets-manager', 'SecretsManagerClient'],
  sqs: ['@aws-sdk/client-sqs', 'SQSClient'],
  lambda: ['@aws-sdk/client-lambda', 'LambdaClient'],
  s3: ['@aws-sdk/client-s3', 'S3Client'],
  cloudwatch: ['@aws-sdk/client-cloudwatch', 'CloudWatchClient'],
} as const;
type ClientName = keyof typeof CLIENTS;

/** The clients a function calls for every event it handles (see the header). */
export function floorClients(spec: FunctionSpec): ClientName[] {
  switch (spec.handler) {
    case 'ingest':
    case 'sweeper':
      return ['dynamodb', 'eventbridge'];
    case 'broadcast':
    case 'connections':
      return ['dynamodb', 'management'];
    case 'routes':
      return ['apigatewayv2', 'secrets'];
    // Every client it makes at init: an operator's request may need any of them.
    case 'management':
      return ['dynamodb', 'eventbridge', 'lambda', 'secrets', 'sqs', 's3', 'cloudwatch'];
    case 'delivery': {
      const kind = (spec.runtime as { target: { config: { kind: string } } }).target.config.kind;
      const extra: Record<string, ClientName[]> = {
        http: [],
        sqs: ['sqs'],
        lambda: ['lambda'],
        eventbridge: ['eventbridge'],
      };
      return ['dynamodb', ...(extra[kind] ?? [])];
    }
  }
}

/** The floor module of a set of clients: bundled like a handler, creating each client as the handlers do. */
async function floorCode(clients: readonly ClientName[]): Promise<string> {
  const dir = path.join(REPO_ROOT, 'node_modules', '.cache', 'event-router', 'floors');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${clients.join('-')}.ts`);
  const lines = [
    ...clients.map((c) => `import { ${CLIENTS[c][1]} } from '${CLIENTS[c][0]}';`),
    `const config = { maxAttempts: 2, requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 } };`,
    `export const clients = [${clients.map((c) => `new ${CLIENTS[c][1]}(config)`).join(', ')}];`,
    'export const handler = async () => clients.length;',
    '',
  ];
  writeFileSync(file, lines.join('\n'));
  return functionCode(await bundleHandler(file), undefined);
}

/**
 * One fresh process importing `codeDir/index.mjs` (or importing nothing, for `codeDir` undefined): the CPU time it
 * used from its start to the end of the import (every thread: user + system), as the process itself reports it, and
 * the wall time around it. CPU time is the figure: on a shared 2-core machine the wall time of a 100 ms process
 * mostly measures the scheduler (paired wall-time ratios spread from 0.8 to 3.8 under load, CPU ratios from 1.3 to
 * 1.8), while a cold start's work is CPU — its files come from the page cache.
 */
function spawnCold(codeDir: string | undefined, env: NodeJS.ProcessEnv): { cpuMs: number; wallMs: number } {
  const load =
    codeDir === undefined
      ? ''
      : `await import(${JSON.stringify(pathToFileURL(path.join(codeDir, 'index.mjs')).href)});`;
  const script = `${load}const u = process.cpuUsage(); process.stdout.write(String((u.user + u.system) / 1000));`;
  const started = process.hrtime.bigint();
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env,
    stdio: 'pipe',
    timeout: SPAWN_TIMEOUT_MS,
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpuMs = Number(String(out.stdout));
  if (out.status !== 0 || !Number.isFinite(cpuMs))
    throw new Error(`importing ${codeDir} failed: ${String(out.stderr).slice(0, 2000)}`);
  return { cpuMs, wallMs };
}

/**
 * The JavaScript files a code directory loads at init: `index.mjs` (and `roots`) and, transitively, the sibling
 * chunks they import statically (esbuild's minified form: `from"./chunks/x.mjs"`, `import"./x.mjs"`); a chunk reached
 * only by `import("./…")` is loaded lazily and is not among them.
 */
export function eagerFiles(dir: string, roots: readonly string[] = []): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*"(\.{1,2}\/[^"]+\.mjs)"/g))
      visit(path.resolve(path.dirname(file), m[1]!));
  };
  for (const root of [path.join(dir, 'index.mjs'), ...roots]) visit(root);
  return [...seen];
}

/**
 * The lazily loaded chunk that holds Powertools' Tracer and the X-Ray SDK (lambdas/shared/observability.ts imports
 * it at init where the function is traced), found by the name of the X-Ray SDK's middleware.
 */
export function tracerChunk(dir: string): string | undefined {
  const chunks = path.join(dir, 'chunks');
  return readdirSync(chunks)
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => path.join(chunks, f))
    .find((f) => readFileSync(f, 'utf8').includes('XRaySDKInstrumentation'));
}

/**
 * Bytes of the JavaScript a code directory loads at init (entry + its static imports, and the tracer's chunk when
 * `traced`) and in all.
 */
export function codeBytes(dir: string, traced = false): { eager: number; total: number } {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.mjs')) total += statSync(p).size;
    }
  };
  walk(dir);
  const tracer = traced ? tracerChunk(dir) : undefined;
  if (traced && !tracer) throw new Error(`${dir}: no chunk holds the tracer`);
  const eager = eagerFiles(dir, tracer ? [tracer] : []).reduce(
    (bytes, file) => bytes + statSync(file).size,
    0,
  );
  return { eager, total };
}

interface Measured {
  readonly spec: FunctionSpec;
  /** The figure's name: the function's, with a suffix for a variant not deployed so. */
  readonly name: string;
  readonly tracing: 'Active' | 'PassThrough';
  readonly code: string;
  readonly floor: string;
  readonly clients: ClientName[];
  readonly env: NodeJS.ProcessEnv;
  readonly rounds: { value: number; floor: number }[];
}

const suite: BenchSuite = {
  name: 'cold-start',
  async run() {
    const topology = planTopology(parseRouterConfig(exampleConfig));
    const measured: Measured[] = [];
    for (const spec of allFunctions(topology)) {
      const code = functionCode(await bundleHandler(spec.entry), spec.runtime);
      const clients = floorClients(spec);
      const floor = await floorCode(clients);
      const tracing = deployedTracing(spec);
      measured.push({
        spec,
        name: spec.name,
        tracing,
        code,
        floor,
        clients,
        env: deployedEnvironment(spec, code, tracing),
        rounds: [],
      });
      // What tracing costs at init: a function traced in the reference stage is also measured untraced.
      if (tracing === 'Active') {
        measured.push({
          spec,
          name: `${spec.name}.untraced`,
          tracing: 'PassThrough',
          code,
          floor,
          clients,
          env: deployedEnvironment(spec, code, 'PassThrough'),
          rounds: [],
        });
      }
    }
    const bareEnv = { PATH: process.env.PATH, NODE_OPTIONS: FUNCTION_NODE_OPTIONS };
    // Warm the file cache once: the first read of a bundle from disk is not what a cold start on Lambda pays.
    for (const m of measured) {
      spawnCold(m.floor, m.env);
      spawnCold(m.code, m.env);
    }
    const bare: number[] = [];
    const wall: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      bare.push(spawnCold(undefined, bareEnv).cpuMs);
      for (const m of measured) {
        if (r % 2 === 0) {
          const floor = spawnCold(m.floor, m.env).cpuMs;
          const value = spawnCold(m.code, m.env);
          m.rounds.push({ floor, value: value.cpuMs });
          if (m.name === 'ingest') wall.push(value.wallMs);
        } else {
          const value = spawnCold(m.code, m.env).cpuMs;
          m.rounds.push({ value, floor: spawnCold(m.floor, m.env).cpuMs });
        }
      }
    }
    const bareMs = round(median(bare));
    const figures: BenchFigure[] = [];
    const byName = new Map(measured.map((m) => [m.name, m]));
    for (const m of measured) {
      const s = pairedSummary(m.rounds);
      const traced = m.tracing === 'Active';
      const sizes = codeBytes(m.code, traced);
      const floorSizes = codeBytes(m.floor);
      const deployed = m.name === m.spec.name;
      const untraced = byName.get(`${m.name}.untraced`);
      const tracingNote = traced
        ? `traced: X-Ray Active in ${REFERENCE_STAGE.name} (lib/stages.ts activeTracing), so the Powertools Tracer and X-Ray SDK load at init${untraced ? ` (cold_start.${untraced.name}: the same code untraced, ratio ${round(pairedSummary(untraced.rounds).ratio, 3)})` : ''}`
        : deployed
          ? `not traced: PassThrough in ${REFERENCE_STAGE.name} (lib/stages.ts activeTracing), POWERTOOLS_TRACE_ENABLED=false, the tracer's chunk is not loaded`
          : `not deployed so: the code of cold_start.${m.spec.name} with POWERTOOLS_TRACE_ENABLED=false (PassThrough), for the cost of tracing at init`;
      figures.push(
        {
          name: `cold_start.${m.name}.module_load_ms`,
          value: round(s.value),
          unit: 'ms',
          floor: round(s.floor),
          ratio: round(s.ratio, 3),
          note: `CPU ms of a fresh node process importing the deployed code (NODE_OPTIONS=${FUNCTION_NODE_OPTIONS}) vs its SDK floor (${m.clients.join(' + ')} clients, bundled the same way); median of ${s.rounds} paired rounds, ratio = median of per-round ratios; bare node -e 0 = ${bareMs} ms (${round(s.value / bareMs, 2)}× for the function, ${round(s.floor / bareMs, 2)}× for the floor); ${tracingNote}${deployed ? '; goal is the ratio' : ''}`,
          ...(deployed ? { goal: { value: 1.1, better: 'lower' as const } } : {}),
        },
        {
          name: `cold_start.${m.name}.eager_kib`,
          value: round(sizes.eager / 1024),
          unit: 'KiB',
          floor: round(floorSizes.eager / 1024),
          note: `minified ESM loaded at init (entry + static chunks${traced ? " + the tracer's chunk" : ''}, source maps excluded); ${round(sizes.total / 1024)} KiB with the lazily loaded chunks`,
        },
      );
    }
    figures.push({
      name: 'cold_start.bare_node_ms',
      value: bareMs,
      unit: 'ms',
      note: `CPU ms of node -e 0 with the same NODE_OPTIONS, median of ${ROUNDS}; wall time of the ingest process ${round(median(wall))} ms (median, machine shared)`,
    });
    return figures;
  },
};
export default suite;
