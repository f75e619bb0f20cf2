/**
 * Event-store operations on the single table (key layout: `TABLE` and `keys` in core/contracts.ts).
 * Each function receives its client: no module state here.
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
import { encodeTime } from 'ulid';
import { type Envelope, keys, TABLE } from '../../core/contracts';

/**
 * The sparse `unpublished` index is spread over a few partitions (one write per event each way would otherwise all
 * land on one key); the sweeper reads every shard.
 */
export const UNPUBLISHED_SHARDS = 8;
const unpublishedShard = (eventId: string) =>
  `UNPUBLISHED#${eventId.charCodeAt(eventId.length - 1) % UNPUBLISHED_SHARDS}`;
/** Marker of an event the sweeper gave up on (its publish kept failing): out of the shards, kept for a human. */
export const POISONED = 'POISONED';

/** An envelope with its JSON, serialised once and reused for the item, the bus entry and the answer. */
export interface SerializedEvent {
  readonly envelope: Envelope;
  readonly json: string;
}

export interface StoredEvent extends SerializedEvent {
  readonly published: boolean;
  readonly key: { pk: string; sk: string };
}

export type StoreResult =
  | { readonly stored: true }
  | { readonly stored: false; readonly existing: StoredEvent };

/** Epoch seconds `days` after `nowMs`: the DynamoDB TTL value. */
export const expiresAfterDays = (nowMs: number, days: number) => Math.floor(nowMs / 1000) + days * 86_400;

/** The DynamoDB item of a new (unpublished) event. Pure: the hot path builds it without I/O. */
export function eventItem(input: SerializedEvent & { dedupeKey: string; expiresAt: number }) {
  const { envelope } = input;
  return {
    ...keys.event(envelope.source, input.dedupeKey),
    id: envelope.id,
    gsi1pk: envelope.source,
    gsi1sk: envelope.id,
    gsi2pk: `${envelope.source}#${envelope.type}`,
    gsi2sk: envelope.id,
    unpublished: unpublishedShard(envelope.id),
    envelope: input.json,
    [TABLE.ttlAttribute]: input.expiresAt,
  };
}

/**
 * Stores an event, unpublished, under its dedupe key. The conditional write is the dedupe: if an event with the
 * same key exists, nothing is written and the existing one is returned.
 */
export async function storeEvent(
  doc: DynamoDBDocumentClient,
  tableName: string,
  input: SerializedEvent & { dedupeKey: string; expiresAt: number },
): Promise<StoreResult> {
  const item = eventItem(input);
  const key = { pk: item.pk, sk: item.sk };
  try {
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return { stored: true };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  const existing = await getStoredEvent(doc, tableName, key);
  // Conditional write failed but nothing is there: TTL removed it in between. Treat as a storage conflict.
  if (!existing) throw new Error('event vanished between conditional write and read');
  return { stored: false, existing };
}

export async function getStoredEvent(
  doc: DynamoDBDocumentClient,
  tableName: string,
  key: { pk: string; sk: string },
): Promise<StoredEvent | undefined> {
  const out = await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
  if (!out.Item) return undefined;
  const json = String(out.Item.envelope);
  return {
    envelope: JSON.parse(json) as Envelope,
    json,
    published: out.Item.unpublished === undefined,
    key,
  };
}

/** Clears the unpublished marker (removes the item from the sparse `unpublished` index). */
export async function markPublished(
  doc: DynamoDBDocumentClient,
  tableName: string,
  key: { pk: string; sk: string },
): Promise<void> {
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: key,
      UpdateExpression: 'REMOVE unpublished',
      ConditionExpression: 'attribute_exists(pk)',
    }),
  );
}

/** Keys of events still unpublished that were received before `beforeMs`, oldest first, across all shards. */
export async function listUnpublished(
  doc: DynamoDBDocumentClient,
  tableName: string,
  beforeMs: number,
  limit: number,
): Promise<{ pk: string; sk: string }[]> {
  const shards = await Promise.all(
    Array.from({ length: UNPUBLISHED_SHARDS }, (_, shard) =>
      doc.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: TABLE.unpublishedIndex,
          KeyConditionExpression: 'unpublished = :u AND gsi1sk < :cutoff',
          // A ULID starts with its 10-character time: every id older than the cutoff sorts below its prefix.
          ExpressionAttributeValues: { ':u': `UNPUBLISHED#${shard}`, ':cutoff': encodeTime(beforeMs, 10) },
          Limit: limit,
        }),
      ),
    ),
  );
  return shards
    .flatMap((out) => out.Items ?? [])
    .sort((a, b) => String(a.gsi1sk).localeCompare(String(b.gsi1sk)))
    .slice(0, limit)
    .map((item) => ({ pk: String(item.pk), sk: String(item.sk) }));
}

/**
 * Counts a failed publish of a stored event; after `poisonAfter` failures the event leaves the sweeper's shards
 * (`unpublished = POISONED`) so that one bad event cannot be retried forever. Returns the attempts so far.
 */
export async function recordPublishFailure(
  doc: DynamoDBDocumentClient,
  tableName: string,
  key: { pk: string; sk: string },
  poisonAfter: number,
): Promise<{ attempts: number; poisoned: boolean }> {
  const out = await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: key,
      UpdateExpression: 'ADD publishAttempts :one',
      ConditionExpression: 'attribute_exists(unpublished)',
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const attempts = Number(out.Attributes?.publishAttempts ?? 0);
  if (attempts < poisonAfter) return { attempts, poisoned: false };
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: key,
      UpdateExpression: 'SET unpublished = :poisoned',
      ExpressionAttributeValues: { ':poisoned': POISONED },
    }),
  );
  return { attempts, poisoned: true };
}

export interface DeliveryAttempt {
  readonly eventId: string;
  readonly target: string;
  readonly at: string;
  readonly attempt: number;
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
  readonly durationMs: number;
}

export async function recordDeliveryAttempt(
  doc: DynamoDBDocumentClient,
  tableName: string,
  attempt: DeliveryAttempt,
  expiresAt: number,
): Promise<void> {
  await doc.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        ...keys.delivery(attempt.eventId, attempt.target, attempt.at),
        ...attempt,
        [TABLE.ttlAttribute]: expiresAt,
      },
    }),
  );
}

export async function listDeliveryAttempts(
  doc: DynamoDBDocumentClient,
  tableName: string,
  eventId: string,
): Promise<DeliveryAttempt[]> {
  const out = await doc.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.delivery(eventId, '', '').pk },
    }),
  );
  return (out.Items ?? []) as DeliveryAttempt[];
}

export interface ConnectionRecord {
  readonly connectionId: string;
  /** Subscription: an EventBridge pattern over the bus event. */
  readonly pattern: Record<string, unknown>;
  readonly connectedAt: string;
  readonly expiresAt: number;
}

export async function putConnection(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connection: ConnectionRecord,
): Promise<void> {
  await doc.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        ...keys.connection(connection.connectionId),
        connectionId: connection.connectionId,
        pattern: JSON.stringify(connection.pattern),
        connectedAt: connection.connectedAt,
        [TABLE.ttlAttribute]: connection.expiresAt,
      },
    }),
  );
}

export async function deleteConnection(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
): Promise<void> {
  await doc.send(new DeleteCommand({ TableName: tableName, Key: keys.connection(connectionId) }));
}

/** Replaces a connection's subscription (and renews its TTL); `connectedAt` stays. False if it is gone. */
export async function updateSubscription(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
  pattern: Record<string, unknown>,
  expiresAt: number,
): Promise<boolean> {
  return conditionalUpdate(doc, tableName, connectionId, 'SET pattern = :p, expiresAt = :e', {
    ':p': JSON.stringify(pattern),
    ':e': expiresAt,
  });
}

/** Renews a connection record's TTL (a client's ping). False if the record is gone. */
export async function refreshConnection(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
  expiresAt: number,
): Promise<boolean> {
  return conditionalUpdate(doc, tableName, connectionId, 'SET expiresAt = :e', { ':e': expiresAt });
}

async function conditionalUpdate(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
  expression: string,
  values: Record<string, unknown>,
): Promise<boolean> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keys.connection(connectionId),
        UpdateExpression: expression,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: values,
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
    await doc.send(
      new DeleteCommand({
        TableName: tableName,
        Key: keys.connection(connectionId),
        ConditionExpression: 'connectedAt < :before',
        ExpressionAttributeValues: { ':before': connectedBefore },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/**
 * Every live connection, page by page (a Query on one partition, never a Scan). Records past their TTL are
 * skipped: DynamoDB deletes expired items lazily.
 */
export async function* listConnections(
  doc: DynamoDBDocumentClient,
  tableName: string,
  nowMs: number,
): AsyncGenerator<ConnectionRecord> {
  let startKey: Record<string, unknown> | undefined;
  const nowSeconds = Math.floor(nowMs / 1000);
  do {
    const out = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.connection('').pk },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of out.Items ?? []) {
      const expiresAt = Number(item[TABLE.ttlAttribute]);
      if (expiresAt <= nowSeconds) continue;
      yield {
        connectionId: String(item.connectionId),
        pattern: JSON.parse(String(item.pattern)) as Record<string, unknown>,
        connectedAt: String(item.connectedAt),
        expiresAt,
      };
    }
    startKey = out.LastEvaluatedKey;
  } while (startKey);
}
