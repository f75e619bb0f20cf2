/**
 * Queue attributes: defaults, validation of CreateQueue/SetQueueAttributes input, and the numbers the store works
 * with. Ranges and defaults as the API reference gives them
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html):
 * DelaySeconds 0–900 (0), MaximumMessageSize 1,024–1,048,576 (1,048,576), MessageRetentionPeriod 60–1,209,600
 * (345,600), ReceiveMessageWaitTimeSeconds 0–20 (0), VisibilityTimeout 0–43,200 (30), RedrivePolicy
 * `{deadLetterTargetArn, maxReceiveCount 1–1000}` whose DLQ is of the same type; FifoQueue only at creation;
 * ContentBasedDeduplication, DeduplicationScope and FifoThroughputLimit only on FIFO queues.
 */
import { invalidParameter, SqsError } from './sqs-errors';
import { MAX_MESSAGE_BYTES } from './sqs-message';

export type QueueAttributes = Record<string, string>;

export interface RedrivePolicy {
  readonly deadLetterTargetArn: string;
  readonly maxReceiveCount: number;
}

/** The numbers and switches the store needs, read from a queue's attributes. */
export interface QueueConfig {
  readonly delaySeconds: number;
  readonly maximumMessageSize: number;
  readonly retentionSeconds: number;
  readonly receiveWaitSeconds: number;
  readonly visibilityTimeoutSeconds: number;
  readonly redrive: RedrivePolicy | undefined;
  readonly contentBasedDeduplication: boolean;
  readonly deduplicationScope: 'queue' | 'messageGroup';
}

const RANGES: Readonly<Record<string, readonly [number, number]>> = {
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1024, MAX_MESSAGE_BYTES],
  MessageRetentionPeriod: [60, 1_209_600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  VisibilityTimeout: [0, 43_200],
  KmsDataKeyReusePeriodSeconds: [60, 86_400],
};
const BOOLEANS = new Set(['SqsManagedSseEnabled', 'ContentBasedDeduplication', 'FifoQueue']);
const STRINGS = new Set(['Policy', 'KmsMasterKeyId', 'RedriveAllowPolicy']);
const FIFO_ONLY = new Set(['ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit']);

/** Attribute names GetQueueAttributes knows besides the settable ones. */
export const READ_ONLY_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
] as const;

export const SETTABLE_ATTRIBUTES = [
  ...Object.keys(RANGES),
  ...BOOLEANS,
  ...STRINGS,
  'RedrivePolicy',
  'DeduplicationScope',
  'FifoThroughputLimit',
] as const;

export function defaultAttributes(fifo: boolean): QueueAttributes {
  return {
    DelaySeconds: '0',
    MaximumMessageSize: String(MAX_MESSAGE_BYTES),
    MessageRetentionPeriod: '345600',
    ReceiveMessageWaitTimeSeconds: '0',
    VisibilityTimeout: '30',
    SqsManagedSseEnabled: 'true',
    ...(fifo
      ? {
          FifoQueue: 'true',
          ContentBasedDeduplication: 'false',
          DeduplicationScope: 'queue',
          FifoThroughputLimit: 'perQueue',
        }
      : {}),
  };
}

function invalidAttributeValue(name: string): SqsError {
  return new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${name}.`);
}

function unknownAttribute(name: string): SqsError {
  return new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
}

export interface AttributeContext {
  readonly fifo: boolean;
  readonly creating: boolean;
  /** Whether a queue with this ARN exists, and whether it is FIFO. */
  readonly lookupArn: (arn: string) => { fifo: boolean } | undefined;
}

/**
 * Validates attributes given to CreateQueue or SetQueueAttributes and returns them in canonical form (the strings
 * GetQueueAttributes answers with). An empty RedrivePolicy on SetQueueAttributes removes the policy ('' in the
 * result).
 */
export function normaliseAttributes(input: unknown, context: AttributeContext): QueueAttributes {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input))
    throw new SqsError('InvalidParameterValue', 'Attributes must be a map.');
  const out: QueueAttributes = {};
  for (const [name, raw] of Object.entries(input as Record<string, unknown>)) {
    const value = typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : raw;
    if (typeof value !== 'string') throw invalidAttributeValue(name);
    if (FIFO_ONLY.has(name) && !context.fifo) throw unknownAttribute(name);
    const range = RANGES[name];
    if (range) {
      if (!/^\d+$/.test(value.trim())) throw invalidAttributeValue(name);
      const n = Number(value.trim());
      if (n < range[0] || n > range[1]) throw invalidAttributeValue(name);
      out[name] = String(n);
    } else if (BOOLEANS.has(name)) {
      const lower = value.toLowerCase();
      if (lower !== 'true' && lower !== 'false') throw invalidAttributeValue(name);
      if (name === 'FifoQueue') {
        if (!context.creating) throw unknownAttribute(name);
        if ((lower === 'true') !== context.fifo) throw invalidAttributeValue(name);
      }
      out[name] = lower;
    } else if (STRINGS.has(name)) {
      out[name] = value;
    } else if (name === 'RedrivePolicy') {
      out[name] = value === '' && !context.creating ? '' : canonicalRedrivePolicy(value, context);
    } else if (name === 'DeduplicationScope') {
      if (value !== 'queue' && value !== 'messageGroup') throw invalidAttributeValue(name);
      out[name] = value;
    } else if (name === 'FifoThroughputLimit') {
      if (value !== 'perQueue' && value !== 'perMessageGroupId') throw invalidAttributeValue(name);
      out[name] = value;
    } else {
      throw unknownAttribute(name);
    }
  }
  return out;
}

function canonicalRedrivePolicy(value: string, context: AttributeContext): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw invalidParameter('RedrivePolicy', value, 'Redrive policy is not a valid JSON map.');
  }
  const policy = (parsed ?? {}) as Record<string, unknown>;
  const arn = policy.deadLetterTargetArn;
  if (typeof arn !== 'string' || arn === '')
    throw invalidParameter(
      'RedrivePolicy',
      value,
      'Redrive policy does not contain mandatory attribute: deadLetterTargetArn.',
    );
  const count = Number(policy.maxReceiveCount);
  if (policy.maxReceiveCount === undefined)
    throw invalidParameter(
      'RedrivePolicy',
      value,
      'Redrive policy does not contain mandatory attribute: maxReceiveCount.',
    );
  if (!Number.isInteger(count) || count < 1 || count > 1000)
    throw invalidParameter(
      'RedrivePolicy',
      value,
      `Invalid value for maxReceiveCount: ${String(policy.maxReceiveCount)}, valid values are from 1 to 1000 both inclusive.`,
    );
  const target = context.lookupArn(arn);
  if (!target) throw invalidParameter('RedrivePolicy', value, 'Dead letter target does not exist.');
  if (target.fifo !== context.fifo)
    throw invalidParameter(
      'RedrivePolicy',
      value,
      context.fifo
        ? 'Dead-letter target must be a FIFO queue.'
        : 'Dead-letter queue of a standard queue must also be a standard queue.',
    );
  return JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: count });
}

export function queueConfig(attributes: QueueAttributes): QueueConfig {
  const num = (name: string, fallback: number) => {
    const v = attributes[name];
    return v === undefined ? fallback : Number(v);
  };
  const redrive = attributes.RedrivePolicy
    ? (JSON.parse(attributes.RedrivePolicy) as RedrivePolicy)
    : undefined;
  return {
    delaySeconds: num('DelaySeconds', 0),
    maximumMessageSize: num('MaximumMessageSize', MAX_MESSAGE_BYTES),
    retentionSeconds: num('MessageRetentionPeriod', 345_600),
    receiveWaitSeconds: num('ReceiveMessageWaitTimeSeconds', 0),
    visibilityTimeoutSeconds: num('VisibilityTimeout', 30),
    redrive,
    contentBasedDeduplication: attributes.ContentBasedDeduplication === 'true',
    deduplicationScope: attributes.DeduplicationScope === 'messageGroup' ? 'messageGroup' : 'queue',
  };
}
