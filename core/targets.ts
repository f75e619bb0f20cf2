/**
 * What each kind of target adds to its delivery function in the plan: the grants and environment its sender needs,
 * and the ARNs those grants are on. The delivery function is otherwise the same for every kind (queue, DLQ,
 * delivery log, retries, breaker, rate limit, transform); `lib/` and `local/` turn these into resources.
 */
import type { TargetConfigOf, TargetKind } from './config';
import { ENV } from './contracts';
import type { EnvValue, Grant } from './plan';

export interface TargetKindPlan<K extends TargetKind> {
  /** Grants of the kind's sender (on `targetResource`: `resourceArns`; on `targetKmsKey`: `kmsKeyArns`). */
  grants(target: TargetConfigOf<K>): Grant[];
  /** Environment of the kind's sender. */
  environment(target: TargetConfigOf<K>): Record<string, EnvValue>;
  /** ARNs of what the target is, from its config (nothing for an HTTP URL). */
  resourceArns(target: TargetConfigOf<K>): string[];
  /** KMS keys the sender encrypts with. */
  kmsKeyArns(target: TargetConfigOf<K>): string[];
  /** One line naming the target, for logs and the local banner. */
  describe(target: TargetConfigOf<K>): string;
}

export const TARGET_KIND_PLANS: { readonly [K in TargetKind]: TargetKindPlan<K> } = {
  http: {
    grants: () => [{ actions: ['secretsmanager:GetSecretValue'], on: 'signingSecret' }],
    environment: () => ({ [ENV.signingSecret]: { ref: 'signingSecret' } }),
    resourceArns: () => [],
    kmsKeyArns: () => [],
    describe: (t) => t.url,
  },
  sqs: {
    grants: (t) => [
      { actions: ['sqs:SendMessage'], on: 'targetResource' },
      // SendMessage to a queue encrypted with a customer managed key needs the key (AWS: "kms:GenerateDataKey and
      // kms:Decrypt", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
      ...(t.kmsKeyArn
        ? [{ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], on: 'targetKmsKey' as const }]
        : []),
    ],
    environment: () => ({ [ENV.targetQueueUrl]: { ref: 'targetQueueUrl' } }),
    resourceArns: (t) => [t.queueArn],
    kmsKeyArns: (t) => (t.kmsKeyArn ? [t.kmsKeyArn] : []),
    describe: (t) => `SQS queue ${t.queueArn}`,
  },
  lambda: {
    grants: () => [{ actions: ['lambda:InvokeFunction'], on: 'targetResource' }],
    environment: () => ({}),
    resourceArns: (t) => [t.functionArn],
    kmsKeyArns: () => [],
    describe: (t) => `Lambda function ${t.functionArn} (${t.invocationType})`,
  },
  eventbridge: {
    grants: () => [{ actions: ['events:PutEvents'], on: 'targetResource' }],
    environment: () => ({}),
    resourceArns: (t) => [t.eventBusArn],
    kmsKeyArns: () => [],
    describe: (t) => `EventBridge bus ${t.eventBusArn}`,
  },
};

/** `https://sqs.<region>.<domain>/<account>/<name>`: the URL of a queue, from its ARN. */
export function sqsQueueUrl(queueArn: string): string {
  const [, partition, , region, account, name] = queueArn.split(':');
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

/** The plan of a target's kind, typed for that target. */
export function kindPlanOf<K extends TargetKind>(target: TargetConfigOf<K>): TargetKindPlan<K> {
  return TARGET_KIND_PLANS[target.kind as K];
}
