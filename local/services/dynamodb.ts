/**
 * DynamoDB: dynalite in-process on 127.0.0.1 (in-memory unless `dataDir`), with the event-store table created from
 * the key layout in core/contracts.ts when it does not exist yet.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { TABLE, TABLE_INDEXES } from '../../core/contracts';
import { closeServer, LOOPBACK, listenOnLoopback, PortInUseError } from '../net';
import { LOCAL_REGION, localCredentials } from './aws-env';

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
   * Run the in-memory dynalite in its own worker thread (it is the costliest emulator per webhook: ~4 calls with
   * the whole item, indexes included). With `dataDir` it always runs in this thread (LevelDB's native binding).
   * @default true
   */
  readonly thread?: boolean;
}

export interface LocalDynamo {
  readonly endpoint: string;
  readonly port: number;
  /** A client bound to this endpoint (for tests and setup). */
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

export async function startLocalDynamo(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const settings = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  let port: number;
  let stopServer: () => Promise<void>;
  if (!options.dataDir && (options.thread ?? true)) {
    ({ port, stop: stopServer } = await startDynaliteThread(options.port ?? 0, settings));
  } else {
    if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
    const server = dynalite({ ...(options.dataDir ? { path: options.dataDir } : {}), ...settings });
    port = await listenOnLoopback(server, options.port ?? 0, 'DynamoDB (dynalite)');
    stopServer = () => closeServer(server);
  }
  const endpoint = `http://${LOOPBACK}:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
  return {
    endpoint,
    port,
    client,
    async stop() {
      client.destroy();
      await stopServer();
    },
  };
}

/** dynalite (in memory) listening on 127.0.0.1 inside a worker thread (./dynalite-worker.mjs). */
function startDynaliteThread(
  port: number,
  options: Record<string, unknown>,
): Promise<{ port: number; stop: () => Promise<void> }> {
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
        resolve({ port: m.port!, stop });
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

/** The event-store table exactly as the CDK construct declares it: keys and indexes from core/contracts.ts. */
export function eventTableDefinition(tableName: string): CreateTableCommandInput {
  const attributes = new Set<string>([TABLE.partitionKey, TABLE.sortKey]);
  for (const index of TABLE_INDEXES) attributes.add(index.partitionKey).add(index.sortKey);
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: TABLE_INDEXES.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: index.projection },
    })),
  };
}

/** Creates the event table unless it exists (e.g. persisted in `dataDir`). Returns true when it was created. */
export async function ensureEventTable(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return false;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await client.send(new CreateTableCommand(eventTableDefinition(tableName)));
  return true;
}
