import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
} from '@aws-sdk/client-eventbridge';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../core/contracts';
import { serializeEnvelope } from '../../lambdas/ingest/ingest';
import { getStoredEvent, POISONED, storeEvent } from '../../lambdas/shared/event-store';
import { batchForPutEvents, entrySize, MAX_BYTES_PER_CALL, toBusEntry } from '../../lambdas/shared/publish';
import { sweepUnpublished } from '../../lambdas/sweeper/sweeper';
import { type LocalAws, startLocalAws } from '../support/aws-local';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => aws.stop());

const T0 = Date.parse('2026-11-23T10:00:00Z');

async function storeUnpublished(type: string, data: unknown = { n: 1 }) {
  const envelope: Envelope = {
    id: ulid(T0),
    source: 'github',
    provider: 'github',
    type,
    deliveryId: ulid(),
    providerTime: null,
    receivedAt: new Date(T0).toISOString(),
    subject: null,
    headers: {},
    data,
  };
  const json = serializeEnvelope(envelope, JSON.stringify(data));
  await storeEvent(aws.doc, aws.tableName, { envelope, json, dedupeKey: envelope.deliveryId!, expiresAt: 0 });
  return { pk: `EVENT#github#${envelope.deliveryId}`, sk: 'EVENT', id: envelope.id };
}

/** The real local bus, except that EventBridge rejects every entry whose type is `poison` (per entry, as AWS does). */
function busRejectingPoison(): EventBridgeClient {
  return {
    send: async (command: PutEventsCommand): Promise<PutEventsCommandOutput> => {
      const entries = command.input.Entries ?? [];
      const good = entries.filter((e) => e.DetailType !== 'poison');
      const forwarded = good.length
        ? await aws.eventBridge.send(new PutEventsCommand({ Entries: good }))
        : { Entries: [] };
      let next = 0;
      return {
        $metadata: {},
        FailedEntryCount: entries.length - good.length,
        Entries: entries.map((e) =>
          e.DetailType === 'poison'
            ? { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }
            : forwarded.Entries![next++]!,
        ),
      };
    },
  } as unknown as EventBridgeClient;
}

describe('sweepUnpublished (dynalite + local EventBridge)', () => {
  it('marks exactly the published entries, never republishes them, and sets a failing one aside', async () => {
    const good = [await storeUnpublished('push'), await storeUnpublished('issues.opened')];
    const bad = await storeUnpublished('poison');
    const deps = {
      doc: aws.doc,
      eventBridge: busRejectingPoison(),
      tableName: aws.tableName,
      busName: aws.busName,
      now: () => T0 + 120_000,
      graceMs: 60_000,
      limit: 100,
      poisonAfter: 3,
    };
    const onBus = async () => {
      await aws.bus.drain();
      return aws.published.filter((e) => good.some((g) => (e.detail as Envelope).id === g.id)).length;
    };

    expect(await sweepUnpublished(deps)).toEqual({ republished: 2, failed: 1, poisoned: 0 });
    expect(await onBus()).toBe(2);
    for (const { pk, sk } of good)
      expect((await getStoredEvent(aws.doc, aws.tableName, { pk, sk }))?.published).toBe(true);

    expect(await sweepUnpublished(deps)).toEqual({ republished: 0, failed: 1, poisoned: 0 });
    expect(await onBus()).toBe(2);
    expect(await sweepUnpublished(deps)).toEqual({ republished: 0, failed: 1, poisoned: 1 });
    expect(await sweepUnpublished(deps)).toEqual({ republished: 0, failed: 0, poisoned: 0 });

    const { Item } = await aws.doc.send(
      new (await import('@aws-sdk/lib-dynamodb')).GetCommand({
        TableName: aws.tableName,
        Key: { pk: bad.pk, sk: bad.sk },
      }),
    );
    expect(Item).toMatchObject({ unpublished: POISONED, publishAttempts: 3 });
  });
});

describe('batchForPutEvents', () => {
  it('keeps every call within 10 entries and 256 KiB', () => {
    const sizes = [90_000, 90_000, 90_000, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 200_000];
    const batches = batchForPutEvents(sizes, (n) => n);
    expect(batches.flat()).toEqual(sizes);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(10);
      expect(batch.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(MAX_BYTES_PER_CALL);
    }
    expect(batches.map((b) => b.length)).toEqual([2, 10, 2]);
  });

  it('counts an entry as EventBridge does: Time + Source + DetailType + Detail in UTF-8', () => {
    const envelope = {
      id: 'x',
      source: 'github',
      type: 'push',
      receivedAt: new Date(T0).toISOString(),
    } as Envelope;
    const entry = toBusEntry({ envelope, json: '{"é":1}' }, 'bus');
    expect(entrySize(entry)).toBe(14 + 'webhook.github'.length + 'push'.length + 8);
  });
});
