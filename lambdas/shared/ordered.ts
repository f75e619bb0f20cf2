/**
 * Ordered delivery (a target's `ordering`): whatever publishes an accepted event — ingest, the sweeper, the
 * management API's publish — also sends it to the FIFO queue of every ordered target whose filter matches, with the
 * message group taken from the event (core/ordering.ts). EventBridge cannot do it: a rule's SQS FIFO target takes one
 * literal MessageGroupId for every event
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-events-rule-sqsparameters.html).
 *
 * The message is what EventBridge would have written (the bus event, `detail` = the stored envelope text), so the
 * delivery function reads it like any other. Its deduplication id is the event id: a send repeated within SQS's
 * 5-minute deduplication interval (a publish retried by the sweeper) is accepted and dropped, so the target sees the
 * event once (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { orderingGroup } from '../../core/ordering';
import type { CompiledPattern } from '../../core/pattern';
import { targetQueueNames } from '../../core/queues';
import type { OrderedTargetRuntime } from '../../core/runtime-config';
import { accountOfQueueUrl, busEventBody, busEventOf } from './bus-event';
import type { SerializedEvent } from './event-store';

export interface OrderedSender {
  /** Sends each event to the ordered targets it matches. Resolves with the events not sent (by id) and why. */
  send(events: readonly SerializedEvent[]): Promise<Map<string, string>>;
}

/** The sender for the ordered targets of a runtime config, or undefined when there are none. */
export function orderedSender(options: {
  readonly targets: readonly OrderedTargetRuntime[];
  readonly queuePrefix: string | undefined;
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly region: string;
}): OrderedSender | undefined {
  if (options.targets.length === 0) return undefined;
  const { queuePrefix, sqs, region } = options;
  if (!queuePrefix)
    throw new Error('ordered targets need the queue prefix (the plan sets it in the environment)');
  const named = options.targets.map((t) => ({
    ...t,
    queueName: targetQueueNames(queuePrefix, t.name, true).queueName,
  }));
  // The pattern engine loads with the first send (a chunk of its own), not at every cold start.
  let compiled: Promise<((typeof named)[number] & { pattern: CompiledPattern })[]> | undefined;
  const compiledTargets = () => {
    compiled ??= import('../../core/pattern').then(({ compilePattern }) =>
      named.map((t) => ({ ...t, pattern: compilePattern(t.filter) })),
    );
    return compiled;
  };
  // Queue URLs by name, looked up once per execution environment (a failed lookup is tried again next time).
  const urls = new Map<string, Promise<string>>();
  const urlOf = (name: string) => {
    let url = urls.get(name);
    if (!url) {
      url = (async () => {
        const { GetQueueUrlCommand } = await import('./aws/sqs');
        const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
        if (!QueueUrl) throw new Error(`queue ${name} has no URL`);
        return QueueUrl;
      })();
      url.catch(() => urls.delete(name));
      urls.set(name, url);
    }
    return url;
  };

  return {
    async send(events) {
      const targets = await compiledTargets();
      const notSent = new Map<string, string>();
      // Groups of a target that a send failed for: the events behind it in this call wait too (not sent), so that
      // none overtakes it.
      const blocked = new Map<string, string>();
      // In order, one event after the other: two events of one group must reach the queue in the order accepted.
      for (const event of events) {
        const bus = busEventOf(event);
        for (const target of targets) {
          if (!target.pattern.matches(bus)) continue;
          const group = orderingGroup(event.envelope, target.key);
          const blocker = blocked.get(`${target.name}\n${group}`);
          if (blocker !== undefined) {
            notSent.set(event.envelope.id, `ordered target ${target.name}: waits behind ${blocker}`);
            break;
          }
          try {
            const { SendMessageCommand } = await import('./aws/sqs');
            const queueUrl = await urlOf(target.queueName);
            await sqs.send(
              new SendMessageCommand({
                QueueUrl: queueUrl,
                MessageBody: busEventBody(event, accountOfQueueUrl(queueUrl), region),
                MessageGroupId: group,
                MessageDeduplicationId: event.envelope.id,
              }),
            );
          } catch (error) {
            blocked.set(`${target.name}\n${group}`, event.envelope.id);
            notSent.set(
              event.envelope.id,
              `ordered target ${target.name}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
            );
            break;
          }
        }
      }
      return notSent;
    },
  };
}
