/**
 * The router config: the single source of truth for sources, targets, filters and retry policies.
 * The CDK stack and the local runtime both read it, through `planTopology` (core/plan.ts).
 */
import type { z } from 'zod';
import {
  array,
  boolean,
  discriminatedUnion,
  literal,
  number,
  object,
  record,
  strictObject,
  string,
  union,
  unknown,
  enum as zEnum,
} from 'zod';
import { AGENT_LIMITS } from './agents';
import { PROVIDERS, type TargetKind } from './contracts';
import { hostProblem } from './network';
import { OIDC_ALGORITHMS, OIDC_DEFAULTS, oidcUrlProblem } from './oidc';
import { PatternError, validatePattern } from './pattern';
import { deliveryTimeoutSeconds } from './queues';
import { DEFAULT_RETRY_ON, RETRY_POLICIES, retryScheduleProblem } from './retry';
import { parseSubscription } from './subscription';
import { transformProblem } from './transform';

const NAME_RE = /^[a-z][a-z0-9-]{0,39}$/;
const nameSchema = string().regex(
  NAME_RE,
  'must be 1-40 characters of lower-case letters, digits and "-", starting with a letter',
);

/** Hard ceiling for a webhook body: Lambda's 6 MB sync payload less base64 overhead (4/3) and headers. */
export const MAX_BODY_BYTES_CEILING = 4 * 1024 * 1024;

/**
 * Where a secret lives. On AWS: a Secrets Manager secret of this name (its value is one secret, or a JSON array of
 * secrets that are all accepted, for rotation). Locally: env `EVENT_ROUTER_SECRET_<NAME>` or the local secrets file.
 */
export const SecretRefSchema = object({
  secretName: string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a valid Secrets Manager secret name'),
});
export type SecretRef = z.infer<typeof SecretRefSchema>;

/** Generic HMAC scheme for providers without a built-in verifier. */
export const GenericHmacSchema = object({
  /** Header holding the signature (any case). */
  signatureHeader: string().min(1),
  /** How the header value is built, e.g. `sha256=${signature}` or `t=${timestamp},v1=${signature}`. */
  signatureFormat: string()
    .includes('${signature}', { message: 'must contain ${signature}' })
    .default('${signature}'),
  algorithm: zEnum(['sha1', 'sha256', 'sha512']).default('sha256'),
  encoding: zEnum(['hex', 'base64']).default('hex'),
  /** What is signed, e.g. `${body}` or `${timestamp}.${body}`. */
  signedContent: string().includes('${body}', { message: 'must contain ${body}' }).default('${body}'),
  /** Header holding the timestamp when it is not inside the signature header. */
  timestampHeader: string().min(1).optional(),
  timestampUnit: zEnum(['s', 'ms']).default('s'),
  /** Header with the sender's delivery id, for dedupe. */
  deliveryIdHeader: string().min(1).optional(),
  /** Header with the event type. */
  eventTypeHeader: string().min(1).optional(),
});
export type GenericHmacConfig = z.infer<typeof GenericHmacSchema>;

/**
 * Overrides of one target's alarm thresholds (core/alarms.ts has the stage defaults). Strict: a misspelt threshold
 * would otherwise be dropped without a word, and the alarm would keep its default.
 */
export const TargetAlarmsSchema = strictObject({
  /** Messages in the DLQ above which it alarms (0: any message). */
  dlqDepth: number().int().min(0).max(1_000_000),
  /** Age of the oldest message in the queue, in seconds, at which it alarms. */
  oldestMessageAgeSeconds: number()
    .int()
    .min(60)
    .max(14 * 86_400),
  /** Share of events failed for good among those finished in 5 minutes at which it alarms. */
  failureRatio: number().gt(0).max(1),
}).partial();

/** Overrides of one source's alarm thresholds. */
export const SourceAlarmsSchema = strictObject({
  /** Signature failures (401) in 5 minutes at which it alarms. */
  signatureFailures: number().int().min(1).max(1_000_000),
  /** Share of the route's throttle (rateLimitPerSecond) the source's traffic may reach before it alarms. */
  throttleShare: number().gt(0).max(1),
}).partial();

/** Router-wide overrides of the stage's alarm thresholds (a target's or a source's own `alarms` wins over these). */
export const RouterAlarmThresholdsSchema = strictObject({
  ...TargetAlarmsSchema.shape,
  ...SourceAlarmsSchema.shape,
  /** 5xx answers of the webhook API in 5 minutes. */
  ingest5xx: number().int().min(1).max(1_000_000),
  /** 503 answers (storage or secret store unavailable) in 5 minutes. */
  ingest503: number().int().min(1).max(1_000_000),
  /** 429 answers (throttled) in 5 minutes. */
  ingest429: number().int().min(1).max(1_000_000),
  /** Poisoned events in 5 minutes above which it alarms (0: any). */
  poisonedEvents: number().int().min(0).max(1_000_000),
  /** Age of the oldest accepted event not yet published, in seconds. */
  oldestPendingAgeSeconds: number()
    .int()
    .min(60)
    .max(14 * 86_400),
  /** Messages in the broadcast DLQ above which it alarms (0: any). */
  broadcastDlqDepth: number().int().min(0).max(1_000_000),
  /** WebSocket API execution errors (calling the connections function failed) in 5 minutes. */
  websocketErrors: number().int().min(1).max(1_000_000),
  /** A function's errors in 5 minutes. */
  lambdaErrors: number().int().min(1).max(1_000_000),
  /** A function's throttles in 5 minutes. */
  lambdaThrottles: number().int().min(1).max(1_000_000),
  /** A function's p99 duration as a share of its timeout. */
  durationShareOfTimeout: number().gt(0).max(1),
}).partial();

export const SourceSchema = object({
  name: nameSchema,
  provider: zEnum(PROVIDERS),
  secret: SecretRefSchema,
  /** Largest accepted body in bytes; 413 above it. */
  maxBodyBytes: number()
    .int()
    .positive()
    .max(MAX_BODY_BYTES_CEILING)
    .default(1024 * 1024),
  /** Symmetric window for signed timestamps, in seconds. Default depends on the provider (Linear 60, else 300). */
  toleranceSeconds: number().int().positive().max(3600).optional(),
  /** Steady requests per second allowed on this source's route. */
  rateLimitPerSecond: number().positive().max(10_000).default(50),
  /** Burst allowed on this source's route. */
  burstLimit: number().int().positive().max(5_000).default(100),
  /**
   * Seconds a body is deduplicated by its SHA-256 when the provider sends no delivery id (generic sources without a
   * `deliveryIdHeader`, Twilio): long enough to absorb a sender's retries, short enough that identical bodies sent
   * on purpose (a heartbeat, a repeated status) are accepted again.
   */
  bodyHashDedupeSeconds: number().int().min(1).max(86_400).default(300),
  /**
   * Public base URL of the webhook API as providers call it, when it differs from the API Gateway endpoint: a custom
   * domain with its base path, e.g. `https://hooks.example.com/router`. Twilio signs the full URL it called, and
   * API Gateway's `rawPath` omits a custom domain's base path, so ingest rebuilds the URL as this base +
   * `/webhooks/<source>/<token>` + the query. Default: the API Gateway endpoint the request came to.
   */
  publicUrl: string()
    .url()
    .refine((u) => /^https?:\/\/[^?#]*$/.test(u), 'must be an http(s) URL without query or fragment')
    .optional(),
  generic: GenericHmacSchema.optional(),
  /** Overrides of this source's alarm thresholds. */
  alarms: SourceAlarmsSchema.optional(),
}).superRefine((source, ctx) => {
  if (source.provider === 'generic' && !source.generic) {
    ctx.addIssue({ code: 'custom', path: ['generic'], message: 'is required when provider is "generic"' });
  }
  if (source.provider !== 'generic' && source.generic) {
    ctx.addIssue({
      code: 'custom',
      path: ['generic'],
      message: 'is only allowed when provider is "generic"',
    });
  }
});
export type SourceConfig = z.infer<typeof SourceSchema>;
export type SourceInput = z.input<typeof SourceSchema>;

const retryStatusSchema = string().regex(
  /^(?:[1-5]xx|[1-5][0-9]{2})$/,
  'must be an HTTP status ("429") or a class ("5xx")',
);

export const RetryPolicySchema = object({
  /** Delivery attempts in all, the first included; after the last the failure is recorded and the message moves to the DLQ. */
  maxAttempts: number().int().min(1).max(100).default(5),
  /** How the delay grows between attempts (full jitter is applied to each). */
  policy: zEnum(RETRY_POLICIES).default('exponential'),
  /** Delay before the second attempt. */
  initialDelaySeconds: number().int().min(1).max(43_200).default(5),
  /** Longest delay between two attempts (an SQS visibility timeout: at most 12 h after the receive). */
  maxDelaySeconds: number().int().min(1).max(43_200).default(900),
  /** Target answers worth another attempt; any other non-2xx answer fails the delivery at once. */
  retryOn: array(retryStatusSchema)
    .min(1)
    .default([...DEFAULT_RETRY_ON]),
});
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

/** EventBridge rejects event patterns longer than this (characters of the JSON). */
export const MAX_PATTERN_LENGTH = 2048;

const eventPatternSchema = record(string(), unknown()).superRefine((pattern, ctx) => {
  const length = JSON.stringify(pattern).length;
  if (length > MAX_PATTERN_LENGTH) {
    ctx.addIssue({
      code: 'custom',
      message: `event pattern is ${length} characters; EventBridge allows ${MAX_PATTERN_LENGTH}`,
    });
    return;
  }
  try {
    validatePattern(pattern);
  } catch (error) {
    if (error instanceof PatternError) {
      ctx.addIssue({ code: 'custom', message: `invalid event pattern at ${error.path}: ${error.reason}` });
    } else throw error;
  }
});

export { TARGET_KINDS, type TargetKind } from './contracts';

const PARTITION = 'arn:aws(?:-[a-z]+)*';
const REGION = '[a-z]{2}(?:-[a-z]+)+-\\d';
const ACCOUNT = '\\d{12}';
const arn = (service: string, resource: string, example: string) =>
  string().regex(
    new RegExp(`^${PARTITION}:${service}:${REGION}:${ACCOUNT}:${resource}$`),
    `must be the ARN of ${example}`,
  );

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Header names a target may not set: the signature, the content type and the hop-by-hop headers. */
const RESERVED_HEADERS =
  /^(webhook-(id|timestamp|signature)|content-(type|length)|host|connection|transfer-encoding)$/i;

/**
 * The circuit breaker of a target: after `consecutiveFailures` failed attempts in a row, or a failure ratio of at
 * least `failureRatio` over `windowSeconds` (once `minimumAttempts` were made in it), the target stops consuming its
 * queue — events wait there, nothing is dropped. After `openSeconds` one probe delivery is tried: success closes the
 * breaker, failure opens it again for twice as long, at most `maxOpenSeconds`.
 */
export const CircuitBreakerSchema = object({
  consecutiveFailures: number().int().min(1).max(1000).default(20),
  failureRatio: number().gt(0).max(1).default(0.5),
  minimumAttempts: number().int().min(1).max(100_000).default(20),
  windowSeconds: number().int().min(10).max(3600).default(60),
  openSeconds: number().int().min(10).max(3600).default(60),
  maxOpenSeconds: number().int().min(10).max(86_400).default(3600),
}).refine((b) => b.maxOpenSeconds >= b.openSeconds, {
  message: 'maxOpenSeconds must be at least openSeconds',
  path: ['maxOpenSeconds'],
});
export type CircuitBreakerConfig = z.infer<typeof CircuitBreakerSchema>;

/** What every target has, whatever its kind. */
const targetFields = {
  name: nameSchema,
  /** EventBridge event pattern over the bus event (`source`, `detail-type`, `detail` = the envelope). */
  filter: eventPatternSchema,
  retry: RetryPolicySchema.default(RetryPolicySchema.parse({})),
  /** SQS messages per delivery invocation. */
  batchSize: number().int().min(1).max(100).default(10),
  /** Most concurrent delivery invocations for this target (Lambda SQS maximum concurrency, ≥ 2). */
  concurrency: number().int().min(2).max(1000).default(5),
  /** Timeout of one call to the target (an HTTP POST, a SendMessage, an Invoke, a PutEvents), in seconds. */
  timeoutSeconds: number().int().min(1).max(60).default(10),
  /**
   * JSONata expression (https://jsonata.org) applied to the envelope; its result is what the target receives. It sees
   * the parsed envelope (integers beyond 2^53 rounded). An evaluation error fails the delivery at once, with its
   * reason. Try one with `npx event-router test-transform --transform … --event …`.
   */
  transform: string().max(10_000).optional(),
  /** The circuit breaker (`false`: never pause on failures). */
  circuitBreaker: union([literal(false), CircuitBreakerSchema]).prefault({}),
  /**
   * Most deliveries per second to this target, across all its concurrent delivery functions (a shared counter in
   * the event store; at most 1,000: one DynamoDB partition key takes 1,000 writes per second). Unset: as fast as
   * `concurrency` allows.
   */
  rateLimitPerSecond: number().int().min(1).max(1000).optional(),
  /**
   * Ordered delivery per key (opt-in): the target's queue is an SQS FIFO queue whose message group is the value of
   * `key` in the envelope (a dot path: `subject`, `source`, `data.repository.full_name`; default `subject`).
   * Events with the same key are delivered one at a time, in the order they were accepted; a failing one holds
   * those behind it until it succeeds or its retries run out (then it goes to the DLQ and the next is delivered).
   * Events without the key share one group. An ordered target takes one message per invocation (`batchSize` is not
   * used) and runs at most `concurrency` groups at once. See README "Ordered delivery" for the throughput limits.
   */
  ordering: object({
    key: string()
      .regex(/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/, 'must be a dot path into the envelope')
      .default('subject'),
  }).optional(),
  /** Overrides of this target's alarm thresholds. */
  alarms: TargetAlarmsSchema.optional(),
};

const targetSchemas = {
  http: object({
    ...targetFields,
    kind: literal('http'),
    url: string().url(),
    /** Standard Webhooks signing secret. Default: a secret generated for this target at deploy. */
    signingSecret: SecretRefSchema.optional(),
    /**
     * Allow `http://` (default: https only): the body and its signature would travel in clear text.
     * @default false
     */
    allowInsecure: boolean().default(false),
    /**
     * Allow addresses that are not public — loopback, link-local (instance metadata), private, CGNAT, multicast —
     * checked here for a literal address and at every delivery after DNS resolution (core/network.ts).
     * @default false
     */
    allowPrivateNetwork: boolean().default(false),
    /** Extra headers on every request (never the signature or content headers). */
    headers: record(string(), string().regex(/^[\t\x20-\x7e]*$/, 'must be visible ASCII')).optional(),
  }),
  sqs: object({
    ...targetFields,
    kind: literal('sqs'),
    /** The queue, possibly in another account (its queue policy must let this router's role send). */
    queueArn: arn(
      'sqs',
      '[A-Za-z0-9_-]{1,80}(?:\\.fifo)?',
      'an SQS queue (arn:aws:sqs:<region>:<account>:<name>)',
    ),
    /** The queue's customer managed KMS key, when it has one: the sender needs kms:GenerateDataKey on it. */
    kmsKeyArn: arn('kms', 'key/[A-Za-z0-9-]+', 'a KMS key').optional(),
  }),
  lambda: object({
    ...targetFields,
    kind: literal('lambda'),
    /** The function, possibly in another account (its resource policy must let this router's role invoke it). */
    functionArn: arn(
      'lambda',
      'function:[A-Za-z0-9_-]{1,64}(?::(?:\\$LATEST|[A-Za-z0-9_-]{1,128}))?',
      'a Lambda function (arn:aws:lambda:<region>:<account>:function:<name>[:<alias>])',
    ),
    /**
     * `RequestResponse`: the target's answer decides the attempt (a function error is retried by the router's
     * policy). `Event`: delivered once Lambda has queued it; Lambda then retries by its own settings.
     */
    invocationType: zEnum(['RequestResponse', 'Event']).default('RequestResponse'),
  }),
  eventbridge: object({
    ...targetFields,
    kind: literal('eventbridge'),
    /** The bus, possibly in another account (its resource policy must let this router's role put events). */
    eventBusArn: arn('events', 'event-bus/[A-Za-z0-9._/-]{1,256}', 'an EventBridge event bus'),
  }),
} as const satisfies Record<TargetKind, unknown>;

export const TargetSchema = discriminatedUnion('kind', [
  targetSchemas.http,
  targetSchemas.sqs,
  targetSchemas.lambda,
  targetSchemas.eventbridge,
]).superRefine((target, ctx) => {
  const problem = retryScheduleProblem(target.retry, deliveryTimeoutSeconds(target));
  if (problem) ctx.addIssue({ code: 'custom', path: ['retry', problem.field], message: problem.message });
  if (target.transform !== undefined) {
    const transform = transformProblem(target.transform);
    if (transform) ctx.addIssue({ code: 'custom', path: ['transform'], message: transform.message });
  }
  if (target.kind === 'http') {
    for (const name of Object.keys(target.headers ?? {})) {
      const problem = !HEADER_NAME.test(name)
        ? 'must be an HTTP header name'
        : RESERVED_HEADERS.test(name)
          ? 'is set by the router (signature, content or hop-by-hop header)'
          : undefined;
      if (problem) ctx.addIssue({ code: 'custom', path: ['headers', name], message: problem });
    }
    // The SSRF guard at synth: a literal address or a local name; delivery checks every resolved address again.
    const urlProblem = hostProblem(target.url, target);
    if (urlProblem) ctx.addIssue({ code: 'custom', path: ['url'], message: urlProblem });
  }
});
export type TargetConfig = z.infer<typeof TargetSchema>;
export type TargetInput = z.input<typeof TargetSchema>;
/** The config of one kind of target. */
export type TargetConfigOf<K extends TargetKind> = Extract<TargetConfig, { kind: K }>;
export type HttpTargetConfig = TargetConfigOf<'http'>;
export type HttpTargetInput = Extract<TargetInput, { kind: 'http' }>;

/** An issuer's or a JWKS URL: https, or http on a loopback address (the local stack and tests). */
const oidcUrl = (what: 'issuer' | 'jwksUri') =>
  string().superRefine((url, ctx) => {
    const problem = oidcUrlProblem(url, what);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * Agents may also connect with a JWT from this OIDC issuer (README "Live agents"): its signature is checked against
 * the issuer's published keys, its `iss`, `aud`, `exp` and `nbf` against these settings, and the agent may subscribe
 * within the patterns the token's `patternsClaim` holds. Strict: a misspelt setting is an error, not a default.
 */
export const OidcSchema = strictObject({
  /** The issuer identifier, exactly as tokens carry it in `iss` (https; e.g. `https://login.example.com/`). */
  issuer: oidcUrl('issuer'),
  /** The audience tokens must name in `aud` (one of these, when a list). */
  audience: union([string().min(1), array(string().min(1)).min(1).max(20)], {
    error: 'must be the audience tokens name in "aud": a string, or a list of 1-20 strings',
  }),
  /** The issuer's JWKS. Default: `jwks_uri` of `<issuer>/.well-known/openid-configuration`. */
  jwksUri: oidcUrl('jwksUri').optional(),
  /**
   * The claim holding the EventBridge patterns the token allows: a JSON array of patterns, one pattern, or a string
   * holding the JSON of either.
   */
  patternsClaim: string().min(1).max(256).default(OIDC_DEFAULTS.patternsClaim),
  /** Patterns allowed to a token without `patternsClaim`. Default: none (such a token is refused, 403). */
  defaultPatterns: array(record(string(), unknown()))
    .min(1, 'must list at least one pattern (leave it out to refuse tokens without the claim)')
    .max(AGENT_LIMITS.maxPatterns)
    .superRefine((patterns, ctx) => {
      patterns.forEach((pattern, i) => {
        // The same limits as an agent key's patterns: each is a subscription an agent may make.
        const parsed = parseSubscription(pattern);
        if (!parsed.ok) ctx.addIssue({ code: 'custom', path: [i], message: parsed.reason });
      });
    })
    .optional(),
  /** The claim naming the agent (a token without it is named by its `sub`). */
  nameClaim: string().min(1).max(256).default(OIDC_DEFAULTS.nameClaim),
  /** Live connections one subject (`iss` + `sub`) may hold at once. */
  maxConnections: number()
    .int()
    .min(1)
    .max(AGENT_LIMITS.maxConnections)
    .default(OIDC_DEFAULTS.maxConnections),
  /** Signature algorithms accepted (asymmetric only). */
  algorithms: array(zEnum(OIDC_ALGORITHMS))
    .min(1)
    .default([...OIDC_DEFAULTS.algorithms]),
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. */
  clockToleranceSeconds: number().int().min(0).max(300).default(OIDC_DEFAULTS.clockToleranceSeconds),
});
export type OidcConfig = z.infer<typeof OidcSchema>;
export type OidcInput = z.input<typeof OidcSchema>;

export const RouterConfigSchema = object({
  sources: array(SourceSchema).min(1, 'must list at least one source'),
  targets: array(TargetSchema).default([]),
  /** Days events are kept in the store; must cover the dedupe window. */
  retentionDays: number().int().min(1).max(3650).default(30),
  /** Days a provider's delivery id is deduplicated after first sight (beyond the providers' retry windows). */
  dedupeDays: number().int().min(1).max(365).default(7),
  /** Days the delivery log (every attempt) and failure records are kept; at most retentionDays. */
  deliveryLogDays: number().int().min(1).max(3650).optional(),
  /** Days the EventBridge archive keeps events for replay (0 = forever). */
  archiveRetentionDays: number().int().min(0).max(3650).default(30),
  liveStream: object({
    /** Whether the WebSocket API is created. */
    enabled: boolean().default(true),
    /**
     * Seconds a connection record lives without refresh (API Gateway closes connections after 2 h). At least 600: the
     * SDK's keepalive renews it every 5 minutes, and an expired record is not renewed (its connection is closed).
     */
    connectionTtlSeconds: number().int().min(600).max(7200).default(7200),
    /**
     * Throttle of the `$connect` route: every connect attempt, authenticated or not, invokes the connections function,
     * so this bounds what a connect flood costs (API Gateway allows 500 new connections/s per account and Region).
     */
    connectThrottle: object({
      rateLimit: number().int().min(1).max(500),
      burstLimit: number().int().min(1).max(5000),
    }).default({ rateLimit: 50, burstLimit: 100 }),
    /** JWTs from an OIDC issuer, besides agent keys (optional). */
    oidc: OidcSchema.optional(),
  }).default({
    enabled: true,
    connectionTtlSeconds: 7200,
    connectThrottle: { rateLimit: 50, burstLimit: 100 },
  }),
  /**
   * Concurrency reserved for the ingest function: no other function of the account can take it, and ingest can never
   * use more. Unset by default because AWS refuses any reservation that leaves less than 100 unreserved executions,
   * and new accounts start with a concurrency quota of 10 (raise the quota first, then set this).
   */
  ingestReservedConcurrency: number().int().min(1).max(10_000).optional(),
  /**
   * Where alarms notify and router-wide threshold overrides. Every alarm notifies one SNS topic (its ARN is the
   * `AlarmTopic` output); each address here is subscribed to it and must confirm the subscription by e-mail.
   */
  alarms: object({
    email: array(string().email()).max(20).default([]),
    thresholds: RouterAlarmThresholdsSchema.default({}),
  }).default({ email: [], thresholds: {} }),
}).superRefine((config, ctx) => {
  const dup = (items: { name: string }[], field: 'sources' | 'targets') => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item.name)) {
        ctx.addIssue({
          code: 'custom',
          path: [field, i, 'name'],
          message: `duplicate name "${item.name}"`,
        });
      }
      seen.add(item.name);
    });
  };
  dup(config.sources, 'sources');
  dup(config.targets, 'targets');
  const emails = new Set<string>();
  config.alarms.email.forEach((address, i) => {
    // Each address is subscribed once (addresses are compared without case, as mail providers do).
    if (emails.has(address.toLowerCase())) {
      ctx.addIssue({
        code: 'custom',
        path: ['alarms', 'email', i],
        message: `duplicate address "${address}"`,
      });
    }
    emails.add(address.toLowerCase());
  });
  if (config.retentionDays < config.dedupeDays) {
    ctx.addIssue({
      code: 'custom',
      path: ['retentionDays'],
      message: `must be at least dedupeDays (${config.dedupeDays}): a delivery id is answered from its stored event`,
    });
  }
  if (config.deliveryLogDays !== undefined && config.deliveryLogDays > config.retentionDays) {
    ctx.addIssue({
      code: 'custom',
      path: ['deliveryLogDays'],
      message: `must be at most retentionDays (${config.retentionDays}): an attempt without its event cannot be redelivered`,
    });
  }
});
export type RouterConfig = z.infer<typeof RouterConfigSchema>;
export type RouterConfigInput = z.input<typeof RouterConfigSchema>;

export class RouterConfigError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`Invalid router config:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'RouterConfigError';
  }
}

/** Formats a zod path as `targets[0].filter`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  }
  return out || '(root)';
}

/** Validates and fills defaults; throws RouterConfigError naming every bad field and why. */
export function parseRouterConfig(input: unknown): RouterConfig {
  const result = RouterConfigSchema.safeParse(input);
  if (result.success) return result.data;
  throw new RouterConfigError(
    result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
  );
}

/** Identity helper that gives a config file types and editor completion. */
export function defineRouterConfig(config: RouterConfigInput): RouterConfigInput {
  return config;
}
