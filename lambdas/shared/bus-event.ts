/**
 * The SQS message body of an event as EventBridge writes it to a rule's queue target: the bus event with `detail` =
 * the stored envelope text, spliced in (never re-serialised: integers beyond 2^53 keep their digits). What the
 * management API puts on a target's queue to redeliver, replay or redrive an event — the delivery function reads it
 * exactly like a message from the bus.
 */
import { randomUUID } from 'node:crypto';
import { eventBridgeSource } from '../../core/contracts';
import type { SerializedEvent } from './event-store';

/** The account of a queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`), as EventBridge fills it in. */
export const accountOfQueueUrl = (queueUrl: string) =>
  /\/(\d{12})\/[^/]+$/.exec(queueUrl)?.[1] ?? '000000000000';

export function busEventBody(event: SerializedEvent, account: string, region: string): string {
  const { envelope } = event;
  const head = JSON.stringify({
    version: '0',
    id: randomUUID(),
    'detail-type': envelope.type,
    source: eventBridgeSource(envelope.source),
    account,
    // EventBridge's `time`: ISO-8601 without fractional seconds.
    time: `${envelope.receivedAt.slice(0, 19)}Z`,
    region,
    resources: [],
  });
  return `${head.slice(0, -1)},"detail":${event.json}}`;
}

/** The bus event of an envelope, parsed (for matching an EventBridge pattern against it). */
export function busEventOf(event: SerializedEvent) {
  const { envelope } = event;
  return {
    version: '0',
    'detail-type': envelope.type,
    source: eventBridgeSource(envelope.source),
    time: `${envelope.receivedAt.slice(0, 19)}Z`,
    resources: [],
    detail: envelope,
  };
}
