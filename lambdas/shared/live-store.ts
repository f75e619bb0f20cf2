/**
 * Live-table operations: WebSocket connections and their subscriptions (layout: `LIVE_TABLE` in
 * core/contracts.ts). Kept apart from the event store so the WebSocket functions never touch stored events.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { LIVE_TABLE, liveKeys } from '../../core/contracts';
import { type Cursor, type DynamoClient, deleteItem, putItem, queryPage, updateItem } from './dynamo';

const TTL = LIVE_TABLE.ttlAttribute;

export interface ConnectionRecord {
  readonly connectionId: string;
  /** Subscription: an EventBridge pattern over the bus event. */
  readonly pattern: Record<string, unknown>;
  readonly connectedAt: string;
  readonly expiresAt: number;
}

export async function putConnection(
  doc: DynamoClient,
  tableName: string,
  connection: ConnectionRecord,
): Promise<void> {
  await putItem(doc, {
    TableName: tableName,
    Item: {
      ...liveKeys.connection(connection.connectionId),
      connectionId: connection.connectionId,
      pattern: JSON.stringify(connection.pattern),
      connectedAt: connection.connectedAt,
      [TTL]: connection.expiresAt,
    },
  });
}

export async function deleteConnection(
  doc: DynamoClient,
  tableName: string,
  connectionId: string,
): Promise<void> {
  await deleteItem(doc, { TableName: tableName, Key: liveKeys.connection(connectionId) });
}

/** Replaces a connection's subscription (and renews its TTL); `connectedAt` stays. False if it is gone. */
export async function updateSubscription(
  doc: DynamoClient,
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
  doc: DynamoClient,
  tableName: string,
  connectionId: string,
  expiresAt: number,
): Promise<boolean> {
  return conditionalUpdate(doc, tableName, connectionId, 'SET expiresAt = :e', { ':e': expiresAt });
}

async function conditionalUpdate(
  doc: DynamoClient,
  tableName: string,
  connectionId: string,
  expression: string,
  values: Record<string, unknown>,
): Promise<boolean> {
  try {
    await updateItem(doc, {
      TableName: tableName,
      Key: liveKeys.connection(connectionId),
      UpdateExpression: expression,
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: values,
    });
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
  doc: DynamoClient,
  tableName: string,
  connectionId: string,
  connectedBefore: string,
): Promise<boolean> {
  try {
    await deleteItem(doc, {
      TableName: tableName,
      Key: liveKeys.connection(connectionId),
      ConditionExpression: 'connectedAt < :before',
      ExpressionAttributeValues: { ':before': connectedBefore },
    });
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
  doc: DynamoClient,
  tableName: string,
  nowMs: number,
): AsyncGenerator<ConnectionRecord> {
  let startKey: Cursor | undefined;
  const nowSeconds = Math.floor(nowMs / 1000);
  do {
    const out = await queryPage(doc, {
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': liveKeys.connections },
      ExclusiveStartKey: startKey,
    });
    for (const item of out.items) {
      const expiresAt = Number(item[TTL]);
      if (expiresAt <= nowSeconds) continue;
      yield {
        connectionId: String(item.connectionId),
        pattern: JSON.parse(String(item.pattern)) as Record<string, unknown>,
        connectedAt: String(item.connectedAt),
        expiresAt,
      };
    }
    startKey = out.next;
  } while (startKey);
}
