/**
 * The EventBridge rule target used locally: an SQS queue (with the target DLQ), as every rule of the router has.
 * Queue messages carry the event's `detail` as the exact Detail text it was put with (busEventJson).
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { BusEvent } from '../../core/contracts';
import { busEventJson, type LocalRuleTarget } from './eventbridge';
import type { SqsSender } from './sqs';

export function sqsRuleTarget(options: {
  readonly ruleName: string;
  readonly pattern: unknown;
  /** The rule target's retry policy (core/plan.ts). */
  readonly retry?: LocalRuleTarget['retry'];
  /** An SQSClient, or LocalSqs.direct (the same queues without HTTP). */
  readonly client: SqsSender;
  readonly queueUrl: string;
  readonly queueArn: string;
  /** EventBridge target DLQ: where an event goes when it cannot be put on the queue. */
  readonly deadLetterQueueUrl?: string;
}): LocalRuleTarget {
  const { client } = options;
  return {
    name: options.ruleName,
    queueUrl: options.queueUrl,
    ...(options.deadLetterQueueUrl ? { deadLetterQueueUrl: options.deadLetterQueueUrl } : {}),
    pattern: options.pattern,
    durable: true,
    ...(options.retry ? { retry: options.retry } : {}),
    async deliver(event: BusEvent<unknown>) {
      await client.send(
        new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: busEventJson(event) }),
      );
    },
    ...(options.deadLetterQueueUrl
      ? {
          async deadLetter(event: BusEvent<unknown>, error: Error) {
            // Same attributes EventBridge puts on messages it dead-letters.
            await client.send(
              new SendMessageCommand({
                QueueUrl: options.deadLetterQueueUrl,
                MessageBody: busEventJson(event),
                MessageAttributes: {
                  RULE_ARN: { DataType: 'String', StringValue: `rule/${options.ruleName}` },
                  TARGET_ARN: { DataType: 'String', StringValue: options.queueArn },
                  ERROR_CODE: { DataType: 'String', StringValue: 'SQSError' },
                  ERROR_MESSAGE: {
                    DataType: 'String',
                    StringValue: error.message.slice(0, 256) || 'unknown',
                  },
                },
              }),
            );
          },
        }
      : {}),
  };
}
