/**
 * The contract shared by the CDK app (`lib/`), the handlers (`lambdas/`) and the local runtime (`local/`).
 * Pure: imports zod only, never aws-cdk-lib or an AWS SDK client.
 */
import type { z } from 'zod';
import { discriminatedUnion, literal, number, object, record, string, unknown, enum as zEnum } from 'zod';

/** Providers whose signature scheme and payload shape the ingest handler knows. */
export const PROVIDERS = [
  'github',
  'stripe',
  'slack',
  'linear',
  'standard-webhooks',
  'shopify',
  'twilio',
  'generic',
] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** Prefix of the EventBridge `Source` of every event we publish: `webhook.<source name>`. */
export const EVENT_SOURCE_PREFIX = 'webhook.';
export const eventBridgeSource = (sourceName: string): string => `${EVENT_SOURCE_PREFIX}${sourceName}`;

/**
 * Environment variable names read by the handlers. The CDK constructs and the local runtime set them;
 * handlers read them once at module init and fail fast when one is missing.
 */
export const ENV = {
  stage: 'ROUTER_STAGE',
  tableName: 'EVENT_TABLE_NAME',
  busName: 'EVENT_BUS_NAME',
  /** JSON of `RuntimeSourceConfig[]` for the ingest handler. */
  sources: 'ROUTER_SOURCES',
  /** JSON of `RuntimeTargetConfig` for one delivery handler. */
  target: 'ROUTER_TARGET',
  /** https endpoint of the WebSocket API's `@connections` management API. */
  websocketEndpoint: 'WEBSOCKET_MANAGEMENT_ENDPOINT',
  /** Bucket that holds payloads too large to travel inline (claim check). */
  payloadBucket: 'PAYLOAD_BUCKET_NAME',
  /** Days an event (and so its dedupe record) is kept before DynamoDB TTL removes it. */
  retentionDays: 'EVENT_RETENTION_DAYS',
  /** Seconds a WebSocket connection record lives without refresh. */
  connectionTtlSeconds: 'CONNECTION_TTL_SECONDS',
  /** Secrets Manager id of the token WebSocket clients present on connect (`?token=`). */
  streamTokenSecret: 'STREAM_TOKEN_SECRET_ID',
  /** URL of the SQS queue a delivery function consumes (to stretch a failed message's visibility: backoff). */
  queueUrl: 'ROUTER_QUEUE_URL',
} as const;

/** Upper bound for the depth of JSON we accept; recursive walkers downstream must not blow the stack. */
export const MAX_JSON_DEPTH = 64;

/** Pointer to a payload stored outside the event because it is too large to travel inline. */
export const PayloadRefSchema = object({
  bucket: string().min(1),
  key: string().min(1),
  bytes: number().int().nonnegative(),
  sha256: string().regex(/^[0-9a-f]{64}$/),
});
export type PayloadRef = z.infer<typeof PayloadRefSchema>;

/**
 * The canonical event envelope. It is the EventBridge `detail`, the item stored in DynamoDB, the body POSTed to
 * HTTP targets and the message pushed to WebSocket clients.
 */
export const EnvelopeSchema = object({
  /** Time-sortable unique id (ULID) assigned at ingest. */
  id: string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'must be a ULID'),
  /** Name of the configured source the webhook arrived on (the `{source}` path segment). */
  source: string().min(1),
  provider: zEnum(PROVIDERS),
  /** Provider event type, dotted: `pull_request.opened`, `invoice.paid`, `message`. */
  type: string().min(1),
  /** The provider's own delivery id (dedupe key), when the provider sends one. */
  deliveryId: string().min(1).nullable(),
  /** When the provider says the event happened or was sent (ISO-8601), when it says so. */
  providerTime: string().datetime().nullable(),
  /** When ingest accepted the webhook (ISO-8601). */
  receivedAt: string().datetime(),
  /** What the event is about: repository, customer, channel…; null when the provider has no such notion. */
  subject: string().nullable(),
  /** Selected request headers (lower-cased names), never signature or secret headers. */
  headers: record(string(), string()),
  /** The parsed provider payload; absent when it was too large and travels as `dataRef`. */
  data: unknown().optional(),
  dataRef: PayloadRefSchema.optional(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** Shape of an EventBridge event as delivered to rule targets (SQS message body, Lambda event). */
export interface BusEvent<TDetail = Envelope> {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: TDetail;
}

/** Message pushed to WebSocket clients. */
export interface LiveMessage {
  kind: 'event';
  event: Envelope;
}

/** Client → server WebSocket actions (routed by `$request.body.action`). */
export const ClientActionSchema = discriminatedUnion('action', [
  object({ action: literal('subscribe'), pattern: record(string(), unknown()) }),
  object({ action: literal('ping') }),
]);
export type ClientAction = z.infer<typeof ClientActionSchema>;

/**
 * Key layout of the single event-store table. Kept here so that handlers, the local runtime and tests agree.
 * - event:       pk `EVENT#<source>#<dedupe key>`   sk `EVENT`   (the conditional write that stores is the dedupe)
 *   GSI bySource: `gsi1pk` = source, `gsi1sk` = event id (ULID, so time-ordered)
 *   GSI byType:   `gsi2pk` = `<source>#<type>`, `gsi2sk` = event id
 *   GSI unpublished (sparse): `unpublished` = 'UNPUBLISHED' while PutEvents has not succeeded, `gsi1sk` = event id
 * - delivery log: pk `DELIVERY#<event id>`  sk `<target>#<attempt time ISO>`
 * - connection:   pk `CONNECTION`            sk `<connection id>`
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  bySourceIndex: 'bySource',
  byTypeIndex: 'byType',
  unpublishedIndex: 'unpublished',
} as const;

/** Global secondary indexes of the table, for the CDK construct and the local runtime alike. */
export const TABLE_INDEXES: readonly {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly projection: 'ALL' | 'KEYS_ONLY';
}[] = [
  // Keys only: queries list event keys over time (ULIDs sort by time) and read the items they need; copying every
  // envelope (up to 100 KB) into each index would triple the write cost of every event.
  { name: TABLE.bySourceIndex, partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projection: 'KEYS_ONLY' },
  { name: TABLE.byTypeIndex, partitionKey: 'gsi2pk', sortKey: 'gsi2sk', projection: 'KEYS_ONLY' },
  // Sparse: only events whose PutEvents has not succeeded carry `unpublished`, so the sweeper reads just those.
  { name: TABLE.unpublishedIndex, partitionKey: 'unpublished', sortKey: 'gsi1sk', projection: 'KEYS_ONLY' },
];

export const keys = {
  event: (source: string, dedupeKey: string) => ({ pk: `EVENT#${source}#${dedupeKey}`, sk: 'EVENT' }),
  delivery: (eventId: string, target: string, at: string) => ({
    pk: `DELIVERY#${eventId}`,
    sk: `${target}#${at}`,
  }),
  connection: (connectionId: string) => ({ pk: 'CONNECTION', sk: connectionId }),
} as const;

/** Header that carries the event id on deliveries to HTTP targets (besides the Standard Webhooks headers). */
export const EVENT_ID_HEADER = 'x-event-router-id';
