/**
 * Sweeper: republishes events that were stored but whose PutEvents failed (they still carry the `unpublished`
 * marker). Only events older than a grace period are taken, so an ingest still publishing is not raced. EventBridge
 * accepts or rejects each entry on its own: exactly the published events are marked, the others counted, and an
 * event that keeps failing is set aside (poisoned) instead of blocking or looping.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  getStoredEvent,
  listUnpublished,
  markPublished,
  recordPublishFailure,
  type StoredEvent,
} from '../shared/event-store';
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
  /** Failed republish attempts after which an event is set aside for a human. */
  readonly poisonAfter: number;
  readonly onPoisoned?: (event: StoredEvent, error: string) => void;
}

export interface SweepResult {
  readonly republished: number;
  readonly failed: number;
  readonly poisoned: number;
}

export async function sweepUnpublished(deps: SweeperDeps): Promise<SweepResult> {
  const keys = await listUnpublished(deps.doc, deps.tableName, deps.now() - deps.graceMs, deps.limit);
  const events: StoredEvent[] = [];
  for (const key of keys) {
    const stored = await getStoredEvent(deps.doc, deps.tableName, key);
    if (stored && !stored.published) events.push(stored);
  }
  const { published, failed } = await publishEvents(deps.eventBridge, deps.busName, events);
  let republished = 0;
  for (const event of published) {
    // Marking can fail on its own; the event is then published again next run (consumers dedupe on its id).
    await markPublished(deps.doc, deps.tableName, event.key).then(
      () => republished++,
      () => undefined,
    );
  }
  let poisoned = 0;
  for (const { event, error } of failed) {
    const result = await recordPublishFailure(deps.doc, deps.tableName, event.key, deps.poisonAfter).catch(
      () => undefined,
    );
    if (result?.poisoned) {
      poisoned++;
      deps.onPoisoned?.(event, error);
    }
  }
  return { republished, failed: failed.length, poisoned };
}
