/**
 * DynamoDB: dynalite on 127.0.0.1 (in-memory unless `dataDir`), with the tables created from their layouts in
 * core/contracts.ts (exactly what the CDK constructs declare) when they do not exist yet. Two things dynalite does
 * not do are added here, so that local behaves like AWS where it matters:
 * - TTL: DynamoDB deletes expired items (up to ~2 days late; until then they are still read). Locally a sweep
 *   deletes them every `ttlSweepSeconds`.
 * - Faults: `faults` (the FaultSwitch's `dynamodb` entry) make calls fail as an outage or throttling would.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type { TableLayout } from '../../core/contracts';
import type { FaultSwitch } from '../faults';
import { closeServer, LOOPBACK, listenOnLoopback, PortInUseError } from '../net';
import { LOCAL_REGION, localCredentials } from './aws-env';
// @ts-expect-error plain .mjs shared with the worker thread (no types)
import { withFaults } from './dynalite-faults.mjs';

type Dynalite = (options: {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

export interface LocalDynamoOptions {
  /** @default 0 (random) */
  readonly port?: number;
  /** LevelDB directory; data survives restarts. In-memory when absent. */
  readonly dataDir?: string;
  /**
   * Run the in-memory dynalite in its own worker thread (it is the costliest emulator per webhook). With `dataDir`
   * it always runs in this thread (LevelDB's native binding).
   * @default true
   */
  readonly thread?: boolean;
  readonly faults?: FaultSwitch;
}

export interface LocalDynamo {
  readonly endpoint: string;
  readonly port: number;
  /** A client bound to this endpoint (for tests and setup). */
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

type FaultTarget = { set(fault: unknown): void };

export async function startLocalDynamo(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const settings = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  let port: number;
  let stopServer: () => Promise<void>;
  let faultTarget: FaultTarget;
  if (!options.dataDir && (options.thread ?? true)) {
    const thread = await startDynaliteThread(options.port ?? 0, settings);
    ({ port, stop: stopServer } = thread);
    faultTarget = { set: (fault) => thread.worker.postMessage({ type: 'fault', fault }) };
  } else {
    if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
    const server = dynalite({ ...(options.dataDir ? { path: options.dataDir } : {}), ...settings });
    faultTarget = withFaults(server) as FaultTarget;
    port = await listenOnLoopback(server, options.port ?? 0, 'DynamoDB (dynalite)');
    stopServer = () => closeServer(server);
  }
  const unsubscribe = options.faults?.subscribe((service, fault) => {
    if (service === 'dynamodb') faultTarget.set(fault);
  });
  const current = options.faults?.get('dynamodb');
  if (current) faultTarget.set(current);
  const endpoint = `http://${LOOPBACK}:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
  return {
    endpoint,
    port,
    client,
    async stop() {
      unsubscribe?.();
      client.destroy();
      await stopServer();
    },
  };
}

/** dynalite (in memory) listening on 127.0.0.1 inside a worker thread (./dynalite-worker.mjs). */
function startDynaliteThread(
  port: number,
  options: Record<string, unknown>,
): Promise<{ port: number; worker: Worker; stop: () => Promise<void> }> {
  const worker = new Worker(new URL('./dynalite-worker.mjs', import.meta.url), {
    workerData: { host: LOOPBACK, port, options },
    // Profiling hook, like the functions': e.g. EVENT_ROUTER_SERVICE_EXEC_ARGV='--cpu-prof --cpu-prof-dir=/tmp/prof'.
    execArgv: serviceExecArgv(),
  });
  const stop = async () => {
    const closed = new Promise<void>((resolve) => {
      worker.on('message', (m: { type?: string }) => m?.type === 'closed' && resolve());
      worker.once('exit', () => resolve());
    });
    worker.postMessage({ type: 'stop' });
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000))]);
    await worker.terminate();
  };
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      void worker.terminate();
      reject(error);
    };
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new Error(`dynalite thread exited with code ${code}`)));
    worker.on('message', (m: { type: string; port?: number; code?: string; message?: string }) => {
      if (m.type === 'listening') {
        worker.removeAllListeners('error');
        worker.removeAllListeners('exit');
        worker.on('error', () => {});
        resolve({ port: m.port!, worker, stop });
      } else if (m.type === 'error') {
        fail(
          m.code === 'EADDRINUSE'
            ? new PortInUseError(port, 'DynamoDB (dynalite)')
            : new Error(m.message ?? 'dynalite failed to listen'),
        );
      }
    });
  });
}

/** Node options of the emulator threads (profiling only); none by default. */
export function serviceExecArgv(): string[] {
  const raw = process.env.EVENT_ROUTER_SERVICE_EXEC_ARGV;
  return raw ? raw.split(/\s+/).filter(Boolean) : [];
}

/** A table exactly as the CDK construct declares it from the same layout (core/contracts.ts). */
export function tableDefinition(tableName: string, layout: TableLayout): CreateTableCommandInput {
  const attributes = new Set<string>([layout.partitionKey, layout.sortKey]);
  for (const index of layout.indexes) attributes.add(index.partitionKey).add(index.sortKey);
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: layout.partitionKey, KeyType: 'HASH' },
      { AttributeName: layout.sortKey, KeyType: 'RANGE' },
    ],
    ...(layout.indexes.length > 0
      ? {
          GlobalSecondaryIndexes: layout.indexes.map((index) => ({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
              { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
            ],
            Projection:
              index.include.length > 0
                ? { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.include] }
                : { ProjectionType: 'KEYS_ONLY' as const },
          })),
        }
      : {}),
  };
}

/** Creates a table unless it exists (e.g. persisted in `dataDir`). Returns true when it was created. */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  layout: TableLayout,
): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return false;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await client.send(new CreateTableCommand(tableDefinition(tableName, layout)));
  return true;
}

/**
 * Deletes the items whose TTL attribute (epoch seconds) has passed, as DynamoDB's TTL does. Bounded: at most
 * `maxItems` per call. Returns how many were deleted.
 */
export async function expireItems(
  client: DynamoDBClient,
  tableName: string,
  layout: TableLayout,
  nowMs: number,
  maxItems = 10_000,
): Promise<number> {
  let deleted = 0;
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: '#ttl < :now',
        ExpressionAttributeNames: {
          '#ttl': layout.ttlAttribute,
          '#pk': layout.partitionKey,
          '#sk': layout.sortKey,
        },
        ExpressionAttributeValues: { ':now': { N: String(Math.floor(nowMs / 1000)) } },
        ProjectionExpression: '#pk, #sk',
        ExclusiveStartKey: start,
      }),
    );
    const keys = page.Items ?? [];
    for (let i = 0; i < keys.length; i += 25) {
      await client.send(
        new BatchWriteItemCommand({
          RequestItems: { [tableName]: keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } })) },
        }),
      );
    }
    deleted += keys.length;
    start = page.LastEvaluatedKey;
  } while (start && deleted < maxItems);
  return deleted;
}
