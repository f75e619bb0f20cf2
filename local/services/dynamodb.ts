/**
 * DynamoDB: dynalite in-process on 127.0.0.1 (in-memory unless `dataDir`), with the event-store table created from
 * the key layout in core/contracts.ts when it does not exist yet.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../core/contracts';
import { closeServer, LOOPBACK, listenOnLoopback } from '../net';
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
}

export interface LocalDynamo {
  readonly endpoint: string;
  readonly port: number;
  /** A client bound to this endpoint (for tests and setup). */
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

export async function startLocalDynamo(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const server = dynalite({
    ...(options.dataDir ? { path: options.dataDir } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const port = await listenOnLoopback(server, options.port ?? 0, 'DynamoDB (dynalite)');
  const endpoint = `http://${LOOPBACK}:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
  return {
    endpoint,
    port,
    client,
    async stop() {
      client.destroy();
      await closeServer(server);
    },
  };
}

/** The event-store table as the CDK stack declares it (core/contracts.ts TABLE). */
export function eventTableDefinition(tableName: string): CreateTableCommandInput {
  const all = { ProjectionType: 'ALL' } as const;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE.sortKey, AttributeType: 'S' },
      { AttributeName: 'gsi1pk', AttributeType: 'S' },
      { AttributeName: 'gsi1sk', AttributeType: 'S' },
      { AttributeName: 'gsi2pk', AttributeType: 'S' },
      { AttributeName: 'gsi2sk', AttributeType: 'S' },
      { AttributeName: 'unpublished', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: TABLE.bySourceIndex,
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: all,
      },
      {
        IndexName: TABLE.byTypeIndex,
        KeySchema: [
          { AttributeName: 'gsi2pk', KeyType: 'HASH' },
          { AttributeName: 'gsi2sk', KeyType: 'RANGE' },
        ],
        Projection: all,
      },
      {
        IndexName: TABLE.unpublishedIndex,
        KeySchema: [
          { AttributeName: 'unpublished', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: all,
      },
    ],
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
