/**
 * EventBridge target: one PutEvents entry per event on another bus, possibly in another account (its resource
 * policy must let the delivery function's role put events). The entry is the event as it is on this router's bus:
 * Source `webhook.<source>`, DetailType = the event type, Detail = the event's JSON text.
 * A per-entry error the event causes (MalformedDetail, InvalidArgument) fails at once; any other is retried.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { eventBridgeSource } from '../../../core/contracts';
import { timeouts } from '../../shared/clients';
import { PERMANENT_ENTRY_ERRORS } from '../../shared/publish';
import { awsErrorText, regionOf, retryableAwsError } from './aws-errors';
import type { SenderFactory } from './types';

/** PutEvents: an entry (Time, Source, DetailType, Detail) of at most 1 MB since January 2026 (was 256 KB). */
export const MAX_ENTRY_BYTES = 1024 * 1024;

const clients = new Map<string, EventBridgeClient>();
const clientFor = (region: string) => {
  let client = clients.get(region);
  if (!client) {
    client = new EventBridgeClient({ ...timeouts.background, region });
    clients.set(region, client);
  }
  return client;
};

export const eventBridgeSender: SenderFactory<'eventbridge'> = (target) => {
  const client = clientFor(regionOf(target.eventBusArn));
  return {
    async send({ envelope, body, timeoutMs }) {
      const entry = {
        EventBusName: target.eventBusArn,
        Source: eventBridgeSource(envelope.source),
        DetailType: envelope.type,
        Detail: body,
        Time: new Date(envelope.receivedAt),
      };
      const size =
        14 + Buffer.byteLength(entry.Source) + Buffer.byteLength(entry.DetailType) + Buffer.byteLength(body);
      if (size > MAX_ENTRY_BYTES) {
        return { ok: false, retryable: false, error: `entry of ${size} bytes; PutEvents takes at most 1 MB` };
      }
      try {
        const out = await client.send(new PutEventsCommand({ Entries: [entry] }), {
          abortSignal: AbortSignal.timeout(Math.max(1, timeoutMs)),
        });
        const result = out.Entries?.[0];
        if (!out.FailedEntryCount && result?.EventId) {
          return { ok: true, retryable: true, response: `EventId ${result.EventId}` };
        }
        const code = result?.ErrorCode ?? 'Unknown';
        return {
          ok: false,
          retryable: !PERMANENT_ENTRY_ERRORS.has(code),
          error: `${code}: ${result?.ErrorMessage ?? 'the entry was not put'}`,
        };
      } catch (error) {
        return { ok: false, retryable: retryableAwsError(error), error: awsErrorText(error) };
      }
    },
  };
};
