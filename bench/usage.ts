/**
 * Runs the reference webhook through the ingest, delivery and broadcast functions, each in a fresh process, bundled
 * as deployed, with the network stubbed at the SDK's request handler (bench/cpu/harness.ts). Used by the cpu suite
 * (CPU per event) and by the cost model (the requests each function makes, their bodies, the log bytes).
 */

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { parseRouterConfig } from '../core/config';
import { type FunctionSpec, planTopology, runtimeSources, type Topology } from '../core/plan';
import { admitWebhook, precheck } from '../lambdas/ingest/ingest';
import { toIngestRequest } from '../lambdas/ingest/request';
import { bundleHandler, functionCode } from '../lib/bundling';
import type { HarnessResult, HarnessSpec } from './cpu/harness';
import {
  deployedEnvironment,
  ingestEvent,
  REFERENCE_SECRET,
  REFERENCE_SIGNING_SECRET,
  referenceBody,
  referenceConfig,
} from './deployed';

export const MEASURED_FUNCTIONS = ['ingest', 'delivery', 'broadcast'] as const;
export type MeasuredFunction = (typeof MEASURED_FUNCTIONS)[number];

/** WebSocket clients the broadcast function pushes each event to in the bench (the e2e suite connects as many). */
export const BENCH_CONNECTIONS = 10;
/** A run is killed if it takes longer than this. */
const RUN_TIMEOUT_MS = 300_000;

export interface UsageOptions {
  readonly rounds: number;
  readonly batch: number;
  readonly warmup: number;
  /** Connections the broadcast function pushes each event to. @default BENCH_CONNECTIONS */
  readonly connections?: number;
}

export interface FunctionUsage extends HarnessResult {
  readonly spec: FunctionSpec;
}

/** The bus event EventBridge hands to a rule target for an envelope, as an SQS record (what delivery reads). */
function sqsEvent(detailJson: string, type: string, queue: string): SQSEvent {
  const body = `{"version":"0","id":"${randomUUID()}","detail-type":${JSON.stringify(type)},"source":"webhook.github","account":"123456789012","time":"2026-12-01T15:00:00Z","region":"us-east-1","resources":[],"detail":${detailJson}}`;
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: `AQEB${'x'.repeat(300)}`,
        body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: '1796137200000',
          SenderId: 'AIDAIENQZJOLO23YVJ4VO',
          ApproximateFirstReceiveTimestamp: '1796137200010',
        },
        messageAttributes: {},
        md5OfBody: '0'.repeat(32),
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:${queue}`,
        awsRegion: 'us-east-1',
      },
    ],
  };
}

/** The envelope ingest builds for the reference webhook (its JSON as published). */
function referenceEnvelope(topology: Topology): { json: string; type: string } {
  const sources = new Map(runtimeSources(topology.sources).map((s) => [s.name, s]));
  const request = toIngestRequest(ingestEvent(referenceBody()), sources);
  const checked = precheck(request, sources);
  if (checked.kind !== 'source') throw new Error('the reference webhook does not reach its source');
  const admission = admitWebhook(request, checked.source, [REFERENCE_SECRET], Date.now(), 7);
  if (admission.kind !== 'accept') throw new Error('the reference webhook is not accepted');
  return { json: admission.event.json, type: admission.event.envelope.type };
}

/** A connection record as the live table returns it (DynamoDB JSON), subscribed to every GitHub event. */
function connectionItem(i: number) {
  const id = `Bench${String(i).padStart(3, '0')}Conn=`;
  return {
    pk: { S: 'CONNECTION' },
    sk: { S: id },
    connectionId: { S: id },
    pattern: { S: '{"source":["webhook.github"]}' },
    connectedAt: { S: '2026-12-01T14:00:00.000Z' },
    expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) },
  };
}

/** Runs one harness child to completion; rejects on a non-zero exit. Its stdout (the function's logs) is dropped. */
function runChild(codeDir: string, env: NodeJS.ProcessEnv, specFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each child, for finding where the time goes.
    const profile = process.env.BENCH_CPU_PROF
      ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`]
      : [];
    const child = spawn(process.execPath, [...profile, path.join(codeDir, 'index.mjs'), specFile], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`bench child ${codeDir} exited ${code ?? signal}: ${stderr}`));
    });
  });
}

/** Measures each function in turn (never two at once: they would share the two cores). */
export async function measureUsage(
  options: UsageOptions,
  only: readonly MeasuredFunction[] = MEASURED_FUNCTIONS,
): Promise<Record<MeasuredFunction, FunctionUsage | undefined>> {
  // The HTTP target: answers 200 at once, like a healthy agent; in this process, so its CPU is not counted.
  const target = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-length': '0' }).end());
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;
  const work = mkdtempSync(path.join(os.tmpdir(), 'event-router-usage-'));
  try {
    const topology = planTopology(parseRouterConfig(referenceConfig(targetUrl)));
    const envelope = referenceEnvelope(topology);
    const specs: Record<MeasuredFunction, FunctionSpec> = {
      ingest: topology.functions.ingest,
      delivery: topology.targets[0]!.function,
      broadcast: topology.functions.broadcast!,
    };
    const fixtures: Record<MeasuredFunction, Record<string, unknown>> = {
      ingest: { event: ingestEvent(referenceBody()), secret: REFERENCE_SECRET },
      delivery: {
        event: sqsEvent(envelope.json, envelope.type, 'agent'),
        signingSecret: REFERENCE_SIGNING_SECRET,
      },
      broadcast: {
        event: sqsEvent(envelope.json, envelope.type, 'broadcast'),
        connections: Array.from({ length: options.connections ?? BENCH_CONNECTIONS }, (_, i) =>
          connectionItem(i),
        ),
      },
    };
    const out = { ingest: undefined, delivery: undefined, broadcast: undefined } as Record<
      MeasuredFunction,
      FunctionUsage | undefined
    >;
    for (const name of only) {
      const spec = specs[name];
      const code = functionCode(await bundleHandler(`bench/cpu/${name}.entry.ts`), spec.runtime);
      const resultFile = path.join(work, `${name}.result.json`);
      const specFile = path.join(work, `${name}.spec.json`);
      const { rounds, batch, warmup } = options;
      const harness: HarnessSpec = { rounds, batch, warmup, resultFile, fixtures: fixtures[name] };
      writeFileSync(specFile, JSON.stringify(harness));
      await runChild(code, deployedEnvironment(spec, code), specFile);
      if (!existsSync(resultFile)) throw new Error(`the ${name} bench child wrote no result`);
      out[name] = { ...(JSON.parse(readFileSync(resultFile, 'utf8')) as HarnessResult), spec };
    }
    return out;
  } finally {
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
    rmSync(work, { recursive: true, force: true });
  }
}
