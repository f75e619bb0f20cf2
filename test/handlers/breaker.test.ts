/**
 * The circuit breaker and the rate limit of a delivery function, on the real event store (dynalite): the state in
 * the target's item, shared by every concurrent run, as on AWS.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { type Envelope, eventBridgeSource } from '../../core/contracts';
import { runtimeTarget } from '../../core/plan';
import type { RuntimeTarget } from '../../core/runtime-config';
import { compileTransform } from '../../core/transform';
import { type DeliveryDeps, DeliveryRun, RetryLater } from '../../lambdas/delivery/deliver';
import type { Sender, SendResult } from '../../lambdas/delivery/senders/types';
import {
  getTargetState,
  halfOpenBreaker,
  setTargetState,
  takeRateToken,
} from '../../lambdas/shared/event-store';
import { type LocalAws, startLocalAws } from '../support/aws-local';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => aws.stop());

let targets = 0;
/** A fresh target (its own state item) whose breaker opens after 3 failures in a row. */
function target(extra: Record<string, unknown> = {}): RuntimeTarget {
  const config = parseRouterConfig({
    sources: [{ name: 'github', provider: 'github', secret: { secretName: 's' } }],
    targets: [
      {
        name: `t${++targets}`,
        kind: 'sqs',
        queueArn: 'arn:aws:sqs:us-east-1:222222222222:q',
        filter: { source: ['webhook.github'] },
        circuitBreaker: { consecutiveFailures: 3, openSeconds: 10, maxOpenSeconds: 40 },
        ...extra,
      },
    ],
  }).targets[0]!;
  return runtimeTarget(config, 30);
}

/** A sender answering from a script (true = delivered), recording when it was called. */
function scripted(answers: boolean[]): Sender & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    async send(): Promise<SendResult> {
      calls.push(Date.now());
      const ok = answers.shift() ?? true;
      return ok ? { ok: true, retryable: true } : { ok: false, retryable: true, error: 'target down' };
    },
  };
}

function record(): SQSRecord {
  const detail: Envelope = {
    id: ulid(),
    source: 'github',
    provider: 'github',
    type: 'push',
    deliveryId: ulid(),
    providerTime: null,
    receivedAt: new Date().toISOString(),
    subject: 'o/r',
    headers: {},
    data: {},
  };
  const body = JSON.stringify({
    version: '0',
    id: 'e',
    'detail-type': detail.type,
    source: eventBridgeSource(detail.source),
    account: '000000000000',
    time: detail.receivedAt,
    region: 'us-east-1',
    resources: [],
    detail,
  });
  return {
    messageId: ulid(),
    receiptHandle: 'r',
    body,
    attributes: { ApproximateReceiveCount: '1' } as SQSRecord['attributes'],
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q',
    awsRegion: 'us-east-1',
  };
}

interface Seen {
  paused: string[];
  opened: string[];
  closed: number;
  visibility: number[];
}

function deps(t: RuntimeTarget, sender: Sender, seen: Seen, now: () => number = Date.now): DeliveryDeps {
  return {
    target: t,
    sender,
    ...(t.config.transform ? { transform: compileTransform(t.config.transform) } : {}),
    doc: aws.doc,
    s3: {} as never,
    // Backoff and DLQ moves are recorded, not sent: this test is about the breaker.
    sqs: {
      send: async (command: { input: { VisibilityTimeout?: number } }) => {
        if (command.input.VisibilityTimeout !== undefined)
          seen.visibility.push(command.input.VisibilityTimeout);
        return {};
      },
    } as unknown as SQSClient,
    tableName: aws.tableName,
    queueUrl: 'q',
    deadLetterQueueUrl: 'dlq',
    now,
    random: () => 0.5,
    pauseConsumption: async (reason) => void seen.paused.push(reason),
    observe: {
      attempted: () => {},
      gone: () => {},
      failed: () => {},
      problem: (what, error) => {
        throw new Error(`${what}: ${String(error)}`);
      },
      breakerOpened: (reason) => void seen.opened.push(reason),
      breakerClosed: () => void seen.closed++,
    },
  };
}

/** One invocation over `count` records; how many were put back (RetryLater). */
async function batch(d: DeliveryDeps, count: number): Promise<number> {
  const run = new DeliveryRun(d, Date.now() + 60_000, Date.now());
  let putBack = 0;
  await Promise.all(
    Array.from({ length: count }, () =>
      run.deliver(record()).catch((error) => {
        if (!(error instanceof RetryLater)) throw error;
        putBack++;
      }),
    ),
  );
  await run.finish();
  return putBack;
}

const fresh = (): Seen => ({ paused: [], opened: [], closed: 0, visibility: [] });

describe('circuit breaker', () => {
  it('costs no write while everything is delivered', async () => {
    const t = target();
    const seen = fresh();
    await batch(deps(t, scripted([true, true, true]), seen), 3);
    expect(await getTargetState(aws.doc, aws.tableName, t.name)).toEqual({
      state: 'active',
      since: new Date(0).toISOString(),
    });
  });

  it('opens after 3 failures in a row across batches, pauses the queue, and holds every record back', async () => {
    const t = target();
    const seen = fresh();
    const sender = scripted([false, false, true, false, false, false]);
    await batch(deps(t, sender, seen), 2);
    await batch(deps(t, sender, seen), 1); // a success restarts the run of failures
    expect(seen.opened).toEqual([]);
    await batch(deps(t, sender, seen), 3);
    expect(seen.opened).toEqual(['3 failed attempts in a row']);
    expect(seen.paused).toEqual(['circuit breaker: 3 failed attempts in a row']);
    const state = await getTargetState(aws.doc, aws.tableName, t.name);
    expect(state).toMatchObject({ state: 'open', openCount: 1 });
    expect(state.reopenAt! - Date.now()).toBeGreaterThan(8_000);

    // While open nothing is attempted: records come back after the rest, no attempt spent.
    const calls = sender.calls.length;
    expect(await batch(deps(t, sender, seen), 4)).toBe(4);
    expect(sender.calls.length).toBe(calls);
    expect(Math.min(...seen.visibility.slice(-4))).toBeGreaterThanOrEqual(9);
  });

  it('lets one probe through when half-open: success closes it, failure opens it for twice as long', async () => {
    const t = target();
    await setTargetState(aws.doc, aws.tableName, t.name, {
      state: 'open',
      since: new Date().toISOString(),
      reopenAt: Date.now() - 1,
      openCount: 1,
      reason: 'test',
    });
    expect(await halfOpenBreaker(aws.doc, aws.tableName, t.name, Date.now())).toBe(true);
    expect(await halfOpenBreaker(aws.doc, aws.tableName, t.name, Date.now())).toBe(false);

    // The probe fails: open again, 2 × 10 s.
    const seen = fresh();
    const failing = scripted([false]);
    expect(await batch(deps(t, failing, seen), 5)).toBe(5); // the probe is retried later, the rest held back
    expect(failing.calls).toHaveLength(1);
    const reopened = await getTargetState(aws.doc, aws.tableName, t.name);
    expect(reopened).toMatchObject({ state: 'open', openCount: 2, reason: 'the probe delivery failed' });
    expect(reopened.reopenAt! - Date.now()).toBeGreaterThan(18_000);

    // Half-open again; the probe succeeds: closed, counts reset; the rest of that batch waits for the next one.
    await setTargetState(aws.doc, aws.tableName, t.name, { ...reopened, reopenAt: Date.now() - 1 });
    await halfOpenBreaker(aws.doc, aws.tableName, t.name, Date.now());
    const ok = scripted([true]);
    const seen2 = fresh();
    expect(await batch(deps(t, ok, seen2), 3)).toBe(2);
    expect(ok.calls).toHaveLength(1);
    expect(seen2.closed).toBe(1);
    expect(await getTargetState(aws.doc, aws.tableName, t.name)).toMatchObject({
      state: 'active',
      consecutiveFailures: 0,
      windowFailures: 0,
    });
  });

  it("does not count failures that are the event's (a transform error), and can be turned off", async () => {
    const seen = fresh();
    const t = target({ transform: '$error("bad event")' });
    const sender = scripted([]);
    for (let i = 0; i < 4; i++) await batch(deps(t, sender, seen), 1);
    expect(sender.calls).toHaveLength(0);
    expect(seen.opened).toEqual([]);

    const off = target({ circuitBreaker: false });
    const down = scripted(Array(10).fill(false));
    await batch(deps(off, down, seen), 10);
    expect(seen.opened).toEqual([]);
    expect((await getTargetState(aws.doc, aws.tableName, off.name)).state).toBe('active');
  });
});

describe('rate limit', () => {
  it('hands out at most the limit per second, shared by every caller', async () => {
    const name = `rate-${ulid()}`;
    const second = Math.floor(Date.now() / 1000) * 1000 + 5_000;
    const taken = await Promise.all(
      Array.from({ length: 8 }, (_, i) => takeRateToken(aws.doc, aws.tableName, name, 5, second + i)),
    );
    expect(taken.filter(Boolean)).toHaveLength(5);
    expect(await takeRateToken(aws.doc, aws.tableName, name, 5, second + 1_000)).toBe(true);
  });

  it('spreads a batch over seconds: never more deliveries in one second than the limit', async () => {
    const t = target({ rateLimitPerSecond: 4 });
    const sender = scripted([]);
    const seen = fresh();
    expect(await batch(deps(t, sender, seen), 10)).toBe(0);
    expect(sender.calls).toHaveLength(10);
    const perSecond = new Map<number, number>();
    for (const at of sender.calls)
      perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(4);
    expect(perSecond.size).toBeGreaterThanOrEqual(3);
  });
});
