import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { EventStore } from '../../lib/event-store';
import { testStack } from '../support/cdk';

describe('EventStore', () => {
  const stack = testStack();
  new EventStore(stack, 'Store', {
    retentionDays: 30,
    payloadRetentionDays: 30,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const template = Template.fromStack(stack);

  it('creates an on-demand, encrypted, PITR table with TTL and its one overloaded index', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'gsi1',
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: [
              'type',
              'subject',
              'deliveryId',
              'target',
              'outcome',
              'status',
              'attempt',
              'error',
              'latencyMs',
            ],
          },
        }),
      ],
    });
  });

  it('keeps large payloads in a private, TLS-only bucket that expires with the retention', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30, Status: 'Enabled' })] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('has no physical names', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: Match.absent() });
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: Match.absent() });
  });

  it('rejects a retention that is not a positive integer', () => {
    expect(() => new EventStore(testStack(), 'Bad', { retentionDays: 0 })).toThrow(
      /Test\/Bad: retentionDays must be a positive integer, got 0/,
    );
  });

  it('keeps payloads forever when no payload retention is given (the archive keeps events forever)', () => {
    const s = testStack();
    new EventStore(s, 'Forever', { retentionDays: 7 });
    Template.fromStack(s).hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: Match.absent(),
    });
  });

  it('retains data by default', () => {
    const s = testStack();
    new EventStore(s, 'Kept', { retentionDays: 7 });
    Template.fromStack(s).hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });
});
