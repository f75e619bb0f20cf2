/**
 * The local stack and the CDK stack are built from the same plan. This test derives the normalised topology
 * (rules and their patterns, queues, DLQs, retry counts, event sources) from the synthesized CloudFormation and
 * asserts it equals what the local runtime builds (`normaliseTopology`; test/e2e/pipeline.test.ts checks that the
 * running local stack matches it too).
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseRouterConfig, type RouterConfigInput } from '../../core/config';
import { planTopology } from '../../core/plan';
import {
  canonicalPattern,
  type NormalisedEventSource,
  type NormalisedQueue,
  type NormalisedRule,
  type NormalisedTopology,
  normaliseTopology,
} from '../../local/topology';
import exampleConfig from '../../router.config';
import { synthRouter } from '../support/cdk';

type Resource = { Type: string; Properties: Record<string, any>; Metadata?: Record<string, string> };

/** Logical id → construct path, from the `aws:cdk:path` metadata. */
function pathOf(resources: Record<string, Resource>, logicalId: string): string {
  const path = resources[logicalId]?.Metadata?.['aws:cdk:path'];
  if (!path) throw new Error(`no construct path for ${logicalId}`);
  return path;
}

const getAttId = (value: unknown): string => {
  const ref = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  if (!ref) throw new Error(`expected Fn::GetAtt, got ${JSON.stringify(value)}`);
  return ref[0];
};

/** `Router/Target-pr-agent/Queue/Resource` → target `pr-agent`; the live stream's resources → `broadcast`. */
function ownerOf(path: string): string {
  const target = /\/Target-([a-z0-9-]+)\//.exec(path);
  if (target) return target[1]!;
  if (path.includes('/LiveStream/')) return 'broadcast';
  throw new Error(`resource ${path} belongs to no target`);
}

function fromTemplate(template: Template): NormalisedTopology {
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const owner = (logicalId: string) => ownerOf(pathOf(resources, logicalId));

  const rules: NormalisedRule[] = ofType('AWS::Events::Rule')
    .filter(([, r]) => r.Properties.EventPattern)
    .map(([, r]) => {
      const [target] = r.Properties.Targets as { Arn: unknown; DeadLetterConfig?: { Arn: unknown } }[];
      const targetId = getAttId(target!.Arn);
      const isQueue = resources[targetId]?.Type === 'AWS::SQS::Queue';
      const name = owner(targetId);
      return {
        name: isQueue ? `target:${name}` : 'broadcast',
        pattern: canonicalPattern(r.Properties.EventPattern),
        target: isQueue ? { kind: 'queue', target: name } : { kind: 'function', function: 'broadcast' },
        deadLetterQueue: owner(getAttId(target!.DeadLetterConfig?.Arn)),
      } as NormalisedRule;
    });

  const queues: NormalisedQueue[] = ofType('AWS::SQS::Queue')
    .filter(([, q]) => q.Properties.RedrivePolicy)
    .map(([id, q]) => {
      const dlq = resources[getAttId(q.Properties.RedrivePolicy.deadLetterTargetArn)]!;
      return {
        target: owner(id),
        visibilityTimeoutSeconds: q.Properties.VisibilityTimeout,
        retentionSeconds: q.Properties.MessageRetentionPeriod,
        maxReceiveCount: q.Properties.RedrivePolicy.maxReceiveCount,
        dlq: { retentionSeconds: dlq.Properties.MessageRetentionPeriod },
      };
    });

  const eventSources: NormalisedEventSource[] = ofType('AWS::Lambda::EventSourceMapping').map(([, m]) => {
    expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    return {
      target: owner(getAttId(m.Properties.EventSourceArn)),
      batchSize: m.Properties.BatchSize,
      maxConcurrency: m.Properties.ScalingConfig.MaximumConcurrency,
      maxBatchingWindowSeconds: m.Properties.MaximumBatchingWindowInSeconds ?? 0,
      reportBatchItemFailures: true,
    };
  });

  const byName =
    <T>(key: (t: T) => string) =>
    (a: T, b: T) =>
      key(a).localeCompare(key(b));
  return {
    rules: rules.sort(byName((r) => r.name)),
    queues: queues.sort(byName((q) => q.target)),
    eventSources: eventSources.sort(byName((e) => e.target)),
  };
}

const threeTargets: RouterConfigInput = {
  ...exampleConfig,
  targets: [
    ...exampleConfig.targets!,
    {
      name: 'billing',
      kind: 'http',
      url: 'https://billing.example/hooks',
      filter: {
        $or: [
          { 'detail-type': ['invoice.paid'] },
          { detail: { data: { amount: [{ numeric: ['>', 100] }] } } },
        ],
      },
      retry: { maxAttempts: 12 },
      batchSize: 50,
      concurrency: 20,
      timeoutSeconds: 30,
    },
    {
      name: 'audit',
      kind: 'http',
      url: 'https://audit.example/hooks',
      filter: { source: [{ prefix: 'webhook.' }], detail: { subject: [{ exists: true }] } },
      retry: { maxAttempts: 1 },
    },
  ],
};

describe('local topology equals the synthesized CDK template', () => {
  it.each([
    ['the example config', exampleConfig],
    ['three targets with $or, numeric and exists filters', threeTargets],
  ])('for %s', (_name, config) => {
    const { template } = synthRouter(config);
    const local = normaliseTopology(planTopology(parseRouterConfig(config)));
    const deployed = fromTemplate(template);
    expect(deployed).toEqual(local);
    expect(deployed.rules.length).toBe(parseRouterConfig(config).targets.length + 1);
  });
});
