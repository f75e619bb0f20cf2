import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { eventBridgeSource } from '../../core/contracts';
import type { SerializedEvent } from './event-store';

/** PutEvents limits: entries per call, and the summed entry size of one call (AWS user guide, "PutEvents"). */
export const MAX_ENTRIES_PER_CALL = 10;
export const MAX_BYTES_PER_CALL = 256 * 1024;

/** Builds the PutEvents entry of an event: Source `webhook.<source>`, DetailType = event type, Detail = envelope. */
export function toBusEntry(event: SerializedEvent, busName: string) {
  return {
    EventBusName: busName,
    Source: eventBridgeSource(event.envelope.source),
    DetailType: event.envelope.type,
    Detail: event.json,
    Time: new Date(event.envelope.receivedAt),
  };
}

/** An entry's size as EventBridge counts it: 14 bytes for Time plus the UTF-8 bytes of Source, DetailType, Detail. */
export function entrySize(entry: ReturnType<typeof toBusEntry>): number {
  return (
    14 +
    Buffer.byteLength(entry.Source) +
    Buffer.byteLength(entry.DetailType) +
    Buffer.byteLength(entry.Detail)
  );
}

/** Groups entries into PutEvents calls that respect both the count and the size limit. */
export function batchForPutEvents<T>(items: readonly T[], size: (item: T) => number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const itemBytes = size(item);
    if (
      current.length > 0 &&
      (current.length === MAX_ENTRIES_PER_CALL || bytes + itemBytes > MAX_BYTES_PER_CALL)
    ) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += itemBytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export interface PublishOutcome<T> {
  readonly published: T[];
  readonly failed: { readonly event: T; readonly error: string }[];
}

/**
 * Publishes events in as few PutEvents calls as the limits allow. EventBridge accepts or rejects each entry on its
 * own, so the outcome is per event: callers mark exactly the published ones.
 */
export async function publishEvents<T extends SerializedEvent>(
  client: EventBridgeClient,
  busName: string,
  events: readonly T[],
): Promise<PublishOutcome<T>> {
  const outcome: PublishOutcome<T> = { published: [], failed: [] };
  const entries = events.map((event) => ({ event, entry: toBusEntry(event, busName) }));
  for (const batch of batchForPutEvents(entries, (e) => entrySize(e.entry))) {
    try {
      const out = await client.send(new PutEventsCommand({ Entries: batch.map((e) => e.entry) }));
      batch.forEach(({ event }, i) => {
        const result = out.Entries?.[i];
        if (result?.EventId && !result.ErrorCode) outcome.published.push(event);
        else
          outcome.failed.push({
            event,
            error: `${result?.ErrorCode ?? 'NoResult'}: ${result?.ErrorMessage ?? ''}`,
          });
      });
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      for (const { event } of batch) outcome.failed.push({ event, error: message });
    }
  }
  return outcome;
}
