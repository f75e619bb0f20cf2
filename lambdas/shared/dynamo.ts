/**
 * DynamoDB requests of the stores (event-store.ts, live-store.ts) as low-level commands, marshalled here from plain
 * values. Why not the DocumentClient: the handlers' clients can then cache their resolved middleware
 * (`cacheMiddleware: true`, which lib-dynamodb refuses), skip the DocumentClient's marshalling middleware, and leave
 * lib-dynamodb out of every bundle — together about a tenth of a webhook's CPU in ingest (bench/cpu.bench.ts).
 *
 * A DynamoDBDocumentClient still works as the client (it sends low-level commands as they are): tests and tools that
 * hold one pass it unchanged. What is marshalled is what the stores write: strings, finite numbers, booleans, bytes,
 * null, lists and maps; `undefined` members are left out (the DocumentClient's `removeUndefinedValues`).
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The client the stores take: the handlers' low-level one, or a DocumentClient. */
export type DynamoClient = DynamoDBClient | DynamoDBDocumentClient;

export type Item = Record<string, unknown>;
type Key = Record<string, AttributeValue>;
/** Where a query continues: its `LastEvaluatedKey`, passed back as `ExclusiveStartKey` as it came. */
export type Cursor = Key;

export function toAttribute(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot store the number ${value}`);
    return { N: String(value) };
  }
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null) return { NULL: true };
  if (value instanceof Uint8Array) return { B: value };
  if (Array.isArray(value)) return { L: value.map(toAttribute) };
  if (typeof value === 'object') return { M: toItem(value as Item) };
  throw new Error(`cannot store a ${typeof value}`);
}

export function toItem(item: Item): Key {
  const out: Key = {};
  for (const name in item) {
    const value = item[name];
    if (value !== undefined) out[name] = toAttribute(value);
  }
  return out;
}

export function fromAttribute(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.B !== undefined) return value.B;
  if (value.NULL !== undefined) return null;
  if (value.L !== undefined) return value.L.map(fromAttribute);
  if (value.M !== undefined) return fromItem(value.M);
  if (value.SS !== undefined) return new Set(value.SS);
  if (value.NS !== undefined) return new Set(value.NS.map(Number));
  if (value.BS !== undefined) return new Set(value.BS);
  throw new Error('unknown DynamoDB attribute type');
}

export function fromItem(item: Key): Item {
  const out: Item = {};
  for (const name in item) out[name] = fromAttribute(item[name]!);
  return out;
}

/** Sends a low-level command through either kind of client (a DocumentClient passes it through unchanged). */
const send = <T>(client: DynamoClient, command: unknown): Promise<T> =>
  (client as unknown as { send(command: unknown): Promise<T> }).send(command);

type WithValues<T> = Omit<T, 'ExpressionAttributeValues'> & { ExpressionAttributeValues?: Item };
const values = (v: Item | undefined) => (v === undefined ? undefined : toItem(v));

export async function putItem(
  client: DynamoClient,
  input: WithValues<Omit<PutItemCommandInput, 'Item'>> & { Item: Item },
): Promise<void> {
  await send(
    client,
    new PutItemCommand({
      ...input,
      Item: toItem(input.Item),
      ExpressionAttributeValues: values(input.ExpressionAttributeValues),
    }),
  );
}

/** The item, or undefined when there is none. */
export async function getItem(
  client: DynamoClient,
  input: Omit<GetItemCommandInput, 'Key'> & { Key: Item },
): Promise<Item | undefined> {
  const out = await send<{ Item?: Key }>(client, new GetItemCommand({ ...input, Key: toItem(input.Key) }));
  return out.Item ? fromItem(out.Item) : undefined;
}

/** The item's attributes after the update when `ReturnValues` asks for them. */
export async function updateItem(
  client: DynamoClient,
  input: WithValues<Omit<UpdateItemCommandInput, 'Key'>> & { Key: Item },
): Promise<Item | undefined> {
  const out = await send<{ Attributes?: Key }>(
    client,
    new UpdateItemCommand({
      ...input,
      Key: toItem(input.Key),
      ExpressionAttributeValues: values(input.ExpressionAttributeValues),
    }),
  );
  return out.Attributes ? fromItem(out.Attributes) : undefined;
}

export async function deleteItem(
  client: DynamoClient,
  input: WithValues<Omit<DeleteItemCommandInput, 'Key'>> & { Key: Item },
): Promise<void> {
  await send(
    client,
    new DeleteItemCommand({
      ...input,
      Key: toItem(input.Key),
      ExpressionAttributeValues: values(input.ExpressionAttributeValues),
    }),
  );
}

/** One page of a query: its items, and the key to continue from (opaque: pass it back as ExclusiveStartKey). */
export async function queryPage(
  client: DynamoClient,
  input: WithValues<QueryCommandInput>,
): Promise<{ items: Item[]; next: Key | undefined }> {
  const out = await send<{ Items?: Key[]; LastEvaluatedKey?: Key }>(
    client,
    new QueryCommand({ ...input, ExpressionAttributeValues: values(input.ExpressionAttributeValues) }),
  );
  return { items: (out.Items ?? []).map(fromItem), next: out.LastEvaluatedKey };
}
