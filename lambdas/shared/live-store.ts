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
import { CONNECTION_SHARDS, LIVE_TABLE, liveKeys } from '../../core/contracts';

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

/** The connections' version (0 before any change): one small read instead of reading every connection. */
export async function subscriptionsVersion(doc: DynamoDBDocumentClient, tableName: string): Promise<number> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: liveKeys.subscriptionsVersion }),
  );
  return Number(Item?.v ?? 0);
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
        ...liveKeys.connection(connection.connectionId),
        connectionId: connection.connectionId,
        pattern: JSON.stringify(connection.pattern),
        connectedAt: connection.connectedAt,
        [TTL]: connection.expiresAt,
        ...(connection.keyId ? { keyId: connection.keyId } : {}),
        ...(connection.agent ? { agent: connection.agent } : {}),
        ...(connection.allowance ? { allowance: JSON.stringify(connection.allowance) } : {}),
      },
    }),
  );
  await bumpVersion(doc, tableName);
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
});

/** Deletes a connection's record, and its entry under its agent key. */
export async function deleteConnection(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
): Promise<void> {
  const out = await doc.send(
    new DeleteCommand({
      TableName: tableName,
      Key: liveKeys.connection(connectionId),
      ReturnValues: 'ALL_OLD',
    }),
  );
  await deleteAgentEntry(doc, tableName, out.Attributes, connectionId);
  if (out.Attributes) await bumpVersion(doc, tableName);
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

/** A connection's record, or undefined when it is gone. */
export async function getConnection(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
): Promise<ConnectionRecord | undefined> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: liveKeys.connection(connectionId), ConsistentRead: true }),
  );
  return Item ? toConnection(Item) : undefined;
}

/** Replaces a connection's subscription (and renews its TTL); `connectedAt` stays. False if it is gone. */
export async function updateSubscription(
  doc: DynamoDBDocumentClient,
  tableName: string,
  connectionId: string,
  pattern: Record<string, unknown>,
  expiresAt: number,
): Promise<boolean> {
  const updated = await conditionalUpdate(doc, tableName, connectionId, 'SET pattern = :p, expiresAt = :e', {
    ':p': JSON.stringify(pattern),
    ':e': expiresAt,
  });
  if (updated) await bumpVersion(doc, tableName);
  return updated;
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
        Key: liveKeys.connection(connectionId),
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
 * Every live connection: a Query per shard (never a Scan), the shards read side by side. Records past their TTL are
 * skipped: DynamoDB deletes expired items lazily.
 */
export async function* listConnections(
  doc: DynamoDBDocumentClient,
  tableName: string,
  nowMs: number,
): AsyncGenerator<ConnectionRecord> {
  const nowSeconds = Math.floor(nowMs / 1000);
  const shard = async (n: number) => {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await doc.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': liveKeys.connectionPartition(n) },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return items;
  };
  const shards = await Promise.all(Array.from({ length: CONNECTION_SHARDS }, (_, n) => shard(n)));
  for (const item of shards.flat()) {
    if (Number(item[TTL]) <= nowSeconds) continue;
    yield toConnection(item);
  }
}
