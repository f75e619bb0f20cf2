/**
 * SQS target: one SendMessage per event to a queue, possibly in another account (its queue policy must let the
 * delivery function's role send). The body is the event's JSON text; attributes carry the event id (`webhook-id`, as
 * HTTP targets get it), source and type. A FIFO queue gets the event's subject (else its source) as the message
 * group and the event id as the deduplication id, so a retried send within SQS's 5-minute window is not a copy.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ENV } from '../../../core/contracts';
import { timeouts } from '../../shared/clients';
import { awsErrorText, regionOf, retryableAwsError } from './aws-errors';
import type { SenderFactory } from './types';

/** SQS's message size limit: 1 MiB, body and attributes together (since August 2025; it was 256 KiB). */
export const MAX_SQS_MESSAGE_BYTES = 1024 * 1024;

const clients = new Map<string, SQSClient>();
const clientFor = (region: string) => {
  let client = clients.get(region);
  if (!client) {
    client = new SQSClient({ ...timeouts.background, region });
    clients.set(region, client);
  }
  return client;
};

export const sqsSender: SenderFactory<'sqs'> = (target, context) => {
  // From the ARN on AWS, the local queue locally (the plan's TARGET_QUEUE_URL).
  const queueUrl = context.env[ENV.targetQueueUrl];
  if (!queueUrl) throw new Error(`Missing required environment variable ${ENV.targetQueueUrl}`);
  const fifo = target.queueArn.endsWith('.fifo');
  const client = clientFor(regionOf(target.queueArn));
  return {
    async send({ envelope, body, timeoutMs }) {
      const text = (value: string) => ({ DataType: 'String', StringValue: value });
      const attributes = {
        'webhook-id': text(envelope.id),
        source: text(envelope.source),
        type: text(envelope.type),
      };
      const size =
        Buffer.byteLength(body) +
        Object.entries(attributes).reduce(
          (n, [k, v]) => n + k.length + v.DataType.length + v.StringValue.length,
          0,
        );
      if (size > MAX_SQS_MESSAGE_BYTES) {
        return { ok: false, retryable: false, error: `message of ${size} bytes; SQS takes at most 1 MiB` };
      }
      try {
        const out = await client.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: body,
            MessageAttributes: attributes,
            ...(fifo
              ? { MessageGroupId: envelope.subject ?? envelope.source, MessageDeduplicationId: envelope.id }
              : {}),
          }),
          { abortSignal: AbortSignal.timeout(Math.max(1, timeoutMs)) },
        );
        return { ok: true, retryable: true, response: `MessageId ${out.MessageId ?? '?'}` };
      } catch (error) {
        return { ok: false, retryable: retryableAwsError(error), error: awsErrorText(error) };
      }
    },
  };
};
