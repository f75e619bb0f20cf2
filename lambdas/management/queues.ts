/**
 * A target's queues, found by name (core/queues.ts), their depths, and its event source mapping (pause / resume).
 */
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ListEventSourceMappingsCommand, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { orderingGroup } from '../../core/ordering';
import { targetQueueNames } from '../../core/queues';
import type { ManagementDeps } from './deps';

export interface QueueRef {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
}

const resolved = new Map<string, Promise<QueueRef>>();

async function queueRef(deps: ManagementDeps, name: string): Promise<QueueRef> {
  let ref = resolved.get(name);
  if (!ref) {
    ref = (async () => {
      const { QueueUrl } = await deps.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
      if (!QueueUrl) throw new Error(`queue ${name} has no URL`);
      const { Attributes } = await deps.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
      );
      return { name, url: QueueUrl, arn: Attributes?.QueueArn ?? '' };
    })();
    // A failed lookup is not cached: the next request tries again.
    ref.catch(() => resolved.delete(name));
    resolved.set(name, ref);
  }
  return ref;
}

export async function targetQueues(
  deps: ManagementDeps,
  target: string,
): Promise<{ queue: QueueRef; dlq: QueueRef }> {
  const ordered = deps.runtime.targets.find((t) => t.name === target)?.ordering !== undefined;
  const names = targetQueueNames(deps.queuePrefix, target, ordered);
  const [queue, dlq] = await Promise.all([queueRef(deps, names.queueName), queueRef(deps, names.dlqName)]);
  return { queue, dlq };
}

export async function depthOf(
  deps: ManagementDeps,
  url: string,
): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await deps.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return {
    visible:
      Number(Attributes.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/**
 * The age of the oldest message of a queue: SQS's API does not say it, CloudWatch does (AWS/SQS
 * ApproximateAgeOfOldestMessage, one datapoint a minute:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).
 * Null without a datapoint in the last 5 minutes, or without CloudWatch.
 */
export async function oldestMessageAge(deps: ManagementDeps, queueName: string): Promise<number | null> {
  if (!deps.cloudwatch) return null;
  const end = new Date(deps.now());
  const out = await deps.cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(end.getTime() - 5 * 60_000),
      EndTime: end,
      ScanBy: 'TimestampDescending',
      MetricDataQueries: [
        {
          Id: 'age',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/SQS',
              MetricName: 'ApproximateAgeOfOldestMessage',
              Dimensions: [{ Name: 'QueueName', Value: queueName }],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    }),
  );
  const value = out.MetricDataResults?.[0]?.Values?.[0];
  return value === undefined ? null : Math.round(value);
}

/** Enables or disables the event source mapping(s) that feed a target's delivery function from its queue. */
export async function setConsumption(
  deps: ManagementDeps,
  queueArn: string,
  enabled: boolean,
): Promise<number> {
  const out = await deps.lambda.send(new ListEventSourceMappingsCommand({ EventSourceArn: queueArn }));
  const mappings = out.EventSourceMappings ?? [];
  for (const mapping of mappings) {
    if (mapping.UUID)
      await deps.lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping.UUID, Enabled: enabled }));
  }
  return mappings.length;
}

/**
 * What a message to a target's queue needs besides its body: nothing for a standard queue; for an ordered target's
 * FIFO queue, the event's message group and a deduplication id of this round — the event id alone would make SQS drop
 * a redelivery sent within 5 minutes of the first send.
 */
export function fifoFields(
  deps: ManagementDeps,
  target: string,
  envelope: unknown,
  eventId: string,
  round: string,
): { MessageGroupId?: string; MessageDeduplicationId?: string } {
  const ordering = deps.runtime.targets.find((t) => t.name === target)?.ordering;
  if (!ordering) return {};
  // At most 128 characters: the event id (26) and the round (its kind and a ULID).
  return {
    MessageGroupId: orderingGroup(envelope, ordering.key),
    MessageDeduplicationId: `${eventId}:${round}`.slice(0, 128),
  };
}
