/**
 * Sweeper: republishes events that were stored but whose PutEvents failed (they still carry the `unpublished`
 * marker). Only events older than a grace period are taken, so an ingest still publishing is not raced.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { getStoredEvent, listUnpublished, markPublished, type StoredEvent } from '../shared/event-store';
import { publishEvents } from '../shared/publish';

export interface SweeperDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly eventBridge: EventBridgeClient;
  readonly tableName: string;
  readonly busName: string;
  readonly now: () => number;
  /** Events younger than this are left to the ingest that is storing them. */
  readonly graceMs: number;
  /** Most events republished per run. */
  readonly limit: number;
}

export async function sweepUnpublished(deps: SweeperDeps): Promise<{ republished: number; failed: number }> {
  const keys = await listUnpublished(deps.doc, deps.tableName, deps.now() - deps.graceMs, deps.limit);
  const events: StoredEvent[] = [];
  for (const key of keys) {
    const stored = await getStoredEvent(deps.doc, deps.tableName, key);
    if (stored && !stored.published) events.push(stored);
  }
  let republished = 0;
  let failed = 0;
  for (let i = 0; i < events.length; i += 10) {
    const batch = events.slice(i, i + 10);
    try {
      await publishEvents(deps.eventBridge, deps.busName, batch);
      for (const e of batch) await markPublished(deps.doc, deps.tableName, e.key);
      republished += batch.length;
    } catch {
      failed += batch.length;
    }
  }
  return { republished, failed };
}
