import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type TargetPlan, VISIBILITY_TIMEOUT_FACTOR } from '../core/plan';
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
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * @default 'INFO'
   */
  readonly logLevel?: string;
}

/**
 * One HTTP target: EventBridge rule (the target's pattern) → SQS queue with its DLQ → delivery Lambda that POSTs
 * each event, signed per Standard Webhooks, and reports records that must come back as batch item failures. The
 * function may pause its own event source mapping (the target answered 410 Gone).
 */
export class DeliveryTarget extends Construct {
  public readonly rule: Rule;
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly deliveryFunction: RouterFunction;
  public readonly signingSecret: ISecret;
  public readonly targetName: string;
  /** The event source mapping that feeds the function; disabled while the target is paused or gone. */
  public readonly eventSource: EventSourceMapping;

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

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(target.dlq.retentionSeconds),
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(target.queue.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(target.queue.retentionSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: target.queue.maxReceiveCount },
    });

    this.rule = new Rule(this, 'Rule', {
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

    this.signingSecret = target.config.signingSecret
      ? Secret.fromSecretNameV2(this, 'SigningSecret', target.config.signingSecret.secretName)
      : new Secret(this, 'SigningSecret', {
          description: `Standard Webhooks signing secret of target ${target.name} (receivers use whsec_<value>)`,
          // 32 base64-alphabet characters decode to a 24-byte key, the Standard Webhooks minimum.
          generateSecretString: { passwordLength: 32, excludePunctuation: true, includeSpace: false },
        });

    this.deliveryFunction = new RouterFunction(this, 'Delivery', {
      spec: target.function,
      refs: {
        eventsTable: props.table.tableName,
        payloadBucket: props.payloadBucket.bucketName,
        queueUrl: this.queue.queueUrl,
        deadLetterQueueUrl: this.deadLetterQueue.queueUrl,
        // An imported secret's ARN is partial (no random suffix): pass its name, which GetSecretValue resolves.
        signingSecret: target.config.signingSecret?.secretName ?? this.signingSecret.secretArn,
      },
      grantResources: {
        eventsTable: [props.table.tableArn],
        payloadObjects: [props.payloadBucket.arnForObjects('payloads/*')],
        queue: [this.queue.queueArn],
        deadLetterQueue: [this.deadLetterQueue.queueArn],
        signingSecret: [secretArnForPolicies(this.signingSecret, target.config.signingSecret !== undefined)],
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
    // 410 Gone pauses the target: the function disables its own event source mapping.
    this.deliveryFunction.grantOwnEventSourceMapping(target.function, this.eventSource.eventSourceMappingArn);
  }
}

/**
 * The ARN to grant a secret by: a secret created here has a full ARN; one imported by name a partial one, which
 * Secrets Manager completes with `-` and six random characters.
 */
export function secretArnForPolicies(secret: ISecret, imported: boolean): string {
  return imported ? `${secret.secretArn}-??????` : secret.secretArn;
}
