import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EVENTS_TABLE, type TableLayout } from '../core/contracts';

export interface EventStoreProps {
  /** Days an event is kept (the handlers set each item's TTL from it). */
  readonly retentionDays: number;
  /**
   * Days a claim-check payload is kept in S3; it must outlive every pointer to it (queues, DLQs, the archive).
   * @default - forever
   */
  readonly payloadRetentionDays?: number;
  /**
   * What happens to the table and bucket when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** A DynamoDB table exactly as its layout in core/contracts.ts says (the local runtime builds it from the same). */
export function tableFromLayout(
  scope: Construct,
  id: string,
  layout: TableLayout,
  removalPolicy: RemovalPolicy,
): Table {
  const table = new Table(scope, id, {
    partitionKey: { name: layout.partitionKey, type: AttributeType.STRING },
    sortKey: { name: layout.sortKey, type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: TableEncryption.AWS_MANAGED,
    timeToLiveAttribute: layout.ttlAttribute,
    removalPolicy,
  });
  for (const index of layout.indexes) {
    table.addGlobalSecondaryIndex({
      indexName: index.name,
      partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
      sortKey: { name: index.sortKey, type: AttributeType.STRING },
      ...(index.include.length > 0
        ? { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.include] }
        : { projectionType: ProjectionType.KEYS_ONLY }),
    });
  }
  return table;
}

/**
 * The event store: one DynamoDB table for events, dedupe records, publish markers, the delivery log, failure
 * records and target states, plus a bucket for payloads too large to travel inline. Layout: `EVENTS_TABLE` in
 * core/contracts.ts.
 */
export class EventStore extends Construct {
  public readonly table: Table;
  public readonly payloadBucket: Bucket;

  constructor(scope: Construct, id: string, props: EventStoreProps) {
    super(scope, id);
    if (!Number.isInteger(props.retentionDays) || props.retentionDays < 1) {
      throw new Error(
        `${this.node.path}: retentionDays must be a positive integer, got ${props.retentionDays}`,
      );
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.table = tableFromLayout(this, 'Table', EVENTS_TABLE, removalPolicy);

    this.payloadBucket = new Bucket(this, 'Payloads', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: false,
      lifecycleRules:
        props.payloadRetentionDays === undefined
          ? []
          : [{ expiration: Duration.days(props.payloadRetentionDays) }],
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
  }
}
