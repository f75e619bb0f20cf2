/** Real local AWS-compatible services for handler tests: dynalite for DynamoDB, the local EventBridge. */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeClient as Client } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BusEvent } from '../../core/contracts';
import { EVENTS_TABLE, LIVE_TABLE } from '../../core/contracts';
import type { FaultSwitch } from '../../local/faults';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { ensureTable, type LocalDynamo, startLocalDynamo } from '../../local/services/dynamodb';
import { type LocalEventBridge, startLocalEventBridge } from '../../local/services/eventbridge';

export interface LocalAws {
  readonly dynamo: LocalDynamo;
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The live table (connections). */
  readonly liveTableName: string;
  readonly bus: LocalEventBridge;
  readonly eventBridge: EventBridgeClient;
  readonly busName: string;
  /** Every event that reached the bus, in order. */
  readonly published: BusEvent<unknown>[];
  stop(): Promise<void>;
}

let tables = 0;

export async function startLocalAws(options: { faults?: FaultSwitch } = {}): Promise<LocalAws> {
  const dynamo = await startLocalDynamo({ ...(options.faults ? { faults: options.faults } : {}) });
  const tableName = `events-${++tables}`;
  const liveTableName = `live-${tables}`;
  await ensureTable(dynamo.client, tableName, EVENTS_TABLE);
  await ensureTable(dynamo.client, liveTableName, LIVE_TABLE);
  const published: BusEvent<unknown>[] = [];
  const busName = 'router-bus';
  const bus = await startLocalEventBridge({
    busName,
    ...(options.faults ? { faults: options.faults } : {}),
    rules: [
      {
        name: 'capture',
        pattern: { source: [{ prefix: 'webhook.' }] },
        deliver: async (e) => void published.push(e),
      },
    ],
  });
  const eventBridge = new Client({
    endpoint: bus.endpoint,
    region: LOCAL_REGION,
    credentials: localCredentials,
  });
  const doc = DynamoDBDocumentClient.from(dynamo.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return {
    dynamo,
    doc,
    tableName,
    liveTableName,
    bus,
    eventBridge,
    busName,
    published,
    async stop() {
      eventBridge.destroy();
      await bus.stop();
      await dynamo.stop();
    },
  };
}
