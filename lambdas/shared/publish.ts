import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { eventBridgeSource } from '../../core/contracts';
import type { SerializedEvent } from './event-store';

export class PublishError extends Error {
  override name = 'PublishError';
}

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

/** Publishes events (≤ 10 per call, the PutEvents limit); throws PublishError if any entry failed. */
export async function publishEvents(
  client: EventBridgeClient,
  busName: string,
  events: readonly SerializedEvent[],
): Promise<void> {
  for (let i = 0; i < events.length; i += 10) {
    const batch = events.slice(i, i + 10);
    const out = await client.send(
      new PutEventsCommand({ Entries: batch.map((e) => toBusEntry(e, busName)) }),
    );
    if ((out.FailedEntryCount ?? 0) > 0) {
      const failed = (out.Entries ?? []).filter((e) => e.ErrorCode);
      throw new PublishError(
        `PutEvents failed for ${out.FailedEntryCount} of ${batch.length} entries: ${failed
          .map((e) => `${e.ErrorCode}: ${e.ErrorMessage}`)
          .join('; ')}`,
      );
    }
  }
}
