/**
 * The live lease: publishers mark events for the broadcast rule only while an agent may be connected, so that a stack
 * without agents never invokes the broadcast function — and an agent never misses an event published after its
 * connection opened.
 */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LIVE_EVENTS, LIVE_LEASE, LIVE_RESOURCE, LIVE_TABLE, liveKeys } from '../../core/contracts';
import { matchesPattern } from '../../core/pattern';
import { type ConnectionDeps, handleConnectionEvent } from '../../lambdas/connections/connections';
import type { SerializedEvent } from '../../lambdas/shared/event-store';
import { liveGate } from '../../lambdas/shared/live-gate';
import { endLiveLeaseIfIdle, holdLiveLease, putConnection } from '../../lambdas/shared/live-store';
import { entrySize, publishAll, toBusEntry } from '../../lambdas/shared/publish';
import { ensureTable } from '../../local/services/dynamodb';
import { type LocalAws, startLocalAws } from '../support/aws-local';

const TOKEN = 'admin-token-for-lease-tests';
let aws: LocalAws;
let tableName: string;
let tables = 0;
/** The connection handler's and the gate's clock. */
let nowMs = Date.UTC(2026, 11, 1, 12);
/** Every wait the connection handler asked for. */
let waits: number[] = [];
/** What the connection handler sent through @connections. */
let sentToConnections: { command: string; data?: unknown }[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws.stop();
});
beforeEach(async () => {
  // A fresh live table per test: the lease is one item per stack.
  tableName = `live-lease-${++tables}`;
  await ensureTable(aws.dynamo.client, tableName, LIVE_TABLE);
  // The emulator creates tables asynchronously, as DynamoDB does: wait until it is ACTIVE (bounded).
  for (let i = 0; i < 100; i++) {
    const { Table } = await aws.dynamo.client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  nowMs = Date.UTC(2026, 11, 1, 12);
  waits = [];
  sentToConnections = [];
});

const deps = (): ConnectionDeps => ({
  doc: aws.doc,
  accessTokens: async () => [TOKEN],
  management: {
    send: async (command: { constructor: { name: string }; input: { Data?: Uint8Array } }) => {
      sentToConnections.push({
        command: command.constructor.name,
        ...(command.input.Data ? { data: JSON.parse(Buffer.from(command.input.Data).toString()) } : {}),
      });
      return {};
    },
  } as unknown as ApiGatewayManagementApiClient,
  tableName,
  connectionTtlSeconds: 600,
  now: () => nowMs,
  eventsTable: aws.tableName,
  retentionDays: 7,
  sleep: async (ms) => {
    waits.push(ms);
    nowMs += ms;
  },
});

const route = (routeKey: string, connectionId: string, body?: string) =>
  handleConnectionEvent(
    { routeKey, connectionId, query: {}, headers: { Authorization: `Bearer ${TOKEN}` }, body },
    deps(),
  );

const lease = async () =>
  (
    await aws.doc.send(
      new GetCommand({ TableName: tableName, Key: liveKeys.subscriptionsVersion, ConsistentRead: true }),
    )
  ).Item as { liveUntil?: number; liveSince?: number; liveOpenAt?: number; v?: number } | undefined;

const gate = (dynamodb: Pick<DynamoDBClient, 'send'> = aws.dynamo.client) =>
  liveGate({ dynamodb, tableName, now: () => nowMs });

describe('publishers without agents', () => {
  it('do not mark events: the broadcast rule matches none of them', async () => {
    expect(await gate().audience()).toBe(false);
    const entry = toBusEntry(event('01JDH8ZQ2K0000000000000001'), 'bus', false);
    expect(entry.Resources).toBeUndefined();
    expect(matchesPattern(LIVE_EVENTS, busEvent(entry))).toBe(false);
  });
});

describe('the first agent', () => {
  it('starts the lease and waits settleMs before its connection opens; events from then on are marked', async () => {
    const publisher = gate();
    expect(await publisher.audience()).toBe(false); // read and cached before the agent connects
    const startedAt = nowMs;
    expect((await route('$connect', 'first=')).statusCode).toBe(200);
    expect(waits).toEqual([LIVE_LEASE.settleMs]);
    expect(await lease()).toMatchObject({ liveSince: startedAt, liveUntil: startedAt + 600_000 });
    // The connection is open now (settleMs later): the publisher's cached "no" has expired.
    expect(await publisher.audience()).toBe(true);
  });

  it('is followed by agents that open at once once the lease has held a while (youngMs)', async () => {
    await route('$connect', 'first=');
    nowMs += LIVE_LEASE.youngMs;
    waits = [];
    expect((await route('$connect', 'second=')).statusCode).toBe(200);
    expect(waits).toEqual([]);
  });

  it('makes agents that connect at the same moment agree on one lease start, and all wait', async () => {
    const at = nowMs;
    const opened = await Promise.all(
      ['a=', 'b=', 'c=', 'd='].map((id) =>
        putConnection(
          aws.doc,
          tableName,
          {
            connectionId: id,
            pattern: {},
            connectedAt: new Date(at).toISOString(),
            expiresAt: Math.floor(at / 1000) + 600,
          },
          () => at,
        ),
      ),
    );
    expect(new Set(opened.map((o) => o.openAt))).toEqual(new Set([at + LIVE_LEASE.settleMs]));
    expect((await lease())?.liveSince).toBe(at);
  });

  it('lets agents joining a lease just begun wait for the moment its start set, not settleMs each', async () => {
    const start = nowMs;
    await route('$connect', 'starter=');
    expect(waits).toEqual([LIVE_LEASE.settleMs]);
    expect((await lease())?.liveOpenAt).toBe(start + LIVE_LEASE.settleMs);
    // A joiner 1 s into the lease waits the 0.5 s left; one after the opening moment does not wait.
    nowMs = start + 1_000;
    waits = [];
    await route('$connect', 'joiner=');
    expect(waits).toEqual([LIVE_LEASE.settleMs - 1_000]);
    nowMs = start + LIVE_LEASE.settleMs + 1;
    waits = [];
    await route('$connect', 'later=');
    expect(waits).toEqual([]);
  });

  it('counts the wait from when its lease write returned, not from when it started (a slow write waits longer)', async () => {
    const at = nowMs;
    let clock = at;
    const slow = new Proxy(aws.doc, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (command: unknown) => {
          const out = await (target.send as (c: unknown) => Promise<unknown>)(command);
          clock += 800; // every write lands 0.8 s later
          return out;
        };
      },
    });
    const { openAt } = await putConnection(
      slow,
      tableName,
      {
        connectionId: 'slow=',
        pattern: {},
        connectedAt: new Date(at).toISOString(),
        expiresAt: Math.floor(at / 1000) + 600,
      },
      () => clock,
    );
    // The record's put and the lease's write each landed 0.8 s late: settleMs counts from the second.
    expect(openAt).toBe(at + 1_600 + LIVE_LEASE.settleMs);
  });
});

describe('the lease', () => {
  it('is extended by a ping without a version bump (broadcast keeps its index)', async () => {
    await route('$connect', 'pinger=');
    const before = await lease();
    nowMs += 60_000;
    await route('ping', 'pinger=', '{"action":"ping"}');
    const after = await lease();
    // To the record's new expiry (whole seconds).
    expect(after?.liveUntil).toBe(Math.floor(nowMs / 1000) * 1000 + 600_000);
    expect(after?.v).toBe(before?.v);
    expect(after?.liveSince).toBe(before?.liveSince);
  });

  it('is not renewed by a connection whose record expired: the connection is told and closed instead', async () => {
    await route('$connect', 'stale=');
    // Past the record's expiry (600 s here), before DynamoDB's TTL deleted it.
    nowMs += 601_000;
    const before = await lease();
    sentToConnections = [];
    await route('ping', 'stale=', '{"action":"ping"}');
    expect(sentToConnections).toEqual([
      { command: 'PostToConnectionCommand', data: expect.objectContaining({ error: 'connection_expired' }) },
      { command: 'DeleteConnectionCommand' },
    ]);
    expect((await lease())?.liveUntil).toBe(before?.liveUntil);
    expect(
      (
        await aws.doc.send(
          new GetCommand({ TableName: tableName, Key: liveKeys.connection('stale='), ConsistentRead: true }),
        )
      ).Item,
    ).toBeUndefined();
  });

  it('ends with the last disconnect: publishers stop marking after the grace', async () => {
    await route('$connect', 'one=');
    await route('$connect', 'two=');
    await route('$disconnect', 'one=');
    expect((await lease())?.liveUntil).toBeGreaterThan(nowMs);
    await route('$disconnect', 'two=');
    expect((await lease())?.liveUntil).toBe(nowMs);
    const publisher = gate();
    expect(await publisher.audience()).toBe(true); // within graceMs of the end
    nowMs += LIVE_LEASE.graceMs;
    expect(await publisher.audience()).toBe(false);
  });

  it('counts a lease ending within the grace as ended: a connect right after the last disconnect waits again', async () => {
    await route('$connect', 'gone=');
    nowMs += LIVE_LEASE.youngMs;
    await route('$disconnect', 'gone=');
    waits = [];
    await route('$connect', 'right-after=');
    expect(waits).toEqual([LIVE_LEASE.settleMs]);
  });

  it('is left as it is by a renewal that needs less than it holds (no bump, no shortening)', async () => {
    const first = await holdLiveLease(aws.doc, tableName, nowMs + 600_000, nowMs, true);
    const before = await lease();
    const renewed = await holdLiveLease(aws.doc, tableName, nowMs + 300_000, nowMs + 1_000, false);
    expect(renewed).toEqual({ since: first.since, started: false });
    expect(await lease()).toEqual(before);
  });

  it('is never ended under a connection that arrives with a shorter expiry while the last one leaves', async () => {
    // The only connection, with a long lease.
    await route('$connect', 'long=');
    nowMs += LIVE_LEASE.youngMs;
    // A connection whose lease would end sooner (an OIDC token) finds the lease held longer than it needs…
    const shortUntil = nowMs + 120_000;
    let raced = false;
    const racing = new Proxy(aws.doc, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (command: unknown) => {
          // …and the last disconnect ends the lease between its tries.
          if (
            command instanceof UpdateCommand &&
            !raced &&
            command.input.ConditionExpression?.includes(':until AND')
          ) {
            raced = true;
            await aws.doc.send(
              new UpdateCommand({
                TableName: tableName,
                Key: liveKeys.subscriptionsVersion,
                UpdateExpression: 'SET liveUntil = :now',
                ExpressionAttributeValues: { ':now': nowMs },
              }),
            );
          }
          return (target.send as (c: unknown) => Promise<unknown>)(command);
        };
      },
    });
    const held = await holdLiveLease(racing, tableName, shortUntil, nowMs, true);
    expect(raced).toBe(true);
    // The next try saw the lease ended and started a new one: held, from now.
    expect(held).toEqual({ since: nowMs, started: true });
    expect((await lease())?.liveUntil).toBe(shortUntil);
  });

  it('starts anew (and the next agent waits again) once it has lapsed', async () => {
    await route('$connect', 'early=');
    await route('$disconnect', 'early=');
    nowMs += 60_000;
    waits = [];
    await route('$connect', 'late=');
    expect(waits).toEqual([LIVE_LEASE.settleMs]);
    expect((await lease())?.liveSince).toBe(nowMs - LIVE_LEASE.settleMs);
  });

  it('is not ended when a connection arrives between the idle check and the end (version guard)', async () => {
    await route('$connect', 'leaving=');
    // The record goes, as $disconnect deletes it, but the lease is not ended yet.
    await aws.doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: liveKeys.connection('leaving='),
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': 1 },
      }),
    );
    // A connect lands after the idle check read the version: its bump makes the guarded end fail.
    let raced = false;
    const racing = new Proxy(aws.doc, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (command: unknown) => {
          if (command instanceof UpdateCommand && !raced) {
            raced = true;
            await putConnection(aws.doc, tableName, {
              connectionId: 'arriving=',
              pattern: {},
              connectedAt: new Date(nowMs).toISOString(),
              expiresAt: Math.floor(nowMs / 1000) + 600,
            });
          }
          return (target.send as (c: unknown) => Promise<unknown>)(command);
        };
      },
    });
    expect(await endLiveLeaseIfIdle(racing, tableName, nowMs)).toBe(false);
    expect(raced).toBe(true);
    expect((await lease())?.liveUntil).toBeGreaterThan(nowMs);
  });
});

describe('the publishers’ gate', () => {
  it('reads the lease at most once per refreshMs, strongly consistent', async () => {
    const sent: { ConsistentRead?: boolean }[] = [];
    const counting = {
      send: async (command: { input: { ConsistentRead?: boolean } }) => {
        sent.push(command.input);
        return aws.dynamo.client.send(command as never);
      },
    } as unknown as DynamoDBClient;
    const publisher = gate(counting);
    for (let i = 0; i < 5; i++) await publisher.audience();
    nowMs += LIVE_LEASE.refreshMs - 1;
    await publisher.audience();
    expect(sent).toHaveLength(1);
    nowMs += 1;
    await publisher.audience();
    expect(sent).toHaveLength(2);
    expect(sent.every((input) => input.ConsistentRead === true)).toBe(true);
  });

  it('fails open: an unreadable lease counts as held (a broadcast too many, never one missed)', async () => {
    const errors: unknown[] = [];
    const failing = {
      send: async () => {
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      },
    } as unknown as DynamoDBClient;
    const publisher = liveGate({
      dynamodb: failing,
      tableName,
      now: () => nowMs,
      onError: (e) => errors.push(e),
    });
    expect(await publisher.audience()).toBe(true);
    expect(errors).toHaveLength(1);
  });

  it('marks what publishAll puts on the bus, and counts the mark in the entry size', async () => {
    await route('$connect', 'watcher=');
    const published = aws.published.length;
    const e = event('01JDH8ZQ2K0000000000000002');
    const outcome = await publishAll({ eventBridge: aws.eventBridge, busName: aws.busName, live: gate() }, [
      e,
    ]);
    expect(outcome.failed).toEqual([]);
    const onBus = aws.published.slice(published);
    expect(onBus.map((b) => b.resources)).toEqual([[LIVE_RESOURCE]]);
    expect(matchesPattern(LIVE_EVENTS, onBus[0])).toBe(true);
    expect(entrySize(toBusEntry(e, 'bus', true)) - entrySize(toBusEntry(e, 'bus', false))).toBe(
      Buffer.byteLength(LIVE_RESOURCE),
    );
  });
});

function event(id: string): SerializedEvent {
  const envelope = {
    id,
    source: 'github',
    type: 'push',
    receivedAt: '2026-12-01T12:00:00.000Z',
    deliveryId: null,
    data: {},
  };
  return { envelope, json: JSON.stringify(envelope) } as unknown as SerializedEvent;
}

function busEvent(entry: ReturnType<typeof toBusEntry>) {
  return {
    source: entry.Source,
    'detail-type': entry.DetailType,
    resources: entry.Resources ?? [],
    detail: JSON.parse(entry.Detail),
  };
}
