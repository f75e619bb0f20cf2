/**
 * The contract shared by the CDK app (`lib/`), the handlers (`lambdas/`) and the local runtime (`local/`): the
 * envelope, the bus conventions and the table layout. Pure and dependency-free: handlers import it on their cold
 * start path, so it holds types and constants only (schemas live in core/config.ts, which only synth loads).
 */

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

/**
 * Who produced an envelope: a provider's webhook, or `internal` — an event published through the management API
 * (source `internal.<name>`), stored, routed and streamed exactly like a webhook.
 */
export const ENVELOPE_PROVIDERS = [...PROVIDERS, 'internal'] as const;
export type EnvelopeProvider = (typeof ENVELOPE_PROVIDERS)[number];

/** The envelope source of an internal event. */
export const internalSource = (name: string) => `internal.${name}`;

/** Prefix of the EventBridge `Source` of every event we publish: `webhook.<source name>`. */
export const EVENT_SOURCE_PREFIX = 'webhook.';

/**
 * Every event the ingest handler publishes: the broadcast rule and the archive take all of them, and a connection
 * without a key's allowance subscribes to it. Here, not in core/plan.ts, so that a handler needs no plan (and none of
 * the schemas the plan imports) to read it.
 */
export const ALL_WEBHOOK_EVENTS = { source: [{ prefix: EVENT_SOURCE_PREFIX }] } as const;
export const eventBridgeSource = (sourceName: string): string => `${EVENT_SOURCE_PREFIX}${sourceName}`;

/**
 * Environment variable names read by the handlers. The CDK constructs and the local runtime set them; handlers read
 * them once at module init and fail fast when one is missing.
 */
/**
 * The kinds of target a rule can deliver to. Each kind is one entry in a registry keyed on this union on every side
 * (config schema in core/config.ts, plan grants in core/targets.ts, CDK resources in lib/delivery-target.ts, senders
 * in lambdas/delivery/senders/, local equivalents in local/targets.ts): the compiler lists what a new kind needs.
 */
export const TARGET_KINDS = ['http', 'sqs', 'lambda', 'eventbridge'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export const ENV = {
  tableName: 'EVENT_TABLE_NAME',
  liveTableName: 'LIVE_TABLE_NAME',
  busName: 'EVENT_BUS_NAME',
  /** https endpoint of the WebSocket API's `@connections` management API. */
  websocketEndpoint: 'WEBSOCKET_MANAGEMENT_ENDPOINT',
  /** Bucket that holds payloads too large to travel inline (claim check). */
  payloadBucket: 'PAYLOAD_BUCKET_NAME',
  /** Days an event is kept before DynamoDB TTL removes it. */
  retentionDays: 'EVENT_RETENTION_DAYS',
  /** Days a delivery id is deduplicated. */
  dedupeDays: 'DEDUPE_DAYS',
  /** Seconds a WebSocket connection record lives without refresh. */
  connectionTtlSeconds: 'CONNECTION_TTL_SECONDS',
  /** Secrets Manager id of the token WebSocket clients present on connect (`?token=`). */
  streamTokenSecret: 'STREAM_TOKEN_SECRET_ID',
  /** Secrets Manager id (ARN or name) of a delivery target's Standard Webhooks signing secret. */
  signingSecret: 'SIGNING_SECRET_ID',
  /** HTTP API id and the ingest integration's id (the routes function creates each source's route on them). */
  httpApiId: 'HTTP_API_ID',
  httpIntegrationId: 'HTTP_INTEGRATION_ID',
  /** Secret holding every source's URL tokens (`{"<source>": {"token": "…"}}`). */
  urlTokenSecret: 'URL_TOKEN_SECRET_ID',
  /** URL of the SQS queue a delivery function consumes (backoff: it stretches a failed message's visibility). */
  queueUrl: 'ROUTER_QUEUE_URL',
  /** Prefix of every target's queue names (the stack name; core/queues.ts). */
  queuePrefix: 'QUEUE_NAME_PREFIX',
  /** Secret whose value signs the management API's paging cursors. */
  cursorKeySecret: 'CURSOR_KEY_SECRET_ID',
  /**
   * URL of the live stream's broadcast queue: a large fan-out hands its remaining connections over to it, and a
   * replay asked to reach live agents is sent there too.
   */
  broadcastQueueUrl: 'BROADCAST_QUEUE_URL',
  /** URL of an SQS target's queue (derived from its ARN on AWS; the local queue locally). */
  targetQueueUrl: 'TARGET_QUEUE_URL',
  /** URL of a delivery function's dead-letter queue (it moves a message there after its last attempt). */
  deadLetterQueueUrl: 'ROUTER_DLQ_URL',
} as const;

/** Upper bound for the depth of JSON we accept; recursive walkers downstream must not blow the stack. */
export const MAX_JSON_DEPTH = 64;

/** Crockford base32, the ULID alphabet. */
const ULID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Milliseconds since the epoch encoded in a ULID's first 10 characters. */
export function ulidTime(id: string): number {
  let ms = 0;
  for (let i = 0; i < 10; i++) ms = ms * 32 + ULID_ALPHABET.indexOf(id[i] ?? '0');
  return ms;
}

/** The smallest ULID of a millisecond: ids of events received before `ms` sort below it. */
export function ulidFloor(ms: number): string {
  let time = '';
  let rest = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    time = ULID_ALPHABET[rest % 32] + time;
    rest = Math.floor(rest / 32);
  }
  return `${time}0000000000000000`;
}

/** Pointer to a payload stored outside the event because it is too large to travel inline. */
export interface PayloadRef {
  readonly bucket: string;
  readonly key: string;
  readonly bytes: number;
  /** Lower-case hex SHA-256 of the stored bytes. */
  readonly sha256: string;
}

/**
 * The canonical event envelope. It is the EventBridge `detail`, what the store keeps, the body POSTed to HTTP
 * targets and what WebSocket clients receive.
 */
export interface Envelope {
  /** Time-sortable unique id (ULID) assigned at ingest. */
  readonly id: string;
  /** Name of the configured source the webhook arrived on; `internal.<name>` for an event published by an operator. */
  readonly source: string;
  readonly provider: EnvelopeProvider;
  /** Provider event type, dotted: `pull_request.opened`, `invoice.paid`, `message`. */
  readonly type: string;
  /** The provider's own delivery id, when the provider sends one. */
  readonly deliveryId: string | null;
  /** When the provider says the event happened or was sent (ISO-8601), when it says so. */
  readonly providerTime: string | null;
  /** When ingest accepted the webhook (ISO-8601). */
  readonly receivedAt: string;
  /** What the event is about: repository, customer, channel…; null when the provider has no such notion. */
  readonly subject: string | null;
  /** Selected request headers (lower-cased names), never signature or secret headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed provider payload; absent when it was too large and travels as `dataRef`. */
  readonly data?: unknown;
  readonly dataRef?: PayloadRef;
}

/**
 * Why a parsed value is not an envelope, or undefined when it is one. A light structural check for the run-time
 * path (messages arriving on a queue); the producer side builds envelopes with types.
 */
export function envelopeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'envelope is not an object';
  const e = value as Record<string, unknown>;
  if (typeof e.id !== 'string' || !ULID_RE.test(e.id)) return 'envelope.id is not a ULID';
  for (const field of ['source', 'provider', 'type', 'receivedAt'] as const) {
    if (typeof e[field] !== 'string' || e[field] === '') return `envelope.${field} is missing`;
  }
  if (!(ENVELOPE_PROVIDERS as readonly string[]).includes(e.provider as string))
    return 'envelope.provider is unknown';
  for (const field of ['deliveryId', 'providerTime', 'subject'] as const) {
    if (e[field] !== null && typeof e[field] !== 'string')
      return `envelope.${field} must be a string or null`;
  }
  if (e.headers === null || typeof e.headers !== 'object') return 'envelope.headers is missing';
  if (e.dataRef !== undefined) {
    const r = e.dataRef as Record<string, unknown> | null;
    if (
      r === null ||
      typeof r !== 'object' ||
      typeof r.bucket !== 'string' ||
      typeof r.key !== 'string' ||
      typeof r.bytes !== 'number' ||
      typeof r.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(r.sha256)
    )
      return 'envelope.dataRef is malformed';
  }
  return undefined;
}

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

/**
 * Message pushed to WebSocket clients: the envelope, and its correlation (the event id and the provider's delivery
 * id, as the delivery headers of an HTTP target carry them) readable without parsing the event.
 */
export interface LiveMessage {
  kind: 'event';
  eventId: string;
  deliveryId: string | null;
  event: Envelope;
}

/**
 * Header that carries the event id — the correlation id of every log line, trace and message about the event — on
 * deliveries to HTTP targets (besides the Standard Webhooks headers, whose `webhook-id` is the same id).
 */
export const EVENT_ID_HEADER = 'x-event-router-id';
/** Header with the provider's own delivery id on deliveries to HTTP targets, when the provider sent one. */
export const DELIVERY_ID_HEADER = 'x-event-router-delivery-id';

/** A DynamoDB table as both the CDK construct and the local runtime create it. */
export interface TableLayout {
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly ttlAttribute: string;
  readonly indexes: readonly {
    readonly name: string;
    readonly partitionKey: string;
    readonly sortKey: string;
    /** Attributes copied into the index besides the keys (INCLUDE); none = KEYS_ONLY. */
    readonly include: readonly string[];
  }[];
}

/**
 * The event store table. One item per event, keyed by its day and a shard so that no partition key takes every
 * write (DynamoDB: 1,000 write units per second per partition key), and so that a GetItem by id needs nothing
 * but the id. Item kinds (`keys` builds every key):
 * - event     `EVENT#<day>#<shard>` / `<id>`       the envelope, compressed (`env`), plus list attributes
 * - dedupe    `DEDUPE#<source>#<key>` / `DEDUPE`   the event id a delivery id (or body hash) maps to, the publish
 *                                                   claim and whether the event was published
 * - pending   `PENDING#<shard>` / `<id>`           an accepted event whose publish failed or is in doubt
 * - poisoned  `POISONED` / `<id>`                   an event EventBridge refused for good (republish by hand)
 * - attempt   `DELIVERY#<id>` / `<target>#<round>#<n>`  one delivery attempt (the delivery log)
 * - failure   `FAILED#<target>` / `<id>`            a delivery that failed for good (durable, unlike the DLQ)
 * - target    `TARGET#<name>` / `STATE`             a target's state: active, paused or gone
 * GSI `gsi1`: events by source (`SOURCE#<source>#<shard>` / id) and failed attempts by target
 * (`TARGET#<target>#<shard>` / `<at>#<id>`).
 */
export const EVENTS_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  indexes: [
    {
      name: 'gsi1',
      partitionKey: 'gsi1pk',
      sortKey: 'gsi1sk',
      include: [
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
  ],
} as const satisfies TableLayout;

/** Shards of the event partitions (per day), the source index and the pending markers. */
export const EVENT_SHARDS = 8;
export const INDEX_SHARDS = 4;
export const PENDING_SHARDS = 8;

/** Shard of an id among `n` (n divides 32): from its last character, which is random. */
export const shardOf = (id: string, n: number): number => id.charCodeAt(id.length - 1) % n;

/** `yyyy-mm-dd` (UTC) of an epoch millisecond. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export const keys = {
  event: (id: string) => ({
    pk: `EVENT#${dayOf(ulidTime(id))}#${shardOf(id, EVENT_SHARDS)}`,
    sk: id,
  }),
  eventPartition: (day: string, shard: number) => `EVENT#${day}#${shard}`,
  bySource: (source: string, id: string) => ({
    gsi1pk: `SOURCE#${source}#${shardOf(id, INDEX_SHARDS)}`,
    gsi1sk: id,
  }),
  bySourcePartition: (source: string, shard: number) => `SOURCE#${source}#${shard}`,
  dedupe: (source: string, dedupeKey: string) => ({ pk: `DEDUPE#${source}#${dedupeKey}`, sk: 'DEDUPE' }),
  pending: (id: string) => ({ pk: `PENDING#${shardOf(id, PENDING_SHARDS)}`, sk: id }),
  pendingPartition: (shard: number) => `PENDING#${shard}`,
  poisoned: (id: string) => ({ pk: 'POISONED', sk: id }),
  attempt: (eventId: string, target: string, round: string, attempt: number) => ({
    pk: `DELIVERY#${eventId}`,
    sk: `${target}#${round}#${String(attempt).padStart(3, '0')}`,
  }),
  attemptsOf: (eventId: string) => `DELIVERY#${eventId}`,
  byTarget: (target: string, eventId: string, at: string) => ({
    gsi1pk: `TARGET#${target}#${shardOf(eventId, INDEX_SHARDS)}`,
    gsi1sk: `${at}#${eventId}`,
  }),
  byTargetPartition: (target: string, shard: number) => `TARGET#${target}#${shard}`,
  failure: (target: string, eventId: string) => ({ pk: `FAILED#${target}`, sk: eventId }),
  failuresOf: (target: string) => `FAILED#${target}`,
  target: (name: string) => ({ pk: `TARGET#${name}`, sk: 'STATE' }),
  /** A replay or redrive job of the management API and its progress. */
  job: (id: string) => ({ pk: `JOB#${id}`, sk: 'JOB' }),
  /** A target's rate-limit window (one item per target; a hot key only up to its own limit). */
  rate: (name: string) => ({ pk: `RATE#${name}`, sk: 'WINDOW' }),
} as const;

/** The delivery round of an event's first delivery; redeliveries get their own round so attempts restart at 1. */
export const FIRST_ROUND = '0';

/**
 * The live table: WebSocket connections, kept apart from events so that the WebSocket functions can be granted
 * this table only (they never see a stored webhook).
 * - connection        `CONNECTION#<shard>` / `<connection id>`   its subscription, and the agent key it was opened with
 *                     (sharded: no partition key holds every connection)
 * - version           `SUBSCRIPTIONS` / `VERSION`        bumped on every change of the connections: broadcast re-reads
 *                     them only when it moved; also the live lease (`liveUntil`, `liveSince`, ms): whether any agent
 *                     may be connected (LIVE_LEASE)
 * - agent key         `AGENT` / `<key id>`               name, allowed patterns, hash of the secret, revokedAt
 * - agent connection  `AGENT#<key id>` / `<connection id>`  a key's live connections (revocation, limits)
 */
export const LIVE_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  indexes: [],
} as const satisfies TableLayout;

/**
 * The live lease: publishers put an event on the broadcast path only while an agent may be connected, so that a
 * stack without agents never invokes the broadcast function (cost: bench/cost-model.ts).
 *
 * - Every connection extends the lease (`liveUntil`) to its record's expiry; the last `$disconnect` ends it. A lease
 *   that had lapsed starts anew (`liveSince`).
 * - Publishers (ingest, sweeper, management) read the lease at most every `refreshMs` (a strongly consistent read of
 *   one item: a container reads it about once a second when busy) and mark the events they publish while it holds,
 *   counting `graceMs` past its end.
 * - The connect that starts a lease records `liveOpenAt`: `settleMs` after its write returned. Connections open no
 *   earlier (`$connect` waits): by then every publisher has read the lease at least once since it began, so no event
 *   published after a connection opened goes unmarked. A connection that joins a young lease (begun less than
 *   `youngMs` ago) before its start recorded `liveOpenAt` waits `settleMs` after its own write instead. `settleMs`
 *   includes `marginMs` for clocks that differ between hosts; `youngMs` bounds how long the write that started the
 *   lease may have taken to land (the connections function's DynamoDB client gives up well before).
 * - A lease that ends within `graceMs` counts as ended for a new connection: publishers may already read it so.
 */
const LEASE_REFRESH_MS = 1_000;
const LEASE_MARGIN_MS = 500;
export const LIVE_LEASE = {
  refreshMs: LEASE_REFRESH_MS,
  marginMs: LEASE_MARGIN_MS,
  graceMs: LEASE_REFRESH_MS + LEASE_MARGIN_MS,
  settleMs: LEASE_REFRESH_MS + LEASE_MARGIN_MS,
  youngMs: 10_000,
} as const;

/**
 * What marks a bus event for the broadcast rule: a `resources` entry. PutEvents takes any strings up to 2,048
 * characters there, with no ARN pattern (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html;
 * the API reference's own example sends "resource1"); it is counted in the entry's size. Not in `detail`: the
 * envelope targets receive stays what the provider sent.
 */
export const LIVE_RESOURCE = 'event-router:live';

/** The broadcast rule's pattern: every webhook event published while an agent may be connected. */
export const LIVE_EVENTS = { ...ALL_WEBHOOK_EVENTS, resources: [LIVE_RESOURCE] } as const;

/** Partitions of the connection records. */
export const CONNECTION_SHARDS = 8;

/**
 * The shard of a connection id: FNV-1a over the whole id (API Gateway's ids end in `=`, so their last character,
 * which `shardOf` uses for ULIDs, says nothing).
 */
export function connectionShard(connectionId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < connectionId.length; i++) {
    hash ^= connectionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % CONNECTION_SHARDS;
}

export const liveKeys = {
  connection: (connectionId: string) => ({
    pk: `CONNECTION#${connectionShard(connectionId)}`,
    sk: connectionId,
  }),
  connectionPartition: (shard: number) => `CONNECTION#${shard}`,
  subscriptionsVersion: { pk: 'SUBSCRIPTIONS', sk: 'VERSION' },
  agent: (keyId: string) => ({ pk: 'AGENT', sk: keyId }),
  agents: 'AGENT',
  agentConnection: (keyId: string, connectionId: string) => ({ pk: `AGENT#${keyId}`, sk: connectionId }),
  agentConnections: (keyId: string) => `AGENT#${keyId}`,
} as const;
