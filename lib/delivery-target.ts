import { Duration, Stack } from 'aws-cdk-lib';
import {
  MathExpression,
  type MathExpressionOptions,
  Metric,
  type MetricOptions,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { COUNT_PERIOD_SECONDS, MIN_OUTCOMES_FOR_RATIO } from '../core/alarms';
import type { TargetConfigOf, TargetKind } from '../core/config';
import { DIMENSION, METRIC, METRICS_NAMESPACE } from '../core/metrics';
import type { GrantTarget, HandlerName, ResourceRef, TargetPlan } from '../core/plan';
import { MAX_QUEUE_NAME_LENGTH, targetQueueNames, VISIBILITY_TIMEOUT_FACTOR } from '../core/queues';
import { kindPlanOf, sqsQueueUrl } from '../core/targets';
import { toCdkPattern } from './event-pattern';
import { RouterFunction, tracingFor } from './router-function';

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
  /**
   * Share of invocations that log at DEBUG whatever the level.
   * @default 0
   */
  readonly logSampleRate?: number;
  /**
   * Handlers whose functions start X-Ray traces (Active); the delivery function is PassThrough unless listed.
   * @default - every handler (Active)
   */
  readonly activeTracing?: readonly HandlerName[];
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
      logSampleRate: props.logSampleRate,
      tracing: tracingFor(target.function, props.activeTracing),
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

  /**
   * A metric the delivery function emits for this target (Powertools EMF, namespace `EventRouter`, dimensions
   * `service` = delivery and `target`).
   * @default - sum over 5 minutes
   */
  public metric(metricName: string, props?: MetricOptions): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: 'delivery', [DIMENSION.target]: this.targetName },
      statistic: 'Sum',
      period: DEFAULT_PERIOD,
      ...props,
    });
  }

  /**
   * Attempts the target took.
   * @default - sum over 5 minutes
   */
  public metricDelivered(props?: MetricOptions): Metric {
    return this.metric(METRIC.deliverySucceeded, props);
  }

  /**
   * Events that failed for good: recorded in the event store and moved to the DLQ.
   * @default - sum over 5 minutes
   */
  public metricFailed(props?: MetricOptions): Metric {
    return this.metric(METRIC.deliveryFailed, props);
  }

  /**
   * Attempts that failed and will be retried.
   * @default - sum over 5 minutes
   */
  public metricRetrying(props?: MetricOptions): Metric {
    return this.metric(METRIC.deliveryRetrying, props);
  }

  /**
   * Times the target answered 410 Gone (and was paused).
   * @default - sum over 5 minutes
   */
  public metricGone(props?: MetricOptions): Metric {
    return this.metric(METRIC.targetGone, props);
  }

  /**
   * Times the circuit breaker opened.
   * @default - sum over 5 minutes
   */
  public metricBreakerOpened(props?: MetricOptions): Metric {
    return this.metric(METRIC.breakerOpened, props);
  }

  /**
   * 1 while the target's queue is paused (breaker open or half-open, 410 Gone), 0 once it is consumed again. Reported
   * on every change and by every breaker probe (each minute), not continuously: alarms on it keep their state while
   * no data arrives.
   * @default - maximum over 1 minute
   */
  public metricPaused(props?: MetricOptions): Metric {
    return this.metric(METRIC.targetPaused, { statistic: 'Maximum', period: Duration.minutes(1), ...props });
  }

  /**
   * Duration of one delivery attempt (the call to the target).
   * @default - p99 over 5 minutes
   */
  public metricDeliveryLatency(props?: MetricOptions): Metric {
    return this.metric(METRIC.deliveryLatency, { statistic: 'p99', ...props });
  }

  /**
   * Received by ingest → delivered to this target, retries and pauses included.
   * @default - p99 over 5 minutes
   */
  public metricEndToEndLatency(props?: MetricOptions): Metric {
    return this.metric(METRIC.endToEndLatency, { statistic: 'p99', ...props });
  }

  /**
   * Events that failed for good among those that finished (delivered or failed); 0 while fewer than
   * MIN_OUTCOMES_FOR_RATIO finished in the period. Metric math IF and FILL:
   * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
   * @default - over 5 minutes
   */
  public metricFailureRatio(props?: MathExpressionOptions): MathExpression {
    const period = props?.period ?? DEFAULT_PERIOD;
    const delivered = this.expressionId('delivered');
    const failed = this.expressionId('failed');
    return new MathExpression({
      expression: ratioOf(failed, [delivered, failed], MIN_OUTCOMES_FOR_RATIO),
      usingMetrics: {
        [delivered]: this.metricDelivered({ period }),
        [failed]: this.metricFailed({ period }),
      },
      label: `${this.targetName} failure ratio`,
      ...props,
      period,
    });
  }

  /**
   * Share of attempts the target took, in percent (retried and failed attempts count against it): how healthy the
   * target is right now, before any event fails for good.
   * @default - over 5 minutes
   */
  public metricSuccessRate(props?: MathExpressionOptions): MathExpression {
    const period = props?.period ?? DEFAULT_PERIOD;
    const delivered = this.expressionId('delivered');
    const retrying = this.expressionId('retrying');
    const failed = this.expressionId('failed');
    return new MathExpression({
      expression: `100 * ${ratioOf(delivered, [delivered, retrying, failed], 1)}`,
      usingMetrics: {
        [delivered]: this.metricDelivered({ period }),
        [retrying]: this.metricRetrying({ period }),
        [failed]: this.metricFailed({ period }),
      },
      label: this.targetName,
      ...props,
      period,
    });
  }

  /**
   * The id of one of this target's metrics inside an expression: one graph may chart several targets' expressions,
   * and ids must differ across them (lower-case start, letters, digits and `_`).
   */
  private expressionId(name: string): string {
    return `${name}_${this.targetName.replaceAll('-', '_')}`;
  }

  /**
   * Messages waiting in the target's queue (SQS ApproximateNumberOfMessagesVisible).
   * @default - maximum over 5 minutes
   */
  public metricQueueDepth(props?: MetricOptions): Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible(props);
  }

  /**
   * Messages in the target's dead-letter queue. SQS emits its metrics only while a queue is active
   * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html):
   * the DLQ alarm keeps its state when no data arrives.
   * @default - maximum over 5 minutes
   */
  public metricDlqDepth(props?: MetricOptions): Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible(props);
  }

  /**
   * Age of the oldest message in the target's queue (SQS ApproximateAgeOfOldestMessage, seconds). SQS leaves out a
   * message received three times or more and not deleted (one being retried): what stays old is what nobody receives —
   * a paused target, a consumer that does not run.
   * @default - maximum over 5 minutes
   */
  public metricOldestMessageAge(props?: MetricOptions): Metric {
    return this.queue.metricApproximateAgeOfOldestMessage(props);
  }
}

/** The default period of the metric methods, as aws-cdk-lib's own: 5 minutes. */
const DEFAULT_PERIOD = Duration.seconds(COUNT_PERIOD_SECONDS);

/** `IF(total >= min, failed / total, 0)` over FILLed series: a period without one of the counts is 0, not missing. */
const ratioOf = (part: string, whole: string[], minimum: number) => {
  const total = whole.map((m) => `FILL(${m}, 0)`).join(' + ');
  return `IF(${total} >= ${minimum}, FILL(${part}, 0) / (${total}), 0)`;
};

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
