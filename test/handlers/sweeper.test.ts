import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Envelope, keys } from '../../core/contracts';
import { serializeEnvelope } from '../../lambdas/ingest/ingest';
import {
  claimDedupe,
  expiresAfterDays,
  listPoisoned,
  markPublished,
  type PendingMarker,
  putEvent,
  putPending,
  republishPoisoned,
} from '../../lambdas/shared/event-store';
import { SWEEP_BACKOFF, type SweeperDeps, sweepPending } from '../../lambdas/sweeper/sweeper';
import { FaultSwitch } from '../../local/faults';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { type LocalAws, startLocalAws } from '../support/aws-local';

const faults = new FaultSwitch();
let aws: LocalAws;
/** The local bus without the SDK's own retries: each sweep is one attempt. */
let bus: EventBridgeClient;
beforeAll(async () => {
  aws = await startLocalAws({ faults });
  bus = new EventBridgeClient({
    endpoint: aws.bus.endpoint,
    region: LOCAL_REGION,
    credentials: localCredentials,
    maxAttempts: 1,
  });
});
afterAll(async () => {
  bus.destroy();
  await aws.stop();
});

const T0 = Date.parse('2026-11-23T10:00:00Z');
const newId = monotonicFactory();

/** An accepted event whose publish failed: stored, its dedupe record claimed (expired), a marker due at T0. */
async function acceptedButUnpublished(type = 'push', at = T0): Promise<PendingMarker> {
  const envelope: Envelope = {
    id: newId(at),
    source: 'github',
    provider: 'github',
    type,
    deliveryId: newId(at),
    providerTime: null,
    receivedAt: new Date(at).toISOString(),
    subject: null,
    headers: {},
    data: { n: 1 },
  };
  const json = serializeEnvelope(envelope, '{"n":1}');
  const expiresAt = expiresAfterDays(at, 30);
  const key = { source: 'github', dedupeKey: envelope.deliveryId! };
  await claimDedupe(aws.doc, aws.tableName, key, { eventId: envelope.id, claimUntil: at, expiresAt }, at);
  await putEvent(aws.doc, aws.tableName, { envelope, json }, expiresAt);
  const marker = { eventId: envelope.id, ...key, attempts: 1, nextAttemptAt: at, expiresAt };
  await putPending(aws.doc, aws.tableName, marker);
  return marker;
}

const pending = async (id: string) =>
  (
    await aws.doc.send(
      new GetCommand({ TableName: aws.tableName, Key: keys.pending(id), ConsistentRead: true }),
    )
  ).Item;

const seen: { poisoned: string[]; abandoned: string[] } = { poisoned: [], abandoned: [] };
const deps = (now: number): SweeperDeps => ({
  doc: aws.doc,
  eventBridge: bus,
  tableName: aws.tableName,
  busName: aws.busName,
  now: () => now,
  batchSize: 100,
  random: () => 1,
  observe: {
    poisoned: (m) => seen.poisoned.push(m.eventId),
    abandoned: (m) => seen.abandoned.push(m.eventId),
    bookkeepingFailed: () => {},
  },
});
const publishedIds = async (from: number) => {
  await aws.bus.drain();
  return aws.published.slice(from).map((e) => (e.detail as Envelope).id);
};

describe('sweepPending (dynalite + local EventBridge)', () => {
  it('publishes a pending event once, marks it published and drops its marker', async () => {
    const marker = await acceptedButUnpublished();
    const before = aws.published.length;
    const result = await sweepPending(deps(T0 + 1_000), T0 + 60_000);
    expect(result.republished).toBeGreaterThanOrEqual(1);
    expect(await publishedIds(before)).toContain(marker.eventId);
    expect(await pending(marker.eventId)).toBeUndefined();
    // A second run publishes nothing again.
    const again = aws.published.length;
    await sweepPending(deps(T0 + 2_000), T0 + 60_000);
    expect(await publishedIds(again)).not.toContain(marker.eventId);
  });

  it('keeps retrying through an EventBridge outage of any length, backing off, and never sets the event aside', async () => {
    const marker = await acceptedButUnpublished();
    faults.set('eventbridge', { status: 400, code: 'ThrottlingException', message: 'Rate exceeded' });
    let now = T0 + 1_000;
    const delays: number[] = [];
    try {
      // 30 failed sweeps: three times what poisoned events before, at the longest backoff by the end.
      for (let sweep = 0; sweep < 30; sweep++) {
        const result = await sweepPending(deps(now), now + 60_000);
        expect(result.poisoned).toBe(0);
        const item = await pending(marker.eventId);
        expect(item?.lastError).toMatch(/ThrottlingException/);
        delays.push(Number(item?.nextAttemptAt) - now);
        now = Number(item?.nextAttemptAt);
      }
    } finally {
      faults.clear('eventbridge');
    }
    expect(delays.slice(0, 3)).toEqual([
      SWEEP_BACKOFF.initialMs * 2,
      SWEEP_BACKOFF.initialMs * 4,
      SWEEP_BACKOFF.initialMs * 8,
    ]);
    expect(delays.at(-1)).toBe(SWEEP_BACKOFF.maxMs);
    expect(await listPoisoned(aws.doc, aws.tableName)).toEqual([]);
    const before = aws.published.length;
    expect((await sweepPending(deps(now), now + 60_000)).republished).toBeGreaterThanOrEqual(1);
    expect(await publishedIds(before)).toContain(marker.eventId);
  });

  it('sets an event EventBridge refuses for good aside at once, counts it, and republishes it on request', async () => {
    const marker = await acceptedButUnpublished('refused');
    faults.set('eventbridge', { status: 200, code: 'MalformedDetail', message: 'Detail is malformed.' });
    let result: Awaited<ReturnType<typeof sweepPending>>;
    try {
      result = await sweepPending(deps(T0 + 1_000), T0 + 60_000);
    } finally {
      faults.clear('eventbridge');
    }
    expect(result.poisoned).toBeGreaterThanOrEqual(1);
    expect(seen.poisoned).toContain(marker.eventId);
    expect(await pending(marker.eventId)).toBeUndefined();
    const poisoned = await listPoisoned(aws.doc, aws.tableName);
    expect(poisoned.find((p) => p.eventId === marker.eventId)).toMatchObject({ error: /MalformedDetail/ });

    expect(await republishPoisoned(aws.doc, aws.tableName, marker.eventId, T0 + 5_000)).toBe(true);
    expect(await republishPoisoned(aws.doc, aws.tableName, '01KNOSUCHEVENT000000000000', T0)).toBe(false);
    const before = aws.published.length;
    await sweepPending(deps(T0 + 6_000), T0 + 60_000);
    expect(await publishedIds(before)).toContain(marker.eventId);
    expect((await listPoisoned(aws.doc, aws.tableName)).map((p) => p.eventId)).not.toContain(marker.eventId);
  });

  it('drops the marker of an event an ingest published meanwhile, without publishing it again', async () => {
    const marker = await acceptedButUnpublished();
    await markPublished(aws.doc, aws.tableName, marker, marker.eventId);
    const before = aws.published.length;
    const result = await sweepPending(deps(T0 + 1_000), T0 + 60_000);
    expect(result.alreadyPublished).toBeGreaterThanOrEqual(1);
    expect(await publishedIds(before)).not.toContain(marker.eventId);
    expect(await pending(marker.eventId)).toBeUndefined();
  });

  it('waits while an ingest holds the publish claim, and publishes after it expired', async () => {
    const at = T0 + 10_000_000;
    const marker = await acceptedButUnpublished('push', at);
    // An ingest (a duplicate taking over) claims the event again until at + 20 s.
    await aws.doc.send(
      new (await import('@aws-sdk/lib-dynamodb')).UpdateCommand({
        TableName: aws.tableName,
        Key: keys.dedupe(marker.source, marker.dedupeKey),
        UpdateExpression: 'SET claimUntil = :c',
        ExpressionAttributeValues: { ':c': at + 20_000 },
      }),
    );
    const before = aws.published.length;
    await sweepPending(deps(at + 1_000), at + 60_000);
    expect(await publishedIds(before)).not.toContain(marker.eventId);
    expect((await pending(marker.eventId))?.nextAttemptAt).toBe(at + 20_000);
    await sweepPending(deps(at + 20_001), at + 80_000);
    expect(await publishedIds(before)).toContain(marker.eventId);
  });

  it('abandons, and reports, a marker whose event expired before it could be published', async () => {
    const marker = {
      eventId: newId(T0),
      source: 'github',
      dedupeKey: 'gone',
      attempts: 3,
      nextAttemptAt: T0,
      expiresAt: 0,
    };
    await putPending(aws.doc, aws.tableName, marker);
    const result = await sweepPending(deps(T0 + 1_000), T0 + 60_000);
    expect(result.abandoned).toBeGreaterThanOrEqual(1);
    expect(seen.abandoned).toContain(marker.eventId);
    expect(await pending(marker.eventId)).toBeUndefined();
  });

  it('stops at its deadline and reports the age of the oldest event still pending', async () => {
    const at = T0 + 20_000_000;
    const marker = await acceptedButUnpublished('push', at);
    const result = await sweepPending(deps(at + 5_000), at);
    expect(result.republished).toBe(0);
    expect(result.oldestPendingAgeMs).toBeGreaterThanOrEqual(5_000);
    await sweepPending(deps(at + 6_000), at + 60_000);
    expect(await pending(marker.eventId)).toBeUndefined();
  });
});
