import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type Envelope, eventBridgeSource } from '../../core/contracts';

export class PublishError extends Error {
  override name = 'PublishError';
}

/** Builds the PutEvents entry of an envelope: Source `webhook.<source>`, DetailType = event type. */
export function toBusEntry(envelope: Envelope, busName: string) {
  return {
    EventBusName: busName,
    Source: eventBridgeSource(envelope.source),
    DetailType: envelope.type,
    Detail: JSON.stringify(envelope),
    Time: new Date(envelope.receivedAt),
  };
}

/** Publishes envelopes (≤ 10 per call, the PutEvents limit); throws PublishError if any entry failed. */
export async function publishEnvelopes(
  client: EventBridgeClient,
  busName: string,
  envelopes: readonly Envelope[],
): Promise<void> {
  for (let i = 0; i < envelopes.length; i += 10) {
    const batch = envelopes.slice(i, i + 10);
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
