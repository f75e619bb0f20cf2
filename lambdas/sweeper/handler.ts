/** Sweeper Lambda, on a schedule: republish stored-but-unpublished events. */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { ENV } from '../../core/contracts';
import { requireEnv } from '../shared/env';
import { logger } from '../shared/observability';
import { type SweeperDeps, type SweepResult, sweepUnpublished } from './sweeper';

const deps: SweeperDeps = {
  doc: DynamoDBDocumentClient.from(new DynamoDBClient({})),
  eventBridge: new EventBridgeClient({}),
  tableName: requireEnv(ENV.tableName),
  busName: requireEnv(ENV.busName),
  now: Date.now,
  graceMs: 60_000,
  limit: 500,
  poisonAfter: 10,
  onPoisoned: (event, error) =>
    logger.error('event set aside after repeated publish failures', { eventId: event.envelope.id, error }),
};

export async function handler(_event: unknown, context: Context): Promise<SweepResult> {
  logger.addContext(context);
  const result = await sweepUnpublished(deps);
  if (result.republished + result.failed > 0) logger.info('sweep', { ...result });
  return result;
}
