import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LambdaInvocationError, LocalFunction } from '../../local/lambda/local-function';
import { waitFor } from './helpers';

const fixture = (name: string) => path.join(import.meta.dirname, 'fixtures', name);
const functions: LocalFunction[] = [];
const make = (options: ConstructorParameters<typeof LocalFunction>[0]) => {
  const fn = new LocalFunction({ log: false, ...options });
  functions.push(fn);
  return fn;
};

afterAll(async () => {
  await Promise.all(functions.map((fn) => fn.close()));
});

interface Echo {
  configured: string;
  invocations: number;
  instanceId: string;
  value: unknown;
  functionName: string;
  requestId: string;
  endpoint: string | null;
  startedAt: number;
  finishedAt: number;
}

describe('LocalFunction', () => {
  it('gives each function its own environment and keeps module state per execution environment', async () => {
    const a = make({ name: 'fn-a', handlerPath: fixture('echo-handler.ts'), env: { FIXTURE_VALUE: 'a' } });
    const b = make({
      name: 'fn-b',
      handlerPath: fixture('echo-handler.ts'),
      env: { FIXTURE_VALUE: 'b', AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:1' },
    });
    const [ra1, rb] = await Promise.all([a.invoke<Echo>({ value: 1 }), b.invoke<Echo>({ value: 2 })]);
    const ra2 = await a.invoke<Echo>({ value: 3 });
    expect(ra1).toMatchObject({ configured: 'a', value: 1, functionName: 'fn-a', endpoint: null });
    expect(rb).toMatchObject({
      configured: 'b',
      value: 2,
      functionName: 'fn-b',
      endpoint: 'http://127.0.0.1:1',
    });
    // Same environment reused (warm): module state survives between invocations.
    expect(ra2.instanceId).toBe(ra1.instanceId);
    expect(ra2.invocations).toBe(2);
    expect(ra2.requestId).not.toBe(ra1.requestId);
    // The parent's env is not visible to the function.
    expect(process.env.FIXTURE_VALUE).toBeUndefined();
  });

  it("hands the function's metric lines to the metrics sink, never to the log, even when the log is dropped", async () => {
    const emf = JSON.stringify({
      _aws: {
        Timestamp: 1,
        CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [[]], Metrics: [{ Name: 'M' }] }],
      },
      M: 1,
    });
    for (const log of [true, false]) {
      const logged: string[] = [];
      const counted: string[] = [];
      const fn = make({
        name: `emf-${log}`,
        handlerPath: fixture('echo-handler.ts'),
        env: { FIXTURE_VALUE: 'x' },
        log: log ? (_name, line) => void logged.push(line) : false,
        metrics: (name, line) => void counted.push(`${name} ${line}`),
      });
      await fn.invoke({ action: 'print', lines: ['{"level":"INFO","message":"hello"}', emf] });
      // The worker's output reaches this thread shortly after the invocation's result.
      await waitFor('the metric line', () => counted.length > 0);
      if (log) await waitFor('the log line', () => logged.length > 0);
      expect(counted).toEqual([`emf-${log} ${emf}`]);
      expect(logged).toEqual(log ? ['{"level":"INFO","message":"hello"}'] : []);
    }
  });

  it('reports every invocation with its duration and, for a failed one, its error', async () => {
    const records: { functionName: string; durationMs: number; error?: { errorType: string } }[] = [];
    const fn = make({
      name: 'recorded',
      handlerPath: fixture('echo-handler.ts'),
      env: { FIXTURE_VALUE: 'x' },
      onInvocation: (record) => void records.push(record),
    });
    await fn.invoke({ action: 'sleep', ms: 20 });
    await fn.invoke({ action: 'throw' }).catch(() => undefined);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ functionName: 'recorded' });
    expect(records[0]!.error).toBeUndefined();
    expect(records[0]!.durationMs).toBeGreaterThan(0);
    expect(records[1]!.error).toMatchObject({ errorType: 'FixtureError' });
  });

  it('surfaces a thrown handler error as a failed invocation and keeps the environment', async () => {
    const fn = make({
      name: 'thrower',
      handlerPath: fixture('echo-handler.ts'),
      env: { FIXTURE_VALUE: 'x' },
    });
    const first = await fn.invoke<Echo>({});
    const error = await fn.invoke({ action: 'throw' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LambdaInvocationError);
    expect(error).toMatchObject({ errorType: 'FixtureError' });
    const after = await fn.invoke<Echo>({});
    expect(after.instanceId).toBe(first.instanceId);
  });

  it('runs up to maxConcurrency environments in parallel and queues the rest', async () => {
    const fn = make({
      name: 'pool',
      handlerPath: fixture('echo-handler.ts'),
      env: { FIXTURE_VALUE: 'p' },
      maxConcurrency: 2,
    });
    // Two environments, both initialised first: otherwise, on a loaded machine, the first one ready can run every
    // invocation before the second has loaded its handler, and nothing overlaps.
    await Promise.all([fn.invoke<Echo>({}), fn.invoke<Echo>({})]);
    const results = await Promise.all(
      [1, 2, 3, 4].map((value) => fn.invoke<Echo>({ action: 'sleep', ms: 300, value })),
    );
    expect(new Set(results.map((r) => r.instanceId)).size).toBe(2);
    // Never more than two were started (how many are alive afterwards is not this test's question).
    expect(fn.coldStarts).toBe(2);
    // Most invocations running at the same moment, from the handlers' own clocks: two, never more.
    const overlapAt = (t: number) => results.filter((r) => r.startedAt <= t && t < r.finishedAt).length;
    expect(Math.max(...results.map((r) => overlapAt(r.startedAt)))).toBe(2);
  });

  it('kills an environment on timeout and on process.exit, then starts a fresh one', async () => {
    const fn = make({
      name: 'slow',
      handlerPath: fixture('echo-handler.ts'),
      env: { FIXTURE_VALUE: 's' },
      timeoutSeconds: 0.3,
    });
    const before = await fn.invoke<Echo>({});
    await expect(fn.invoke({ action: 'sleep', ms: 5_000 })).rejects.toMatchObject({
      errorType: 'Sandbox.Timedout',
    });
    const after = await fn.invoke<Echo>({});
    expect(after.instanceId).not.toBe(before.instanceId);
    await expect(fn.invoke({ action: 'exit' })).rejects.toMatchObject({ errorType: 'Runtime.ExitError' });
    expect((await fn.invoke<Echo>({})).invocations).toBe(1);
  });

  it('fails invocations when module init throws (fail fast on missing env)', async () => {
    const fn = make({ name: 'broken', handlerPath: fixture('broken-init-handler.ts'), env: {} });
    await expect(fn.invoke({})).rejects.toThrow(/REQUIRED_SETTING is not set/);
    await expect(fn.invoke({})).rejects.toThrow(/REQUIRED_SETTING is not set/);
  });

  it('retries failed async invocations and reports the final failure', async () => {
    const fn = make({ name: 'async', handlerPath: fixture('echo-handler.ts'), env: { FIXTURE_VALUE: 'y' } });
    const failures: Error[] = [];
    fn.invokeAsync({ action: 'throw' }, { retryAttempts: 2, retryDelayMs: 10 }, (e) => failures.push(e));
    await fn.drainAsync();
    expect(failures).toHaveLength(1);
    expect(fn.invocations).toBe(3);
  });
});
