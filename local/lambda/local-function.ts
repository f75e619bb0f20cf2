/**
 * A local Lambda function: a pool of worker threads, each one execution environment with its own `process.env` and
 * fresh module state (the handler module is loaded once per worker, like a Lambda cold start).
 *
 * Lambda semantics kept: a thrown handler error is a failed invocation (`LambdaInvocationError` with the error's
 * type and message); a timed-out invocation kills its environment; an init failure fails the invocation and the
 * next invocation re-initialises; payloads travel as JSON (sync request and response capped at 6 MB).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';

const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);

/** Lambda's synchronous invocation payload limit (request and response). */
export const SYNC_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;
/** Lambda's asynchronous invocation payload limit. */
export const ASYNC_PAYLOAD_LIMIT_BYTES = 256 * 1024;

/** Where a function's log lines go; `false` drops them. */
export type LogSink = false | ((functionName: string, line: string, stream: 'stdout' | 'stderr') => void);

export const prefixedConsoleSink: LogSink = (name, line, stream) => {
  (stream === 'stderr' ? process.stderr : process.stdout).write(`[${name}] ${line}\n`);
};

/**
 * A line in CloudWatch's embedded metric format: what Powertools Metrics writes, one JSON object whose first key is
 * `_aws`. In Lambda, CloudWatch Logs turns these lines into metrics.
 */
export const isMetricLine = (line: string): boolean => line.startsWith('{"_aws":');

/** One invocation as Lambda's own metrics count it (Invocations, Errors, Duration). */
export interface InvocationRecord {
  readonly functionName: string;
  readonly durationMs: number;
  /** The failure, when the invocation failed (an exception, a timeout, a crashed environment). */
  readonly error?: LambdaErrorPayload;
}

export interface LocalFunctionOptions {
  /** Function name (context.functionName, AWS_LAMBDA_FUNCTION_NAME, log prefix). */
  readonly name: string;
  /** Path of the handler module (TypeScript or JavaScript); relative paths resolve from the cwd. */
  readonly handlerPath: string;
  /**
   * An already built JavaScript module of the handler (local/lambda/bundle.ts) that environments load instead of
   * `handlerPath`, without the TypeScript loader. @default undefined (load `handlerPath` through tsx)
   */
  readonly modulePath?: string;
  /** @default 'handler' */
  readonly handlerExport?: string;
  /** The function's environment variables: the worker's whole `process.env`, nothing inherited. */
  readonly env?: Readonly<Record<string, string>>;
  /** Most concurrent execution environments; further invocations wait for a free one. @default 1 */
  readonly maxConcurrency?: number;
  /** @default 10 */
  readonly timeoutSeconds?: number;
  /** @default 512 */
  readonly memoryMb?: number;
  /** @default prefixedConsoleSink */
  readonly log?: LogSink;
  /**
   * Where the function's metric lines (embedded metric format) go instead of the log sink — as CloudWatch Logs
   * extracts them in Lambda. @default undefined (they are log lines like any other)
   */
  readonly metrics?: (functionName: string, line: string) => void;
  /** Called after every invocation, with its duration and failure (Lambda's Invocations, Errors, Duration). */
  readonly onInvocation?: (record: InvocationRecord) => void;
}

export interface LambdaErrorPayload {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly stackTrace?: readonly string[];
}

/** A failed invocation, as Lambda reports it (FunctionError: Unhandled). */
export class LambdaInvocationError extends Error {
  readonly errorType: string;
  readonly stackTrace: readonly string[];
  constructor(
    readonly functionName: string,
    payload: LambdaErrorPayload,
  ) {
    super(`${functionName}: ${payload.errorType}: ${payload.errorMessage}`);
    this.name = 'LambdaInvocationError';
    this.errorType = payload.errorType;
    this.stackTrace = payload.stackTrace ?? [];
  }
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Environment {
  readonly id: number;
  readonly worker: Worker;
  readonly ready: Promise<void>;
  pending: Pending | undefined;
  dead: boolean;
}

type Invoker<T> = (env: Environment) => Promise<T>;

export interface AsyncInvokeOptions {
  /** Lambda retries a failed async invocation twice. @default 2 */
  readonly retryAttempts?: number;
  /** Delay before each retry (Lambda waits about 1 then 2 minutes; locally short). @default 500 */
  readonly retryDelayMs?: number;
}

export class LocalFunction {
  readonly name: string;
  readonly handlerPath: string;
  /** The module environments load: the bundle when given, else `handlerPath` (through tsx). */
  readonly modulePath: string | undefined;
  readonly maxConcurrency: number;
  readonly timeoutSeconds: number;
  /** The environment every execution environment starts with. */
  readonly env: Readonly<Record<string, string>>;
  private readonly log: LogSink;
  private readonly metrics: ((functionName: string, line: string) => void) | undefined;
  private readonly onInvocation: ((record: InvocationRecord) => void) | undefined;
  readonly memoryMb: number;
  private readonly handlerExport: string;
  private readonly pool = new Set<Environment>();
  private readonly idle: Environment[] = [];
  private readonly waiters: ((env: Environment | Error) => void)[] = [];
  private readonly asyncInFlight = new Set<Promise<void>>();
  private nextId = 1;
  private closed = false;
  /** Invocations started, for tests and logs. */
  invocations = 0;
  /** Execution environments created (cold starts). */
  coldStarts = 0;

  constructor(options: LocalFunctionOptions) {
    this.name = options.name;
    this.handlerPath = path.resolve(options.handlerPath);
    this.modulePath = options.modulePath ? path.resolve(options.modulePath) : undefined;
    this.handlerExport = options.handlerExport ?? 'handler';
    this.env = { ...(options.env ?? {}) };
    this.maxConcurrency = Math.max(1, options.maxConcurrency ?? 1);
    this.timeoutSeconds = options.timeoutSeconds ?? 10;
    this.memoryMb = options.memoryMb ?? 512;
    this.log = options.log ?? prefixedConsoleSink;
    this.metrics = options.metrics;
    this.onInvocation = options.onInvocation;
  }

  /** Synchronous invocation (RequestResponse): resolves to the handler's result, rejects like a failed invoke. */
  async invoke<TResult = unknown>(event: unknown): Promise<TResult> {
    const payload = JSON.stringify(event ?? null);
    if (Buffer.byteLength(payload) > SYNC_PAYLOAD_LIMIT_BYTES) {
      throw new LambdaInvocationError(this.name, {
        errorType: 'RequestEntityTooLargeException',
        errorMessage: `Request must be smaller than ${SYNC_PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation`,
      });
    }
    return this.withEnvironment((env) => this.run(env, payload)) as Promise<TResult>;
  }

  /**
   * Asynchronous invocation (Event): returns at once; failures are retried like Lambda's async invoke and finally
   * reported to `onFailure` (default: logged).
   */
  invokeAsync(
    event: unknown,
    options: AsyncInvokeOptions = {},
    onFailure: (error: Error) => void = (error) =>
      this.emit(`async invocation failed: ${error.message}`, 'stderr'),
  ): void {
    const payload = JSON.stringify(event ?? null);
    if (Buffer.byteLength(payload) > ASYNC_PAYLOAD_LIMIT_BYTES) {
      onFailure(
        new LambdaInvocationError(this.name, {
          errorType: 'RequestEntityTooLargeException',
          errorMessage: `Request must be smaller than ${ASYNC_PAYLOAD_LIMIT_BYTES} bytes for the async Invoke`,
        }),
      );
      return;
    }
    const attempts = 1 + (options.retryAttempts ?? 2);
    const delay = options.retryDelayMs ?? 500;
    const run = async () => {
      let lastError: Error | undefined;
      for (let attempt = 1; attempt <= attempts && !this.closed; attempt++) {
        try {
          await this.withEnvironment((env) => this.run(env, payload));
          return;
        } catch (error) {
          lastError = error as Error;
          if (attempt < attempts && !this.closed) await new Promise((r) => setTimeout(r, delay * attempt));
        }
      }
      if (lastError && !this.closed) onFailure(lastError);
    };
    const promise = run().finally(() => this.asyncInFlight.delete(promise));
    this.asyncInFlight.add(promise);
  }

  /** Resolves when every async invocation started so far has finished (including retries). */
  async drainAsync(): Promise<void> {
    while (this.asyncInFlight.size > 0) await Promise.allSettled([...this.asyncInFlight]);
  }

  /** Starts one execution environment ahead of the first invocation (provisioned-concurrency style). */
  async warm(): Promise<void> {
    if (this.closed || this.pool.size > 0) return;
    const env = this.spawn();
    this.idle.push(env);
    await env.ready.catch(() => {});
  }

  /** Execution environments alive now. */
  get environments(): number {
    return this.pool.size;
  }

  /** Terminates every environment; invocations in flight or waiting fail. */
  async close(): Promise<void> {
    this.closed = true;
    const closedError = new Error(`function ${this.name} is closed`);
    for (const waiter of this.waiters.splice(0)) waiter(closedError);
    const envs = [...this.pool];
    for (const env of envs)
      this.kill(env, { errorType: 'Runtime.Closed', errorMessage: closedError.message });
    await Promise.allSettled(envs.map((env) => env.worker.terminate()));
  }

  private async withEnvironment<T>(fn: Invoker<T>): Promise<T> {
    if (this.closed) throw new Error(`function ${this.name} is closed`);
    const env = await this.acquire();
    try {
      await env.ready;
      return await fn(env);
    } finally {
      this.release(env);
    }
  }

  private acquire(): Promise<Environment> {
    const idle = this.idle.pop();
    if (idle) return Promise.resolve(idle);
    if (this.pool.size < this.maxConcurrency) return Promise.resolve(this.spawn());
    return new Promise((resolve, reject) => {
      this.waiters.push((env) => (env instanceof Error ? reject(env) : resolve(env)));
    });
  }

  private release(env: Environment): void {
    if (this.closed) return;
    if (env.dead) {
      // Its slot is free again: a waiter gets a fresh environment.
      if (this.pool.size < this.maxConcurrency) this.waiters.shift()?.(this.spawn());
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter(env);
    else this.idle.push(env);
  }

  private spawn(): Environment {
    this.coldStarts++;
    const worker = new Worker(BOOTSTRAP, {
      workerData: {
        handlerPath: this.modulePath ?? this.handlerPath,
        typescript: this.modulePath === undefined,
        // Nobody reads the lines: drop them in the worker instead of shipping each one to this thread (metric lines
        // still come when they are counted).
        discardOutput: this.log === false,
        keepMetricLines: this.metrics !== undefined,
        handlerExport: this.handlerExport,
        functionName: this.name,
        memoryMb: this.memoryMb,
      },
      env: { ...this.env },
      // Profiling hook: e.g. EVENT_ROUTER_LAMBDA_EXEC_ARGV='--cpu-prof --cpu-prof-dir=/tmp/prof'.
      execArgv: workerExecArgv(),
      stdout: true,
      stderr: true,
    });
    this.pipe(worker.stdout, 'stdout');
    this.pipe(worker.stderr, 'stderr');
    let markReady: () => void = () => {};
    let failInit: (error: Error) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failInit = reject;
    });
    ready.catch(() => {});
    const env: Environment = { id: this.nextId++, worker, ready, pending: undefined, dead: false };
    this.pool.add(env);
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') markReady();
      else if (message.type === 'init-error') {
        const error = new LambdaInvocationError(this.name, message.error);
        this.emit(`init failed: ${message.error.errorType}: ${message.error.errorMessage}`, 'stderr');
        failInit(error);
        this.kill(env, message.error);
      } else if (message.type === 'result') {
        const pending = env.pending;
        if (!pending) return;
        env.pending = undefined;
        clearTimeout(pending.timer);
        if (message.ok) {
          if (Buffer.byteLength(message.payload) > SYNC_PAYLOAD_LIMIT_BYTES) {
            pending.reject(
              new LambdaInvocationError(this.name, {
                errorType: 'Function.ResponseSizeTooLarge',
                errorMessage: `Response payload size exceeded maximum allowed payload size (${SYNC_PAYLOAD_LIMIT_BYTES} bytes).`,
              }),
            );
          } else pending.resolve(JSON.parse(message.payload));
        } else {
          this.emit(`invocation failed: ${message.error.errorType}: ${message.error.errorMessage}`, 'stderr');
          pending.reject(new LambdaInvocationError(this.name, message.error));
        }
      }
    });
    worker.on('error', (error) => {
      // Uncaught exception or unhandled rejection: Lambda fails the invocation and restarts the runtime.
      const payload = { errorType: error.name || 'Runtime.UnhandledError', errorMessage: error.message };
      failInit(new LambdaInvocationError(this.name, payload));
      this.kill(env, payload);
    });
    worker.on('exit', (code) => {
      const payload = { errorType: 'Runtime.ExitError', errorMessage: `RequestId: exited with code ${code}` };
      failInit(new LambdaInvocationError(this.name, payload));
      this.kill(env, payload, false);
    });
    return env;
  }

  private run(env: Environment, payload: string): Promise<unknown> {
    this.invocations++;
    const timeoutMs = this.timeoutSeconds * 1000;
    const requestId = randomUUID();
    const started = performance.now();
    const record = (error?: LambdaErrorPayload) =>
      this.onInvocation?.({
        functionName: this.name,
        durationMs: performance.now() - started,
        ...(error ? { error } : {}),
      });
    const outcome = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = {
          errorType: 'Sandbox.Timedout',
          errorMessage: `${new Date().toISOString()} ${requestId} Task timed out after ${this.timeoutSeconds.toFixed(2)} seconds`,
        };
        this.emit(error.errorMessage, 'stderr');
        this.kill(env, error);
      }, timeoutMs);
      env.pending = { resolve, reject, timer };
      env.worker.postMessage({
        type: 'invoke',
        id: requestId,
        payload,
        requestId,
        deadline: Date.now() + timeoutMs,
      });
    });
    outcome.then(
      () => record(),
      (error: unknown) =>
        record(
          error instanceof LambdaInvocationError
            ? { errorType: error.errorType, errorMessage: error.message }
            : { errorType: 'Error', errorMessage: String(error) },
        ),
    );
    return outcome;
  }

  /** Discards an environment; its invocation in flight (if any) fails with `payload`. */
  private kill(env: Environment, payload: LambdaErrorPayload, terminate = true): void {
    if (env.dead) return;
    env.dead = true;
    this.pool.delete(env);
    const index = this.idle.indexOf(env);
    if (index >= 0) this.idle.splice(index, 1);
    const pending = env.pending;
    env.pending = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(new LambdaInvocationError(this.name, payload));
    }
    if (terminate) void env.worker.terminate();
  }

  private pipe(stream: Readable, kind: 'stdout' | 'stderr'): void {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        this.emit(buffered.slice(0, newline), kind);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
      }
    });
    stream.on('end', () => {
      if (buffered) this.emit(buffered, kind);
    });
  }

  private emit(line: string, stream: 'stdout' | 'stderr'): void {
    if (this.metrics && isMetricLine(line)) this.metrics(this.name, line);
    else if (this.log) this.log(this.name, line, stream);
  }
}

/** Node options of every execution environment (profiling only); none by default. */
function workerExecArgv(): string[] {
  const raw = process.env.EVENT_ROUTER_LAMBDA_EXEC_ARGV;
  return raw ? raw.split(/\s+/).filter(Boolean) : [];
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'init-error'; error: LambdaErrorPayload }
  | { type: 'result'; id: string; ok: true; payload: string }
  | { type: 'result'; id: string; ok: false; error: LambdaErrorPayload };
