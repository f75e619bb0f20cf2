/**
 * Runs inside a fresh process, bundled with one function's handler exactly as lib/bundling.ts bundles it for
 * deploy: the whole handler, with the network stubbed at the SDK's request handler (every SDK call of every client
 * goes through `NodeHttpHandler.prototype.handle`, which answers here like the service would, without a socket).
 *
 * It measures, in rounds that each time the function and its floor back to back:
 * - CPU time (user + system, every thread, garbage collection included) per invocation, after a warm-up;
 * - the first invocation after init (lazily loaded chunks, a secret read, cold JIT);
 * and records, for one warm invocation, every SDK request (service, operation, body) and the bytes the function
 * wrote to stdout (its log lines). The parent (bench/cpu.bench.ts) passes a JSON spec file and reads the result
 * file; stdout stays the function's own.
 */
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import type { Context } from 'aws-lambda';

/** What the parent asks for: rounds, batch sizes, and where to write the result. */
export interface HarnessSpec {
  readonly rounds: number;
  readonly batch: number;
  readonly warmup: number;
  readonly resultFile: string;
  /** Fixtures the entry reads (events, secrets). */
  readonly fixtures: Record<string, unknown>;
}

/** One SDK request as the stub saw it. */
export interface RecordedRequest {
  readonly service: string;
  readonly operation: string;
  /** Bytes of the request body as sent (JSON for every protocol used here). */
  readonly bodyBytes: number;
  readonly body: string;
}

export interface HarnessResult {
  readonly rounds: { value: number; floor: number }[];
  /** CPU ms of the first invocation after init. */
  readonly firstEventMs: number;
  /** Requests of one warm invocation. */
  readonly requests: RecordedRequest[];
  /** Bytes and lines the function wrote to stdout during one warm invocation. */
  readonly logBytes: number;
  readonly logLines: number;
  /** Of those, the bytes of EMF metric lines (the local stack turns metrics off; the cost model takes these). */
  readonly metricBytes: number;
  readonly rssMb: number;
}

export interface StubAnswer {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** Answers a stubbed SDK request: by service (from the host) and operation. */
export type Responder = (service: string, operation: string, request: HttpRequest) => StubAnswer;

/** Service of a request, from its host name (`dynamodb.us-east-1.amazonaws.com` → `dynamodb`). */
function serviceOf(request: HttpRequest): string {
  const host = request.hostname ?? '';
  if (host.includes('.execute-api.')) return 'execute-api';
  return host.split('.')[0] ?? host;
}

/** Operation of a request: the JSON protocols' `x-amz-target`, else the method and path (REST). */
function operationOf(request: HttpRequest): string {
  const target = request.headers['x-amz-target'];
  if (target) return target.slice(target.indexOf('.') + 1);
  if (request.path.includes('/@connections/')) return 'PostToConnection';
  return `${request.method} ${request.path}`;
}

const bodyText = (body: unknown): string =>
  typeof body === 'string'
    ? body
    : body instanceof Uint8Array
      ? Buffer.from(body).toString('utf8')
      : body === undefined
        ? ''
        : String(body);

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export interface BenchEntry<E> {
  readonly handler: (event: E, context: Context) => Promise<unknown>;
  /** The SDK's request handler class, from the same bundle as the handler: its `handle` is replaced. */
  readonly NodeHttpHandler: {
    prototype: { handle(request: HttpRequest): Promise<{ response: HttpResponse }> };
  };
  readonly respond: Responder;
  /** The event of invocation `i` (built before the timed batches). */
  readonly event: (i: number) => E;
  /** Throws when a result is not the success the bench measures (a 202, no batch item failure). */
  readonly check: (result: unknown) => void;
  /** One unit of the floor's work. */
  readonly floor: () => void;
}

/** A bench entry: builds what the harness runs from the spec's fixtures. */
export type EntryFactory<E> = (fixtures: Record<string, unknown>) => BenchEntry<E>;

/**
 * Runs an entry when its bundle is the program (`node <bundle>/index.mjs <spec.json>`); an entry imported by
 * another script (an A/B comparison of two builds in one process) only exports its factory.
 */
export async function runIfMain<E>(moduleUrl: string, factory: EntryFactory<E>): Promise<void> {
  // Real paths: node_modules may be a symbolic link, and import.meta.url is the resolved file.
  if (!process.argv[1] || realpathSync(process.argv[1]) !== realpathSync(fileURLToPath(moduleUrl))) return;
  const file = process.argv[2];
  if (!file) throw new Error('usage: node <bench bundle> <spec.json>');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as HarnessSpec;
  await runHarness(spec, factory(spec.fixtures));
}

/** Replaces the SDK's request handler with the stub; returns the recording switch. */
export function stubNetwork(
  NodeHttpHandler: BenchEntry<unknown>['NodeHttpHandler'],
  respond: Responder,
): { record(into: RecordedRequest[] | undefined): void } {
  let recording: RecordedRequest[] | undefined;
  NodeHttpHandler.prototype.handle = async (request: HttpRequest) => {
    const service = serviceOf(request);
    const operation = operationOf(request);
    if (recording) {
      const body = bodyText(request.body);
      recording.push({ service, operation, bodyBytes: Buffer.byteLength(body), body });
    }
    const answer = respond(service, operation, request);
    const body = new PassThrough();
    body.end(answer.body ?? '');
    // A plain object: the SDK recognises a response by its shape (HttpResponse.isInstance).
    const response: HttpResponse = {
      statusCode: answer.status ?? 200,
      headers: { 'x-amzn-requestid': 'bench', ...answer.headers },
      body,
    };
    return { response };
  };
  return {
    record(into) {
      recording = into;
    },
  };
}

/** The X-Ray trace header of invocation `i`, unsampled. */
export const traceHeader = (i: number): string =>
  `Root=1-674c6a1e-${i.toString(16).padStart(24, '0')};Parent=${(i + 1).toString(16).padStart(16, '0')};Sampled=0`;

export function context(i: number): Context {
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bench';
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '1024',
    awsRequestId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: '2026/12/01/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

export async function runHarness<E>(spec: HarnessSpec, entry: BenchEntry<E>): Promise<void> {
  const network = stubNetwork(entry.NodeHttpHandler, entry.respond);

  // Log bytes: what the function writes to stdout (Powertools JSON lines, EMF metrics), counted, then written.
  // Counted only while recording, so that the timed batches pay nothing for it.
  let counting = false;
  let logBytes = 0;
  let logLines = 0;
  let metricBytes = 0;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (counting) {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      logBytes += Buffer.byteLength(text);
      logLines += text.split('\n').length - 1;
      for (const line of text.split('\n'))
        if (line.includes('"_aws"')) metricBytes += Buffer.byteLength(line) + 1;
    }
    return (write as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;

  let n = 0;
  const invoke = async () => {
    const i = n++;
    // Lambda hands each invocation its trace header; a traced function (bench/deployed.ts) reads it. Unsampled, as
    // all but the first request each second and 5 % of the rest are (lib/stages.ts).
    process.env._X_AMZN_TRACE_ID = traceHeader(i);
    entry.check(await entry.handler(entry.event(i), context(i)));
  };

  const first0 = cpuMs();
  await invoke();
  const firstEventMs = cpuMs() - first0;

  for (let i = 0; i < spec.warmup; i++) await invoke();

  // One warm invocation, recorded.
  const requests: RecordedRequest[] = [];
  network.record(requests);
  counting = true;
  await invoke();
  counting = false;
  network.record(undefined);

  const rounds: { value: number; floor: number }[] = [];
  const timeFloor = () => {
    const t0 = cpuMs();
    for (let i = 0; i < spec.batch; i++) entry.floor();
    return (cpuMs() - t0) / spec.batch;
  };
  const timeHandler = async () => {
    const t0 = cpuMs();
    for (let i = 0; i < spec.batch; i++) await invoke();
    return (cpuMs() - t0) / spec.batch;
  };
  for (let r = 0; r < spec.rounds; r++) {
    if (r % 2 === 0) {
      const floor = timeFloor();
      rounds.push({ floor, value: await timeHandler() });
    } else {
      const value = await timeHandler();
      rounds.push({ value, floor: timeFloor() });
    }
  }
  const result: HarnessResult = {
    rounds,
    firstEventMs,
    requests,
    logBytes,
    logLines,
    metricBytes,
    rssMb: process.memoryUsage().rss / 1024 / 1024,
  };
  writeFileSync(spec.resultFile, JSON.stringify(result));
}

/** JSON answers of the AWS JSON protocols. */
export const awsJson = (version: '1.0' | '1.1', value: unknown): StubAnswer => ({
  headers: { 'content-type': `application/x-amz-json-${version}` },
  body: JSON.stringify(value),
});
