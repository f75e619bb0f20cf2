import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { eventBridgeSource, LIVE_RESOURCE } from '../../core/contracts';
import type { SerializedEvent } from './event-store';
import type { LiveGate } from './live-gate';
import type { OrderedSender } from './ordered';

/**
 * PutEvents limits: 10 entries per call, and the summed entry size of one call — 1 MB since January 2026
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html; it was 256 KB). We keep the old
 * 256 KB per call: an inline envelope is at most 100 KB, and smaller calls fail smaller.
 */
export const MAX_ENTRIES_PER_CALL = 10;
export const MAX_BYTES_PER_CALL = 256 * 1024;

/**
 * Per-entry PutEvents error codes that will fail again however often the entry is sent: the event itself is at
 * fault. Every other code — ThrottlingException and InternalFailure, but also permission errors, which an operator
 * fixes without touching the event — is worth retrying later
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html).
 */
export const PERMANENT_ENTRY_ERRORS: ReadonlySet<string> = new Set([
  'MalformedDetail',
  'InvalidArgument',
  'RedactionFailure',
]);

/**
 * Builds the PutEvents entry of an event: Source `webhook.<source>`, DetailType = event type, Detail = envelope;
 * `live`: marked for the broadcast rule (LIVE_RESOURCE), while an agent may be connected.
 */
export function toBusEntry(event: SerializedEvent, busName: string, live = false) {
  return {
    EventBusName: busName,
    Source: eventBridgeSource(event.envelope.source),
    DetailType: event.envelope.type,
    Detail: event.json,
    Time: new Date(event.envelope.receivedAt),
    ...(live ? { Resources: [LIVE_RESOURCE] } : {}),
  };
}

/**
 * An entry's size as EventBridge counts it: 14 bytes for Time plus the UTF-8 bytes of Source, DetailType, Detail and
 * each of Resources (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html).
 */
export function entrySize(entry: ReturnType<typeof toBusEntry>): number {
  let size =
    14 +
    Buffer.byteLength(entry.Source) +
    Buffer.byteLength(entry.DetailType) +
    Buffer.byteLength(entry.Detail);
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource);
  return size;
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

export interface PublishFailure<T> {
  readonly event: T;
  readonly error: string;
  /** False when EventBridge refused the entry itself for good (see PERMANENT_ENTRY_ERRORS). */
  readonly transient: boolean;
}

export interface PublishOutcome<T> {
  readonly published: T[];
  readonly failed: PublishFailure<T>[];
}

/**
 * Publishes events in as few PutEvents calls as the limits allow, each call's entries marked for the broadcast rule
 * when `live` says, just before that call, that an agent may be connected. EventBridge accepts or rejects each entry on its
 * own, so the outcome is per event: callers mark exactly the published ones.
 */
export async function publishEvents<T extends SerializedEvent>(
  client: EventBridgeClient,
  busName: string,
  events: readonly T[],
  live?: LiveGate,
): Promise<PublishOutcome<T>> {
  const outcome: PublishOutcome<T> = { published: [], failed: [] };
  const entries = events.map((event) => ({ event, entry: toBusEntry(event, busName) }));
  // Batched by their size with the mark when it may be added (the larger); whether to mark is asked for each call,
  // just before it.
  const markBytes = live ? Buffer.byteLength(LIVE_RESOURCE) : 0;
  for (const batch of batchForPutEvents(entries, (e) => entrySize(e.entry) + markBytes)) {
    const marked = live ? await live.audience() : false;
    try {
      const out = await client.send(
        new PutEventsCommand({
          Entries: batch.map((e) => (marked ? { ...e.entry, Resources: [LIVE_RESOURCE] } : e.entry)),
        }),
      );
      batch.forEach(({ event }, i) => {
        const result = out.Entries?.[i];
        if (result?.EventId && !result.ErrorCode) outcome.published.push(event);
        else {
          const code = result?.ErrorCode ?? 'NoResult';
          outcome.failed.push({
            event,
            error: `${code}: ${result?.ErrorMessage ?? ''}`,
            transient: !PERMANENT_ENTRY_ERRORS.has(code),
          });
        }
      });
    } catch (error) {
      // The call failed as a whole (throttled, unavailable, timed out, a network error): nothing about the entries
      // themselves, so always worth retrying.
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      for (const { event } of batch) outcome.failed.push({ event, error: message, transient: true });
    }
  }
  return outcome;
}

/**
 * Publishes events, marked for live agents when the gate says one may be connected: to the ordered targets' FIFO queues first (when there are any), then to the bus. An event that
 * did not reach an ordered target's queue is not put on the bus either and counts as failed (transient): whoever
 * publishes it again sends it to both. In that order because a FIFO queue drops a repeated send (same
 * deduplication id) within 5 minutes, while the bus would deliver a repeat to every unordered target again.
 */
export async function publishAll<T extends SerializedEvent>(
  deps: {
    readonly eventBridge: EventBridgeClient;
    readonly busName: string;
    readonly ordered?: OrderedSender;
    /** Whether agents may be connected (absent: no live stream, never marked). */
    readonly live?: LiveGate;
  },
  events: readonly T[],
): Promise<PublishOutcome<T>> {
  if (!deps.ordered) return publishEvents(deps.eventBridge, deps.busName, events, deps.live);
  const notSent = await deps.ordered.send(events);
  const outcome = await publishEvents(
    deps.eventBridge,
    deps.busName,
    events.filter((e) => !notSent.has(e.envelope.id)),
    deps.live,
  );
  for (const event of events) {
    const error = notSent.get(event.envelope.id);
    if (error !== undefined) outcome.failed.push({ event, error, transient: true });
  }
  return outcome;
}
