/**
 * Live-table operations: WebSocket connections and their subscriptions (layout: `LIVE_TABLE` in
 * core/contracts.ts). Kept apart from the event store so the WebSocket functions never touch stored events.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { CONNECTION_SHARDS, LIVE_LEASE, LIVE_TABLE, liveKeys } from '../../core/contracts';

const TTL = LIVE_TABLE.ttlAttribute;

/** Marks a change of the connections: the broadcast function re-reads them when this number moved. */
async function bumpVersion(doc: DynamoDBDocumentClient, tableName: string): Promise<void> {
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: liveKeys.subscriptionsVersion,
      UpdateExpression: 'ADD v :one',
      ExpressionAttributeValues: { ':one': 1 },
    }),
  );
}

/**
 * The connections' version (0 before any change): one small read instead of reading every connection. Strongly
 * consistent: a connection that opened (its `$connect` answered, after its write) is in the next broadcast's index.
 */
export async function subscriptionsVersion(doc: DynamoDBDocumentClient, tableName: string): Promise<number> {
  const { Item } = await doc.send(
    new GetCommand({
      TableName: tableName,
      Key: liveKeys.subscriptionsVersion,
      ConsistentRead: true,
      ProjectionExpression: 'v',
    }),
  );
  return Number(Item?.v ?? 0);
}

const isConditionFailed = (error: unknown) => error instanceof ConditionalCheckFailedException;

/** The live lease as a connection's write left it. */
export interface LeaseHeld {
  /** When the lease began (ms). */
  readonly since: number;
  /** This write started it. */
  readonly started: boolean;
  /** When a connection may open (ms), once the write that started the lease has recorded it. */
  readonly openAt?: number;
}

/**
 * Holds the live lease (LIVE_LEASE in core/contracts.ts) until at least `untilMs` — a connection's record expiry —
 * and, with `bump`, marks a change of the connections in the same write. Resolves when the lease began
 * (`liveSince`, ms).
 *
 * One write in the steady state (the lease held, ours ends later). A lease that has ended or ends within
 * `graceMs` starts anew from now: publishers may already have read it as over. Every write is conditional on what the
 * lease was read as, so a lease ended or restarted between two tries is seen by the next try, never overwritten
 * blindly; concurrent connects agree on when it began.
 */
export async function holdLiveLease(
  doc: DynamoDBDocumentClient,
  tableName: string,
  untilMs: number,
  nowMs: number,
  bump: boolean,
): Promise<LeaseHeld> {
  const soon = nowMs + LIVE_LEASE.graceMs;
  const update = async (set: string | undefined, condition: string, values: Record<string, unknown>) => {
    const out = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: liveKeys.subscriptionsVersion,
        // Nothing to set and no bump: a write that changes nothing, for its condition alone (a SET value may be a
        // path; SET, REMOVE and ADD clauses may share one expression, each once:
        // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html).
        UpdateExpression: bump ? `${set ? `${set} ` : ''}ADD v :one` : (set ?? 'SET liveUntil = liveUntil'),
        ConditionExpression: condition,
        ExpressionAttributeValues: { ...values, ...(bump ? { ':one': 1 } : {}) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const openAt = out.Attributes?.liveOpenAt;
    return {
      since: Number(out.Attributes?.liveSince ?? nowMs),
      started: false,
      ...(openAt === undefined ? {} : { openAt: Number(openAt) }),
    };
  };
  for (let attempt = 0; ; attempt++) {
    try {
      // Held (for longer than the grace): extend it.
      return await update('SET liveUntil = :until', 'liveUntil >= :soon AND liveUntil < :until', {
        ':until': untilMs,
        ':soon': soon,
      });
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    try {
      // None, ended, or about to: a new lease, from now (its opening time is set once its start has landed).
      const held = await update(
        'SET liveUntil = :until, liveSince = :now REMOVE liveOpenAt',
        'attribute_not_exists(liveUntil) OR liveUntil < :soon',
        { ':until': untilMs, ':now': nowMs, ':soon': soon },
      );
      return { since: held.since, started: true };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    try {
      // Held for longer than ours already (still true when written).
      return await update(undefined, 'liveUntil >= :until AND liveUntil >= :soon', {
        ':until': untilMs,
        ':soon': soon,
      });
    } catch (error) {
      // The lease changed between the tries (ended, or restarted shorter): read it again. Each failed try means
      // another writer succeeded, so this ends; bounded all the same.
      if (!isConditionFailed(error) || attempt >= 4) throw error;
    }
  }
}

/**
 * Ends the live lease when no connection is left (after a `$disconnect`), so that publishers stop marking events for
 * the broadcast rule. Guarded by the connections' version: a connection that arrives meanwhile bumps it, and the
 * lease stays. Reads at most one live record per shard. Resolves true when it ended the lease.
 */
export async function endLiveLeaseIfIdle(
  doc: DynamoDBDocumentClient,
  tableName: string,
  nowMs: number,
): Promise<boolean> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: liveKeys.subscriptionsVersion, ConsistentRead: true }),
  );
  if (!Item || Number(Item.liveUntil ?? 0) < nowMs) return false;
  const anyLive = async (n: number): Promise<boolean> => {
    for await (const page of liveRecordPages(doc, tableName, n, nowMs, 25)) if (page.length > 0) return true;
    return false;
  };
  const shards = await Promise.all(Array.from({ length: CONNECTION_SHARDS }, (_, n) => anyLive(n)));
  if (shards.some(Boolean)) return false;
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: liveKeys.subscriptionsVersion,
        UpdateExpression: 'SET liveUntil = :now',
        ConditionExpression: 'v = :v',
        ExpressionAttributeValues: { ':now': nowMs, ':v': Item.v ?? 0 },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

export interface ConnectionRecord {
  readonly connectionId: string;
  /** Subscription: an EventBridge pattern over the bus event. */
  readonly pattern: Record<string, unknown>;
  readonly connectedAt: string;
  readonly expiresAt: number;
  /** The agent key it was opened with; absent for the admin token. */
  readonly keyId?: string;
  /** The agent's name (`admin` for the admin token). */
  readonly agent?: string;
  /** Patterns its subscription must stay within; absent: everything (the admin token). */
  readonly allowance?: Record<string, unknown>[];
  /** When its credential ends (an OIDC token's `exp`, seconds): the connection is closed at its next action after. */
  readonly notAfter?: number;
}

/**
 * Stores a connection and holds the live lease for it. Resolves when the connection may open (ms): `settleMs` after
 * the write that started the lease returned (LIVE_LEASE) — in the past, but for the connections of a lease's first
 * moments.
 */
export async function putConnection(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connection: ConnectionRecord,
  now: () => number = Date.now,
): Promise<{ openAt: number }> {
  await doc.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        ...liveKeys.connection(connection.connectionId),
        connectionId: connection.connectionId,
        pattern: JSON.stringify(connection.pattern),
        connectedAt: connection.connectedAt,
        [TTL]: connection.expiresAt,
        ...(connection.keyId ? { keyId: connection.keyId } : {}),
        ...(connection.agent ? { agent: connection.agent } : {}),
        ...(connection.allowance ? { allowance: JSON.stringify(connection.allowance) } : {}),
        ...(connection.notAfter !== undefined ? { notAfter: connection.notAfter } : {}),
      },
    }),
  );
  // After the record: a last $disconnect that does not see it sees the version this write bumps.
  const lease = await holdLiveLease(doc, tableName, connection.expiresAt * 1000, now(), true);
  const written = now();
  if (lease.started) {
    // The lease's start has landed: every connection may open settleMs from now. Recorded for the connections that
    // join meanwhile, so that they wait for the same moment rather than settleMs each.
    const openAt = written + LIVE_LEASE.settleMs;
    await doc
      .send(
        new UpdateCommand({
          TableName: tableName,
          Key: liveKeys.subscriptionsVersion,
          UpdateExpression: 'SET liveOpenAt = :openAt',
          ConditionExpression: 'liveSince = :since',
          ExpressionAttributeValues: { ':openAt': openAt, ':since': lease.since },
        }),
      )
      .catch((error: unknown) => {
        // A newer lease began meanwhile: its own start records its opening time.
        if (!isConditionFailed(error)) throw error;
      });
    return { openAt };
  }
  if (lease.openAt !== undefined) return { openAt: lease.openAt };
  // Joined a young lease whose start has not recorded its opening time yet: wait as if this write had started it.
  return { openAt: written - lease.since < LIVE_LEASE.youngMs ? written + LIVE_LEASE.settleMs : 0 };
}

const toConnection = (item: Record<string, unknown>): ConnectionRecord => ({
  connectionId: String(item.connectionId),
  pattern: JSON.parse(String(item.pattern)) as Record<string, unknown>,
  connectedAt: String(item.connectedAt),
  expiresAt: Number(item[TTL]),
  ...(typeof item.keyId === 'string' ? { keyId: item.keyId } : {}),
  ...(typeof item.agent === 'string' ? { agent: item.agent } : {}),
  ...(typeof item.allowance === 'string'
    ? { allowance: JSON.parse(item.allowance) as Record<string, unknown>[] }
    : {}),
  ...(item.notAfter !== undefined ? { notAfter: Number(item.notAfter) } : {}),
});

/** Deletes a connection's record, and its entry under its agent key; the last one ends the live lease. */
export async function deleteConnection(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
  nowMs: number = Date.now(),
): Promise<void> {
  const out = await doc.send(
    new DeleteCommand({
      TableName: tableName,
      Key: liveKeys.connection(connectionId),
      ReturnValues: 'ALL_OLD',
    }),
  );
  await deleteAgentEntry(doc, tableName, out.Attributes, connectionId);
  if (!out.Attributes) return;
  await bumpVersion(doc, tableName);
  await endLiveLeaseIfIdle(doc, tableName, nowMs);
}

async function deleteAgentEntry(
  doc: DynamoDBDocumentClient,
  tableName: string,
  old: Record<string, unknown> | undefined,
  connectionId: string,
): Promise<void> {
  if (typeof old?.keyId !== 'string') return;
  await doc.send(
    new DeleteCommand({ TableName: tableName, Key: liveKeys.agentConnection(old.keyId, connectionId) }),
  );
}

/**
 * A connection's record, or undefined when it is gone — or, given `nowMs`, expired (DynamoDB deletes expired items
 * lazily: without `nowMs` an expired record is returned as it is).
 */
export async function getConnection(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
  nowMs?: number,
): Promise<ConnectionRecord | undefined> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: liveKeys.connection(connectionId), ConsistentRead: true }),
  );
  if (!Item || (nowMs !== undefined && Number(Item[TTL]) <= Math.floor(nowMs / 1000))) return undefined;
  return toConnection(Item);
}

/**
 * Replaces a connection's subscription (and renews its TTL and the live lease with it); `connectedAt` stays. False
 * if it is gone.
 */
export async function updateSubscription(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
  pattern: Record<string, unknown>,
  expiresAt: number,
  nowMs: number = Date.now(),
): Promise<boolean> {
  // The lease first: a record renewed without it would receive nothing until its next renewal.
  await holdLiveLease(doc, tableName, expiresAt * 1000, nowMs, true);
  return conditionalUpdate(doc, tableName, connectionId, 'SET pattern = :p, expiresAt = :e', nowMs, {
    ':p': JSON.stringify(pattern),
    ':e': expiresAt,
  });
}

/** Renews a connection record's TTL and the live lease with it (a client's ping). False if the record is gone. */
export async function refreshConnection(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
  expiresAt: number,
  nowMs: number = Date.now(),
): Promise<boolean> {
  // The lease first (a record renewed without it would receive nothing); no version bump: the subscriptions did not
  // change, and broadcast keeps its index.
  await holdLiveLease(doc, tableName, expiresAt * 1000, nowMs, false);
  return conditionalUpdate(doc, tableName, connectionId, 'SET expiresAt = :e', nowMs, { ':e': expiresAt });
}

/**
 * Updates a connection record that exists and has not expired: an expired one (DynamoDB deletes it lazily) is never
 * revived — a last `$disconnect` may already have found no live connection and ended the lease.
 */
async function conditionalUpdate(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
  expression: string,
  nowMs: number,
  values: Record<string, unknown>,
): Promise<boolean> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: liveKeys.connection(connectionId),
        UpdateExpression: expression,
        ConditionExpression: 'attribute_exists(pk) AND #ttl > :nowSeconds',
        ExpressionAttributeNames: { '#ttl': TTL },
        ExpressionAttributeValues: { ...values, ':nowSeconds': Math.floor(nowMs / 1000) },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/**
 * Deletes a connection that answered 410 — unless it connected after `connectedBefore`: API Gateway also answers
 * 410 to a post that races the handshake (the record is written during `$connect`, before the connection is up).
 */
export async function deleteGoneConnection(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
  connectedBefore: string,
): Promise<boolean> {
  try {
    const out = await doc.send(
      new DeleteCommand({
        TableName: tableName,
        Key: liveKeys.connection(connectionId),
        ConditionExpression: 'connectedAt < :before',
        ExpressionAttributeValues: { ':before': connectedBefore },
        ReturnValues: 'ALL_OLD',
      }),
    );
    await deleteAgentEntry(doc, tableName, out.Attributes, connectionId);
    await bumpVersion(doc, tableName);
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/**
 * The unexpired records of one connection shard, a page at a time (strongly consistent: a connection whose `$connect`
 * answered is among them). DynamoDB deletes expired items lazily, so the TTL is filtered here; `limit` bounds the
 * items a page reads (before the filter).
 */
async function* liveRecordPages(
  doc: DynamoDBDocumentClient,
  tableName: string,
  shard: number,
  nowMs: number,
  limit?: number,
): AsyncGenerator<Record<string, unknown>[]> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: '#ttl > :now',
        ExpressionAttributeNames: { '#ttl': TTL },
        ExpressionAttributeValues: {
          ':pk': liveKeys.connectionPartition(shard),
          ':now': Math.floor(nowMs / 1000),
        },
        ConsistentRead: true,
        ...(limit ? { Limit: limit } : {}),
        ExclusiveStartKey: startKey,
      }),
    );
    yield out.Items ?? [];
    startKey = out.LastEvaluatedKey;
  } while (startKey);
}

/** Every live connection: a Query per shard (never a Scan), the shards read side by side. */
export async function* listConnections(
  doc: DynamoDBDocumentClient,
  tableName: string,
  nowMs: number,
): AsyncGenerator<ConnectionRecord> {
  const shard = async (n: number) => {
    const items: Record<string, unknown>[] = [];
    for await (const page of liveRecordPages(doc, tableName, n, nowMs)) items.push(...page);
    return items;
  };
  const shards = await Promise.all(Array.from({ length: CONNECTION_SHARDS }, (_, n) => shard(n)));
  for (const item of shards.flat()) yield toConnection(item);
}
