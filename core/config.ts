/**
 * The router config: the single source of truth for sources, targets, filters and retry policies.
 * The CDK stack and the local runtime both read it, through `planTopology` (core/plan.ts).
 */
import type { z } from 'zod';
import { array, boolean, literal, number, object, record, string, unknown, enum as zEnum } from 'zod';
import { PROVIDERS } from './contracts';
import { PatternError, validatePattern } from './pattern';
import { deliveryTimeoutSeconds } from './plan';
import { DEFAULT_RETRY_ON, RETRY_POLICIES, retryScheduleProblem } from './retry';

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

export const HttpTargetSchema = object({
  name: nameSchema,
  kind: literal('http'),
  url: string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL'),
  /** EventBridge event pattern over the bus event (`source`, `detail-type`, `detail` = the envelope). */
  filter: eventPatternSchema,
  retry: RetryPolicySchema.default(RetryPolicySchema.parse({})),
  /** SQS messages per delivery invocation. */
  batchSize: number().int().min(1).max(100).default(10),
  /** Most concurrent delivery invocations for this target (Lambda SQS maximum concurrency, ≥ 2). */
  concurrency: number().int().min(2).max(1000).default(5),
  /** Timeout of one HTTP POST to the target, in seconds. */
  timeoutSeconds: number().int().min(1).max(60).default(10),
  /** Standard Webhooks signing secret. Default: a secret generated for this target at deploy. */
  signingSecret: SecretRefSchema.optional(),
}).superRefine((target, ctx) => {
  const problem = retryScheduleProblem(target.retry, deliveryTimeoutSeconds(target));
  if (problem) ctx.addIssue({ code: 'custom', path: ['retry', problem.field], message: problem.message });
});
export type HttpTargetConfig = z.infer<typeof HttpTargetSchema>;
export type HttpTargetInput = z.input<typeof HttpTargetSchema>;
export type TargetConfig = HttpTargetConfig;

export const RouterConfigSchema = object({
  sources: array(SourceSchema).min(1, 'must list at least one source'),
  targets: array(HttpTargetSchema).default([]),
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
    /** Seconds a connection record lives without refresh (API Gateway closes connections after 2 h). */
    connectionTtlSeconds: number().int().min(60).max(7200).default(7200),
    /**
     * Throttle of the `$connect` route: every connect attempt, authenticated or not, invokes the connections function,
     * so this bounds what a connect flood costs (API Gateway allows 500 new connections/s per account and Region).
     */
    connectThrottle: object({
      rateLimit: number().int().min(1).max(500),
      burstLimit: number().int().min(1).max(5000),
    }).default({ rateLimit: 50, burstLimit: 100 }),
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
