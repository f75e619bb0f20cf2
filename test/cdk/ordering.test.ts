/**
 * Ordered delivery on AWS: an ordered target's queue and DLQ are FIFO (named `.fifo`, deduplicated by the id each
 * sender gives), no EventBridge rule feeds them (a rule's FIFO target takes one literal message group), the delivery
 * function takes one message per invocation, and ingest and the sweeper may send to exactly that queue.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../core/config';
import { synthRouter } from '../support/cdk';

const config: RouterConfigInput = {
  sources: [{ name: 'github', provider: 'github', secret: { secretName: 'e2e/github' } }],
  targets: [
    {
      name: 'by-repo',
      kind: 'http',
      url: 'https://agent.example.com/ordered',
      filter: { source: ['webhook.github'] },
      ordering: { key: 'data.repository.full_name' },
      concurrency: 8,
    },
    {
      name: 'plain',
      kind: 'http',
      url: 'https://agent.example.com/plain',
      filter: { source: ['webhook.github'] },
    },
  ],
};

describe('an ordered target', () => {
  const { template, targets } = synthRouter(config);
  const ordered = targets['by-repo']!;
  const plain = targets.plain!;

  it('has a FIFO queue and DLQ named after the stack and target', () => {
    ordered.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'Router-by-repo.fifo',
      FifoQueue: true,
      ContentBasedDeduplication: false,
      // High-throughput mode: the FIFO quota applies per message group.
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      RedrivePolicy: Match.objectLike({ maxReceiveCount: Match.anyValue() }),
    });
    ordered.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'Router-by-repo-dlq.fifo',
      FifoQueue: true,
    });
    plain.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'Router-plain', FifoQueue: Match.absent() });
  });

  it('has no rule (its publishers send to it), while an unordered target keeps its rule', () => {
    expect(
      Object.keys(
        ordered.findResources('AWS::Events::Rule', { Properties: { EventPattern: Match.anyValue() } }),
      ),
    ).toHaveLength(0);
    expect(
      Object.keys(
        plain.findResources('AWS::Events::Rule', { Properties: { EventPattern: Match.anyValue() } }),
      ),
    ).toHaveLength(1);
  });

  it('is consumed one message at a time, at most `concurrency` groups at once, without a batching window', () => {
    ordered.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 8 },
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
  });

  it('lets ingest and the sweeper find and send to exactly its queue', () => {
    for (const fn of ['Ingest', 'Sweeper']) {
      const policies = template.findResources('AWS::IAM::Policy', {
        Metadata: { 'aws:cdk:path': Match.stringLikeRegexp(`/Ingest/${fn}/`) },
      });
      const statements = Object.values(policies).flatMap(
        (p) =>
          (p as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument
            .Statement,
      );
      expect(statements, fn).toContainEqual(
        expect.objectContaining({
          Action: ['sqs:GetQueueUrl', 'sqs:SendMessage'],
          Resource: expect.anything(),
        }),
      );
      const sqs = statements.find(
        (s) =>
          JSON.stringify((s as { Action: unknown }).Action) ===
          JSON.stringify(['sqs:GetQueueUrl', 'sqs:SendMessage']),
      ) as { Resource: unknown };
      expect(JSON.stringify(sqs.Resource), fn).toMatch(/:Router-by-repo\.fifo"/);
      expect(JSON.stringify(sqs.Resource), fn).not.toMatch(/Router-plain/);
    }
  });
});
