/**
 * Agent keys in the live table (layout: `LIVE_TABLE` in core/contracts.ts): created with a random secret that is
 * shown once and stored only as its SHA-256 (the secret is 256 random bits, so a fast hash is enough: nothing to
 * brute-force), checked in constant time, revoked by a timestamp. A key's live connections are indexed under the
 * key so that revocation can find and close them.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { formatAgentKey, parseAgentKey } from '../../core/agents';
import { LIVE_TABLE, liveKeys } from '../../core/contracts';

export interface AgentKeyRecord {
  readonly keyId: string;
  readonly name: string;
  /** EventBridge patterns the key's connections may subscribe within. */
  readonly patterns: Record<string, unknown>[];
  readonly maxConnections: number;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** A new key: its id, and the full text to hand to the agent once. */
export function newAgentKey(): { keyId: string; key: string; secretHash: string } {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, key: formatAgentKey(keyId, secret), secretHash: sha256(secret).toString('hex') };
}

const toRecord = (item: Record<string, unknown>): AgentKeyRecord => ({
  keyId: String(item.sk),
  name: String(item.name),
  patterns: JSON.parse(String(item.patterns)) as Record<string, unknown>[],
  maxConnections: Number(item.maxConnections),
  createdAt: String(item.createdAt),
  revokedAt: typeof item.revokedAt === 'string' ? item.revokedAt : null,
});

export async function putAgentKey(
  doc: DynamoDBDocumentClient,
  tableName: string,
  record: Omit<AgentKeyRecord, 'revokedAt'>,
  secretHash: string,
): Promise<void> {
  await doc.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        ...liveKeys.agent(record.keyId),
        name: record.name,
        patterns: JSON.stringify(record.patterns),
        maxConnections: record.maxConnections,
        createdAt: record.createdAt,
        secretHash,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
}

/** Every key, revoked ones included (one partition: keys are made by hand, a few hundred at most). */
export async function listAgentKeys(
  doc: DynamoDBDocumentClient,
  tableName: string,
): Promise<AgentKeyRecord[]> {
  const out: AgentKeyRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': liveKeys.agents },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) out.push(toRecord(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return out;
}

/**
 * The key a presented text names, when it is an agent key whose secret matches and that is not revoked. Why not
 * otherwise (never echoing the text).
 */
export async function verifyAgentKey(
  doc: DynamoDBDocumentClient,
  tableName: string,
  presented: string,
): Promise<{ ok: true; key: AgentKeyRecord } | { ok: false; reason: string }> {
  const parsed = parseAgentKey(presented);
  if (!parsed) return { ok: false, reason: 'not an agent key' };
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: liveKeys.agent(parsed.keyId), ConsistentRead: true }),
  );
  const stored = typeof Item?.secretHash === 'string' ? Buffer.from(Item.secretHash, 'hex') : undefined;
  const given = sha256(parsed.secret);
  if (!Item || !stored || stored.length !== given.length || !timingSafeEqual(stored, given))
    return { ok: false, reason: 'unknown agent key' };
  const key = toRecord(Item);
  if (key.revokedAt) return { ok: false, reason: `agent key ${key.keyId} was revoked at ${key.revokedAt}` };
  return { ok: true, key };
}

/** Marks a key revoked (it stays listed). The record after, or undefined when there is no such key. */
export async function revokeAgentKey(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keyId: string,
  at: string,
): Promise<AgentKeyRecord | undefined> {
  try {
    const out = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: liveKeys.agent(keyId),
        UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return out.Attributes ? toRecord(out.Attributes) : undefined;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
}

/** Records a connection under its key; it expires with API Gateway's 2-hour cap on a connection. */
export async function putAgentConnection(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keyId: string,
  connectionId: string,
  expiresAt: number,
): Promise<void> {
  await doc.send(
    new PutCommand({
      TableName: tableName,
      Item: { ...liveKeys.agentConnection(keyId, connectionId), [LIVE_TABLE.ttlAttribute]: expiresAt },
    }),
  );
}

export async function deleteAgentConnection(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keyId: string,
  connectionId: string,
): Promise<void> {
  await doc.send(
    new DeleteCommand({ TableName: tableName, Key: liveKeys.agentConnection(keyId, connectionId) }),
  );
}

/** The ids of a key's live connections (records past their TTL skipped: DynamoDB deletes them lazily). */
export async function agentConnectionIds(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keyId: string,
  nowMs: number,
): Promise<string[]> {
  const ids: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': liveKeys.agentConnections(keyId) },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? [])
      if (Number(item[LIVE_TABLE.ttlAttribute]) > Math.floor(nowMs / 1000)) ids.push(String(item.sk));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return ids;
}
