import { Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { TargetConfigOf, TargetKind } from '../core/config';
import type { GrantTarget, ResourceRef, TargetPlan } from '../core/plan';
import { MAX_QUEUE_NAME_LENGTH, targetQueueNames, VISIBILITY_TIMEOUT_FACTOR } from '../core/queues';
import { kindPlanOf, sqsQueueUrl } from '../core/targets';
import { toCdkPattern } from './event-pattern';
import { RouterFunction } from './router-function';

export interface DeliveryTargetProps {
  /** The planned target (core/plan.ts): pattern, queue, event source and function settings. */
  readonly target: TargetPlan;
  readonly bus: IEventBus;
  /** Table that receives the delivery log, failure records and the target's state. */
  readonly table: ITable;
  /** Bucket holding payloads that travel by pointer; the delivery function resolves them. */
  readonly payloadBucket: IBucket;
  /**
   * Prefix of the queue names, `<prefix>-<target>` and `<prefix>-<target>-dlq` (core/queues.ts): the management
   * API finds a target's queues by name.
   * @default the name of the top-level stack (a nested stack's own name is generated at deploy)
   */
  readonly queuePrefix?: string;
  /**
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * @default 'INFO'
   */
  readonly logLevel?: string;
}

/** What a kind of target adds to its delivery function: environment values and the ARNs of its grants. */
interface KindResources {
  readonly refs: Partial<Record<ResourceRef, string>>;
  readonly grantResources: Partial<Record<GrantTarget, readonly string[]>>;
  /** The HTTP target's Standard Webhooks secret. */
  readonly signingSecret?: ISecret;
}

/**
 * Each kind's resources (core/targets.ts names its grants): an HTTP target has a signing secret, created here or
 * imported by name; the other kinds are ARNs from the config, in this account or another.
 */
const KIND_RESOURCES: {
  readonly [K in TargetKind]: (scope: Construct, target: TargetConfigOf<K>) => KindResources;
} = {
  http: (scope, target) => {
    const secret = target.signingSecret
      ? Secret.fromSecretNameV2(scope, 'SigningSecret', target.signingSecret.secretName)
      : new Secret(scope, 'SigningSecret', {
          description: `Standard Webhooks signing secret of target ${target.name} (receivers use whsec_<value>)`,
          // 32 base64-alphabet characters decode to a 24-byte key, the Standard Webhooks minimum.
          generateSecretString: { passwordLength: 32, excludePunctuation: true, includeSpace: false },
        });
    return {
      // An imported secret's ARN is partial (no random suffix): pass its name, which GetSecretValue resolves.
      refs: { signingSecret: target.signingSecret?.secretName ?? secret.secretArn },
      grantResources: { signingSecret: [secretArnForPolicies(secret, target.signingSecret !== undefined)] },
      signingSecret: secret,
    };
  },
  sqs: (_scope, target) => ({
    refs: { targetQueueUrl: sqsQueueUrl(target.queueArn) },
    grantResources: {
      targetResource: kindPlanOf(target).resourceArns(target),
      targetKmsKey: kindPlanOf(target).kmsKeyArns(target),
    },
  }),
  lambda: (_scope, target) => ({
    refs: {},
    grantResources: { targetResource: kindPlanOf(target).resourceArns(target) },
  }),
  eventbridge: (_scope, target) => ({
    refs: {},
    grantResources: { targetResource: kindPlanOf(target).resourceArns(target) },
  }),
};

/**
 * One target: EventBridge rule (the target's pattern) → SQS queue with its DLQ → delivery Lambda that hands each
 * event to the target (per its kind: a signed HTTP POST, an SQS message, a Lambda invoke, an EventBridge event) and
 * reports records that must come back as batch item failures. The function may pause its own event source mapping
 * (an HTTP target answered 410 Gone, or its breaker opened).
 */
export class DeliveryTarget extends Construct {
  /** The rule that feeds the queue from the bus (none for an ordered target: its publishers send to it). */
  public readonly rule?: Rule;
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly deliveryFunction: RouterFunction;
  /** The Standard Webhooks signing secret of an HTTP target. */
  public readonly signingSecret?: ISecret;
  public readonly targetName: string;
  /** The event source mapping that feeds the function; disabled while the target is paused or gone. */
  public readonly eventSource: EventSourceMapping;
  /** The circuit breaker's probe schedule (absent without a breaker). */
  public readonly probeRule?: Rule;

  constructor(scope: Construct, id: string, props: DeliveryTargetProps) {
    super(scope, id);
    const { target } = props;
    this.targetName = target.name;
    const fnTimeout = target.function.timeoutSeconds;
    if (target.queue.visibilityTimeoutSeconds < fnTimeout * VISIBILITY_TIMEOUT_FACTOR) {
      throw new Error(
        `${this.node.path}: queue visibility timeout (${target.queue.visibilityTimeoutSeconds} s) must be at least ` +
          `${VISIBILITY_TIMEOUT_FACTOR} × the delivery function timeout (${fnTimeout} s)`,
      );
    }

    let root = Stack.of(this);
    while (root.nestedStackParent) root = root.nestedStackParent;
    const fifo = target.queue.fifo;
    const names = targetQueueNames(props.queuePrefix ?? root.stackName, target.name, fifo);
    if (names.dlqName.length > MAX_QUEUE_NAME_LENGTH) {
      throw new Error(
        `${this.node.path}: queue name ${names.dlqName} is ${names.dlqName.length} characters; SQS allows ` +
          `${MAX_QUEUE_NAME_LENGTH} (shorten the stack name or the target name)`,
      );
    }
    // Ordered delivery: FIFO queue and DLQ (a FIFO queue's dead-letter queue must be FIFO). Each sender gives the
    // deduplication id (the event id, or the event and round for a redelivery), so no content-based deduplication.
    const fifoProps = fifo ? { fifo: true, contentBasedDeduplication: false } : {};
    // High-throughput mode on the target's queue: the quota applies per message group, not to the whole queue
    // (300 calls/s per action otherwise): https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
    const highThroughput = fifo
      ? {
          deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
          fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
        }
      : {};
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...fifoProps,
      queueName: names.dlqName,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(target.dlq.retentionSeconds),
    });
    this.queue = new Queue(this, 'Queue', {
      ...fifoProps,
      ...highThroughput,
      queueName: names.queueName,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(target.queue.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(target.queue.retentionSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: target.queue.maxReceiveCount },
    });

    // An ordered target's queue is fed by whatever publishes the event (core/plan.ts, TargetPlan.ordering): a rule
    // could give it only one message group.
    this.rule = target.ordering
      ? undefined
      : new Rule(this, 'Rule', {
          eventBus: props.bus,
          description: `Events for target ${target.name}`,
          eventPattern: toCdkPattern(target.rulePattern),
          // EventBridge itself retries for 24 h; what it still cannot deliver lands in the target's DLQ.
          targets: [
            new SqsQueue(this.queue, {
              deadLetterQueue: this.deadLetterQueue,
              // Written out, not left to EventBridge's defaults: the plan owns them (and the local bus reads the same).
              retryAttempts: target.ruleTarget.maximumRetryAttempts,
              maxEventAge: Duration.seconds(target.ruleTarget.maximumEventAgeSeconds),
            }),
          ],
        });

    const kind = resourcesOf(this, target.config);
    this.signingSecret = kind.signingSecret;

    this.deliveryFunction = new RouterFunction(this, 'Delivery', {
      spec: target.function,
      refs: {
        eventsTable: props.table.tableName,
        payloadBucket: props.payloadBucket.bucketName,
        queueUrl: this.queue.queueUrl,
        deadLetterQueueUrl: this.deadLetterQueue.queueUrl,
        ...kind.refs,
      },
      grantResources: {
        eventsTable: [props.table.tableArn],
        payloadObjects: [props.payloadBucket.arnForObjects('payloads/*')],
        queue: [this.queue.queueArn],
        deadLetterQueue: [this.deadLetterQueue.queueArn],
        ...kind.grantResources,
      },
      logRetention: props.logRetention,
      logLevel: props.logLevel,
    });
    // The mapping without SqsEventSource, which would also grant sqs:GetQueueUrl: the plan grants what is used.
    this.eventSource = new EventSourceMapping(this, 'EventSource', {
      target: this.deliveryFunction.function,
      eventSourceArn: this.queue.queueArn,
      batchSize: target.eventSource.batchSize,
      maxConcurrency: target.eventSource.maxConcurrency,
      maxBatchingWindow:
        target.eventSource.maxBatchingWindowSeconds > 0
          ? Duration.seconds(target.eventSource.maxBatchingWindowSeconds)
          : undefined,
      reportBatchItemFailures: true,
    });
    // 410 Gone and the circuit breaker pause the target: the function disables (and the probe enables) its own
    // event source mapping.
    this.deliveryFunction.grantOwnEventSourceMapping(target.function, this.eventSource.eventSourceMappingArn);
    if (target.probeSchedule) {
      const probe = target.probeSchedule;
      this.probeRule = new Rule(this, 'ProbeSchedule', {
        description: `Circuit breaker probe of target ${target.name}`,
        schedule: Schedule.rate(Duration.seconds(probe.everySeconds)),
        targets: [
          new LambdaFunction(this.deliveryFunction.function, {
            event: RuleTargetInput.fromObject({ probe: true }),
            retryAttempts: probe.retryAttempts,
          }),
        ],
      });
      this.deliveryFunction.function.configureAsyncInvoke({
        retryAttempts: probe.asyncRetryAttempts,
        maxEventAge: Duration.seconds(probe.maxEventAgeSeconds),
      });
    }
  }
}

/**
 * The ARN to grant a secret by: a secret created here has a full ARN; one imported by name a partial one, which
 * Secrets Manager completes with `-` and six random characters.
 */
export function secretArnForPolicies(secret: ISecret, imported: boolean): string {
  return imported ? `${secret.secretArn}-??????` : secret.secretArn;
}

function resourcesOf<K extends TargetKind>(scope: Construct, target: TargetConfigOf<K>): KindResources {
  return (KIND_RESOURCES[target.kind as K] as (scope: Construct, target: TargetConfigOf<K>) => KindResources)(
    scope,
    target,
  );
}
