import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../core/contracts';
import { type TargetPlan, VISIBILITY_TIMEOUT_FACTOR } from '../core/plan';
import { toRuntimeTarget } from '../core/runtime-config';
import { toCdkPattern } from './event-pattern';
import { RouterFunction } from './router-function';

export interface DeliveryTargetProps {
  /** The planned target (core/plan.ts): pattern, queue and function settings. */
  readonly target: TargetPlan;
  readonly bus: IEventBus;
  /** Table that receives the delivery log. */
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
 * each event, signed per Standard Webhooks, and reports failed records as batch item failures.
 */
export class DeliveryTarget extends Construct {
  public readonly rule: Rule;
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly deliveryFunction: RouterFunction;
  public readonly signingSecret: ISecret;
  public readonly targetName: string;

  constructor(scope: Construct, id: string, props: DeliveryTargetProps) {
    super(scope, id);
    const { target } = props;
    this.targetName = target.name;
    const fnTimeout = target.deliveryFunction.timeoutSeconds;
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
      targets: [new SqsQueue(this.queue, { deadLetterQueue: this.deadLetterQueue })],
    });

    this.signingSecret = target.config.signingSecret
      ? Secret.fromSecretNameV2(this, 'SigningSecret', target.config.signingSecret.secretName)
      : new Secret(this, 'SigningSecret', {
          description: `Standard Webhooks signing secret of target ${target.name} (receivers use whsec_<value>)`,
          // 32 base64-alphabet characters decode to a 24-byte key, the Standard Webhooks minimum.
          generateSecretString: { passwordLength: 32, excludePunctuation: true, includeSpace: false },
        });

    this.deliveryFunction = new RouterFunction(this, 'Delivery', {
      entry: 'lambdas/delivery/handler.ts',
      description: `Delivers events to target ${target.name}`,
      serviceName: 'delivery',
      timeout: Duration.seconds(fnTimeout),
      memorySize: 512,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      environment: {
        [ENV.tableName]: props.table.tableName,
        // An imported secret's ARN is partial (no random suffix): pass its name, which GetSecretValue resolves exactly.
        [ENV.target]: JSON.stringify(
          toRuntimeTarget(target, target.config.signingSecret?.secretName ?? this.signingSecret.secretArn),
        ),
        [ENV.queueUrl]: this.queue.queueUrl,
      },
    });
    const fn = this.deliveryFunction.function;
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: target.deliveryFunction.batchSize,
        maxConcurrency: target.deliveryFunction.maxConcurrency,
        maxBatchingWindow:
          target.deliveryFunction.maxBatchingWindowSeconds > 0
            ? Duration.seconds(target.deliveryFunction.maxBatchingWindowSeconds)
            : undefined,
        reportBatchItemFailures: true,
      }),
    );
    props.table.grantWriteData(fn);
    props.payloadBucket.grantRead(fn);
    this.signingSecret.grantRead(fn);
  }
}
