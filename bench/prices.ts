/**
 * The price table of the cost model (bench/cost-model.ts): us-east-1 list prices, first tier, no free tier. Each
 * price says where it was read and when: `looked up` is the day it was looked up with the project's search tool
 * (stored copies of public pages), `dated` the date the source gives itself when it has one. AWS's own pricing
 * pages render their numbers client-side, so their stored copies often hold the rules but not the numbers; where a
 * number comes from another page, that page is the source. Re-check before quoting; change a price here and
 * `npm run cost` follows.
 */

export interface Price {
  readonly value: number;
  readonly unit: string;
  readonly source: string;
  /** The source's own date, when it has one. */
  readonly dated?: string;
  readonly lookedUp: string;
  /** The billing rule that matters for the model (increments, minimums). */
  readonly rule?: string;
}

const LOOKED_UP = '2026-12-01';

export const PRICES = {
  httpApiRequest: {
    value: 1.0 / 1e6,
    unit: 'USD per request (first 300 M a month)',
    rule: 'HTTP APIs are metered in 512 KB increments',
    source:
      'https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html (rule); https://awsforengineers.com/blog/aws-api-gateway-pricing-explained (price)',
    dated: '2025-05-19',
    lookedUp: LOOKED_UP,
  },
  websocketMessage: {
    value: 1.0 / 1e6,
    unit: 'USD per message (first 1 B a month)',
    rule: 'messages are metered in 32 KB increments',
    source:
      'https://awsforengineers.com/blog/aws-api-gateway-pricing-explained (price); https://www.stormit.cloud/blog/amazon-api-gateway-pricing (32 KB)',
    dated: '2025-05-19',
    lookedUp: LOOKED_UP,
  },
  lambdaRequest: {
    value: 0.2 / 1e6,
    unit: 'USD per invocation',
    source:
      'https://git.mcrn.ar/mariano/lambda_local_runner/src/commit/957e45b8adae23ce50b966346229585b5df18b4d/docs/lambdas-md/lambda-13-cost.md',
    lookedUp: LOOKED_UP,
  },
  lambdaArmGbSecond: {
    value: 0.0000133334,
    unit: 'USD per GB-second, arm64 (first 7.5 B GB-s a month)',
    rule: 'billed per 1 ms, rounded up; CPU is proportional to memory, 1,769 MB = one vCPU',
    source:
      'https://cloudchipr.com/blog/aws-lambda-pricing (price); https://docs.amazonaws.cn/lambda/latest/dg/configuration-memory.md (CPU share)',
    lookedUp: LOOKED_UP,
  },
  dynamoWriteUnit: {
    value: 0.625 / 1e6,
    unit: 'USD per write request unit, on demand',
    rule: '1 WRU per 1 KB of item, rounded up per item; an update is billed on the larger of the item before and after; each index the write touches adds the WRUs of its entry',
    source:
      'https://airbyte.com/data-engineering-resources/dynamodb-pricing (price); https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html (item size)',
    dated: '2025-07-21',
    lookedUp: LOOKED_UP,
  },
  dynamoReadUnit: {
    value: 0.125 / 1e6,
    unit: 'USD per read request unit, on demand',
    rule: '1 RRU per 4 KB strongly consistent, half for eventually consistent; reading nothing still costs the minimum',
    source: 'https://airbyte.com/data-engineering-resources/dynamodb-pricing',
    dated: '2025-07-21',
    lookedUp: LOOKED_UP,
  },
  dynamoStorage: {
    value: 0.25,
    unit: 'USD per GB-month (Standard table class, past 25 GB)',
    rule: 'each item and each index entry carries 100 bytes of overhead',
    source:
      'https://aws.amazon.com/dynamodb/pricing/ (stored copy); https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html (overhead)',
    lookedUp: LOOKED_UP,
  },
  dynamoPitr: {
    value: 0.2,
    unit: 'USD per GB-month of table size (point-in-time recovery, which the stack enables)',
    source: 'https://finops.com.py/services/dynamodb/backups',
    lookedUp: LOOKED_UP,
  },
  eventBridgeEvent: {
    value: 1.0 / 1e6,
    unit: 'USD per custom event put on a bus',
    rule: 'each 64 KB chunk of an entry is one event; delivery to same-account AWS targets (SQS) is free',
    source: 'https://cloudburn.io/blog/amazon-eventbridge-pricing',
    dated: '2026-03-13',
    lookedUp: LOOKED_UP,
  },
  eventBridgeArchiveGb: {
    value: 0.1,
    unit: 'USD per GB of events archived (processing)',
    source: 'https://cloudburn.io/blog/amazon-eventbridge-pricing',
    dated: '2026-03-13',
    lookedUp: LOOKED_UP,
  },
  eventBridgeArchiveStorage: {
    value: 0.023,
    unit: 'USD per GB-month of archive storage',
    source: 'https://cloudburn.io/blog/amazon-eventbridge-pricing',
    dated: '2026-03-13',
    lookedUp: LOOKED_UP,
  },
  sqsRequest: {
    value: 0.4 / 1e6,
    unit: 'USD per request, standard queue (first 100 B a month)',
    rule: 'each 64 KB chunk of a payload is one request; empty receives count',
    source:
      'https://cloudburn.io/blog/amazon-sqs-pricing; https://unanswered.io/guide/aws-sqs-pricing-and-cost-optimization',
    dated: '2026-03-14',
    lookedUp: LOOKED_UP,
  },
  logsIngestionGb: {
    value: 0.5,
    unit: 'USD per GB ingested, Standard class (Lambda logs: first tier of the vended-logs tiers)',
    source:
      'https://www.duckbillgroup.com/?p=9080; https://hykell.com/kb/platform-specific-guides/aws-cloudwatch-logs-pricing',
    lookedUp: LOOKED_UP,
  },
  logsStorageGb: {
    value: 0.03,
    unit: 'USD per GB-month stored',
    source: 'https://hykell.com/kb/platform-specific-guides/aws-cloudwatch-logs-pricing',
    lookedUp: LOOKED_UP,
  },
  xrayTrace: {
    value: 5.0 / 1e6,
    unit: 'USD per trace recorded (past 100,000 a month)',
    rule: "Lambda with active tracing records the first request each second and 5 % of the rest, on its own; sampling rules do not apply to Lambda's decision",
    source:
      'https://aws.amazon.com/de/xray/pricing/ (stored copy); https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html (default rule); https://docs.aws.amazon.com/cdk/api/latest/dotnet/api/Amazon.CDK.AWS.Lambda.Tracing.html (modes)',
    lookedUp: LOOKED_UP,
  },
  dataTransferOutGb: {
    value: 0.09,
    unit: 'USD per GB to the internet (after the first 100 GB a month, up to 10 TB)',
    source:
      'https://wring.co/blog/aws-data-transfer-pricing-guide; https://aws.amazon.com/about-aws/global-infrastructure/global-network/faqs',
    lookedUp: LOOKED_UP,
  },
  secret: {
    value: 0.4,
    unit: 'USD per secret-month',
    source: 'https://hivebook.wiki/wiki/aws-secrets-manager-rotated-secrets-dynamic-db-credentials-kms',
    lookedUp: LOOKED_UP,
  },
  secretCall: {
    value: 0.05 / 1e4,
    unit: 'USD per API call',
    source: 'https://hivebook.wiki/wiki/aws-secrets-manager-rotated-secrets-dynamic-db-credentials-kms',
    lookedUp: LOOKED_UP,
  },
  customMetric: {
    value: 0.3,
    unit: 'USD per custom metric-month (first 10,000)',
    source: 'https://signoz.io/guides/cloudwatch-pricing',
    dated: '2026-02-15',
    lookedUp: LOOKED_UP,
  },
} as const satisfies Record<string, Price>;

/** What the peers charge per million events, from their pricing pages as transcribed. */
export const PEERS = {
  hookdeck: {
    perMillion: 10,
    atVolume: 3.3,
    what: 'Hookdeck Event Gateway: $1.00 per additional 100k events ("as low as $0.33" at volume), on a plan from $39/month',
    source:
      'https://hookdeck.com/pricing via https://github.com/api-evangelist/hookdeck/blob/main/plans/hookdeck-plans-pricing.yml',
    dated: '2026-09-20',
    lookedUp: LOOKED_UP,
  },
  svix: {
    perMillion: 100,
    what: 'Svix: $0.0001 per message past the plan (Professional from $490/month, 50,000 messages included)',
    source:
      'https://www.svix.com/pricing/ via https://github.com/api-evangelist/svix/blob/main/plans/svix-plans-pricing.yml',
    dated: '2026-09-20',
    lookedUp: LOOKED_UP,
  },
} as const;
