/**
 * Fan-out that scales: connection records spread over partitions, the subscription index re-read only when the
 * connections changed (one small read per batch in steady state), and throttled pushes tried again with backoff.
 */
import {
  type ApiGatewayManagementApiClient,
  LimitExceededException,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_SHARDS, liveKeys } from '../../core/contracts';
import {
  type BroadcastDeps,
  broadcastEvent,
  SubscriptionIndex,
  syncSubscriptions,
  THROTTLE_TRIES,
} from '../../lambdas/broadcast/broadcast';
import { deleteConnection, listConnections, putConnection } from '../../lambdas/shared/live-store';
import { type LocalAws, startLocalAws } from '../support/aws-local';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws.stop();
});

/** A document client that counts the commands it sends, by name. */
function counting(doc: DynamoDBDocumentClient) {
  const counts = new Map<string, number>();
  const proxy = new Proxy(doc, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return (command: { constructor: { name: string } }) => {
        counts.set(command.constructor.name, (counts.get(command.constructor.name) ?? 0) + 1);
        return (target.send as (c: unknown) => Promise<unknown>)(command);
      };
    },
  });
  return { doc: proxy, counts };
}

const ALL = { source: [{ prefix: 'webhook.' }] };
const connection = (id: string) => ({
  connectionId: id,
  pattern: ALL,
  connectedAt: new Date(0).toISOString(),
  expiresAt: Math.floor(Date.now() / 1000) + 3600,
});
const event = {
  version: '0',
  id: 'e',
  'detail-type': 't',
  source: 'webhook.github',
  account: '0',
  time: '',
  region: '',
  resources: [],
  detail: { id: '01JDH8ZQ2K0000000000000000' },
};

describe('connection records', () => {
  it('spread over partitions (API Gateway-style ids, all ending in "="), and are all listed', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `Ab${i}cDeFgHiJkLm=`);
    for (const id of ids) await putConnection(aws.doc, aws.liveTableName, connection(id));
    const partitions = new Set(ids.map((id) => liveKeys.connection(id).pk));
    expect(partitions.size).toBeGreaterThan(CONNECTION_SHARDS / 2);
    const listed = [];
    for await (const c of listConnections(aws.doc, aws.liveTableName, Date.now()))
      listed.push(c.connectionId);
    expect(listed.sort()).toEqual([...ids].sort());
    for (const id of ids) await deleteConnection(aws.doc, aws.liveTableName, id);
  });
});

describe('the subscription index', () => {
  it('is re-read only when the connections changed: in steady state one GetItem per batch, no Query', async () => {
    const { doc, counts } = counting(aws.doc);
    const deps: BroadcastDeps = {
      doc,
      management: { send: async () => ({}) } as unknown as ApiGatewayManagementApiClient,
      tableName: aws.liveTableName,
      now: Date.now,
      concurrency: 4,
      subscriptions: new SubscriptionIndex(),
    };
    await putConnection(aws.doc, aws.liveTableName, connection('steady-1='));
    expect(await syncSubscriptions(deps)).toBe(true);
    counts.clear();
    for (let batch = 0; batch < 5; batch++) expect(await syncSubscriptions(deps)).toBe(false);
    expect(Object.fromEntries(counts)).toEqual({ GetCommand: 5 });

    await putConnection(aws.doc, aws.liveTableName, connection('steady-2='));
    expect(await syncSubscriptions(deps)).toBe(true);
    expect(deps.subscriptions.match(event)).toEqual(expect.arrayContaining(['steady-1=', 'steady-2=']));
    await deleteConnection(aws.doc, aws.liveTableName, 'steady-2=');
    expect(await syncSubscriptions(deps)).toBe(true);
    expect(deps.subscriptions.match(event)).not.toContain('steady-2=');
    await deleteConnection(aws.doc, aws.liveTableName, 'steady-1=');
  });
});

describe('a large fan-out', () => {
  it('is split: an invocation pushes its share and hands the rest over, in parts, with the detail verbatim', async () => {
    const pushed: string[] = [];
    const handed: string[] = [];
    const subscriptions = new SubscriptionIndex();
    const ids = Array.from({ length: 5 }, (_, i) => `fan${i}=`);
    subscriptions.sync(ids.map((connectionId) => ({ connectionId, pattern: ALL })));
    const deps: BroadcastDeps = {
      doc: aws.doc,
      management: {
        send: async (command: { input: { ConnectionId: string } }) => {
          pushed.push(command.input.ConnectionId);
          return {};
        },
      } as unknown as ApiGatewayManagementApiClient,
      tableName: aws.liveTableName,
      now: Date.now,
      concurrency: 4,
      subscriptions,
      maxPushesPerInvocation: 2,
      handOff: async (message) => {
        handed.push(message);
      },
    };
    const detail = '{"id":"01JDH8ZQ2K0000000000000000","n":9007199254740993}';
    expect(await broadcastEvent(event, detail, deps)).toMatchObject({ matched: 5, sent: 2, handedOff: 3 });
    expect(handed).toHaveLength(2);
    // Each continuation, as the handler reads it from the queue.
    for (const message of handed) {
      expect(message).toContain(`"detail":${detail}`);
      const { fanout } = JSON.parse(message) as { fanout: string[] };
      await broadcastEvent(event, detail, deps, () => {}, fanout);
    }
    expect(pushed.sort()).toEqual([...ids].sort());
  });
});

describe('pushes', () => {
  const throttled = () =>
    new LimitExceededException({ message: 'slow down', $metadata: { httpStatusCode: 429 } });

  function depsWith(send: () => Promise<unknown>, waits: number[]): BroadcastDeps {
    const subscriptions = new SubscriptionIndex();
    subscriptions.sync([{ connectionId: 'c1=', pattern: ALL }]);
    return {
      doc: aws.doc,
      management: { send } as unknown as ApiGatewayManagementApiClient,
      tableName: aws.liveTableName,
      now: Date.now,
      concurrency: 4,
      subscriptions,
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 1,
    };
  }

  it('are tried again with growing waits when API Gateway throttles them', async () => {
    let calls = 0;
    const waits: number[] = [];
    const deps = depsWith(async () => {
      if (++calls <= 2) throw throttled();
      return {};
    }, waits);
    expect(await broadcastEvent(event, '{}', deps)).toMatchObject({ sent: 1, failed: 0, throttled: 2 });
    expect(waits).toEqual([100, 200]);
  });

  it('fail after a bounded number of tries, reported, without stopping the others', async () => {
    const waits: number[] = [];
    const errors: unknown[] = [];
    const deps = depsWith(async () => {
      throw throttled();
    }, waits);
    expect(await broadcastEvent(event, '{}', deps, (_id, e) => errors.push(e))).toMatchObject({
      sent: 0,
      failed: 1,
      throttled: THROTTLE_TRIES - 1,
    });
    expect(waits).toHaveLength(THROTTLE_TRIES - 1);
    expect(errors[0]).toBeInstanceOf(LimitExceededException);
  });
});
