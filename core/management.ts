/**
 * The management API's contract: one schema module for every request and response, and the route table. The
 * handler (lambdas/management) validates with these schemas, the CLI types its calls with them, and the OpenAPI
 * document (core/openapi.ts) is generated from them.
 */
import type { z } from 'zod';
import {
  array,
  boolean,
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

const NAME = /^[a-z][a-z0-9-]{0,39}$/;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export const eventId = string().regex(ULID, 'must be an event id (a ULID)');
const isoTime = string().datetime({
  offset: true,
  message: 'must be an ISO-8601 time, e.g. 2026-12-01T12:00:00Z',
});
const targetName = string().regex(NAME, 'must be a target name');

/** `GET /v1/events` query. */
export const ListEventsQuery = strictObject({
  source: string()
    .regex(/^[a-z][a-z0-9.-]{0,60}$/, 'must be a source name')
    .optional(),
  type: string().min(1).max(256).optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
  limit: string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(number().int().min(1, 'must be at least 1').max(100, 'must be at most 100'))
    .optional(),
  cursor: string().max(2048).optional(),
});

export const EventSummary = object({
  id: eventId,
  source: string(),
  type: string(),
  subject: string().nullable(),
  deliveryId: string().nullable(),
  receivedAt: string(),
});
export type EventSummary = z.infer<typeof EventSummary>;

export const EventList = object({
  events: array(EventSummary),
  /** Opaque; pass it back for the next (older) page. Absent on the last page. */
  cursor: string().optional(),
});
export type EventList = z.infer<typeof EventList>;

export const AttemptView = object({
  round: string(),
  attempt: number(),
  at: string(),
  outcome: zEnum(['delivered', 'retrying', 'failed', 'gone']),
  status: number().optional(),
  latencyMs: number(),
  error: string().optional(),
  /** At most 1 KB of what the target answered. */
  response: string().optional(),
});

export const TargetDelivery = object({
  target: string(),
  /** delivered · retrying · failed (for good) · paused (the target is gone or paused) · pending (no attempt yet). */
  status: zEnum(['delivered', 'retrying', 'failed', 'paused', 'pending']),
  attempts: array(AttemptView),
  failure: object({
    error: string(),
    attempts: number(),
    failedAt: string(),
    status: number().optional(),
  }).optional(),
});

export const EventDetail = object({
  /** The envelope as stored; `data` resolved when the payload travelled by pointer. */
  event: record(string(), unknown()),
  deliveries: array(TargetDelivery),
});
export type EventDetail = z.infer<typeof EventDetail>;

/** One internal event to publish: source `internal.<name>`, routed and streamed like a webhook. */
export const PublishOne = strictObject({
  source: string().regex(NAME, 'must be 1-40 lower-case letters, digits and "-", starting with a letter'),
  type: string()
    .min(1)
    .max(256)
    .regex(/^[A-Za-z0-9._:/-]+$/, 'must be letters, digits and . _ : / -'),
  subject: string().max(1024).optional(),
  data: unknown().refine((v) => v !== undefined, 'is required'),
  /** Publishing again with the same key (within the dedupe window) returns the first event. */
  idempotencyKey: string().min(1).max(256).optional(),
});
/** A batch: up to 10 events, each stored and published on its own (one may fail while the others succeed). */
export const PublishBatch = strictObject({ events: array(PublishOne).min(1).max(10) });
/** One event, or a batch (a body with `events`). */
export const PublishRequest = union([PublishOne, PublishBatch]);
export type PublishRequest = z.infer<typeof PublishRequest>;

export const PublishResult = object({
  events: array(object({ id: eventId, duplicate: boolean() })),
});

export const RedeliverRequest = strictObject({
  /** Targets to deliver to again; default: every target whose filter matches the event. */
  targets: array(targetName).min(1).max(100).optional(),
});
export const RedeliverResult = object({
  redelivered: array(object({ target: string(), round: string() })),
});

export const ReplayRequest = strictObject({
  from: isoTime,
  to: isoTime,
  /** EventBridge pattern the replayed events must match besides the target's own filter. */
  pattern: record(string(), unknown()).optional(),
  /** The one target that receives the replay (never every target). */
  target: targetName,
  /**
   * Also stream the replayed events to the connected live agents whose subscription matches them. Off unless
   * asked: agents see a replay only when an operator says so (409 on a stack without a live stream).
   */
  live: boolean().optional(),
});
export type ReplayRequest = z.infer<typeof ReplayRequest>;

export const JobStatus = zEnum(['running', 'done', 'cancelled', 'failed']);
export const Job = object({
  id: string(),
  kind: zEnum(['replay', 'redrive']),
  status: JobStatus,
  target: string(),
  /** Events looked at, matched (sent or to be sent), and sent. */
  scanned: number(),
  matched: number(),
  sent: number(),
  createdAt: string(),
  updatedAt: string(),
  error: string().optional(),
  request: record(string(), unknown()),
});
export type Job = z.infer<typeof Job>;

export const TargetView = object({
  name: string(),
  kind: string(),
  endpoint: string(),
  /** active · paused (by hand) · open / half-open (circuit breaker) · gone (410, resumed by hand). */
  state: zEnum(['active', 'paused', 'open', 'half-open', 'gone']),
  reason: string().optional(),
  /** When the state began; null for a target that has always been active. */
  since: string().nullable(),
  queueDepth: number(),
  inFlight: number(),
  dlqDepth: number(),
  /** From CloudWatch (ApproximateAgeOfOldestMessage); null when it has no recent datapoint. */
  oldestMessageAgeSeconds: number().nullable(),
  lastSuccessAt: string().nullable(),
  lastFailureAt: string().nullable(),
});
export type TargetView = z.infer<typeof TargetView>;
export const TargetList = object({ targets: array(TargetView) });

export const FailedQuery = strictObject({
  limit: ListEventsQuery.shape.limit,
  cursor: string().max(2048).optional(),
});
export const FailedList = object({
  failures: array(
    object({
      eventId: string(),
      round: string(),
      attempts: number(),
      status: number().optional(),
      error: string(),
      failedAt: string(),
    }),
  ),
  /** Messages in the DLQ now (failed deliveries, and messages that crashed the delivery function). */
  dlqDepth: number(),
  cursor: string().optional(),
});

export const RedriveRequest = strictObject({
  /** Events to redrive; default: every failed delivery of the target (failure records and DLQ). */
  eventIds: array(eventId).min(1).max(1000).optional(),
});

export const Health = object({ status: zEnum(['ok', 'degraded']), version: string() });
export const DeepHealth = object({
  status: zEnum(['ok', 'degraded']),
  version: string(),
  checks: array(object({ name: string(), ok: boolean(), latencyMs: number(), error: string().optional() })),
});

const agentKeyId = string().regex(/^[0-9a-f]{16}$/, 'must be an agent key id (16 hex characters)');

/** `POST /v1/agents`: a new agent key, allowed the events its patterns match. */
export const CreateAgentRequest = strictObject({
  name: string().regex(NAME, 'must be 1-40 lower-case letters, digits and "-", starting with a letter'),
  /** EventBridge patterns over the bus event; the key's subscriptions must stay within one of them. */
  patterns: array(record(string(), unknown())).min(1).max(10),
  /** Live connections the key may hold at once. */
  maxConnections: number().int().min(1).max(100).optional(),
});
export type CreateAgentRequest = z.infer<typeof CreateAgentRequest>;

export const AgentView = object({
  id: agentKeyId,
  name: string(),
  patterns: array(record(string(), unknown())),
  maxConnections: number(),
  createdAt: string(),
  revokedAt: string().nullable(),
  /** Its live connections now. */
  connections: number(),
});
export type AgentView = z.infer<typeof AgentView>;

/** The key itself appears in this answer only: it is stored hashed. */
export const CreatedAgent = object({ agent: AgentView, key: string() });
export const AgentList = object({ agents: array(AgentView) });
export const RevokedAgent = object({
  agent: AgentView,
  /** Live connections closed by the revocation. */
  disconnected: number(),
});

/** `application/problem+json` (RFC 9457): what went wrong, and for a 400 which fields. */
export const Problem = object({
  type: literal('about:blank'),
  title: string(),
  status: number(),
  detail: string(),
  errors: array(object({ path: string(), message: string() })).optional(),
});
export type Problem = z.infer<typeof Problem>;

/** A route of the API: what the router serves and the OpenAPI document describes. */
export interface RouteSpec {
  readonly method: 'GET' | 'POST';
  /** Path with `{param}` placeholders. */
  readonly path: string;
  readonly summary: string;
  /** Needs the operator policy (changes something); otherwise the reader policy suffices. */
  readonly operator: boolean;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  readonly response: z.ZodType;
  /** The success status. */
  readonly status: 200 | 201 | 202;
}

export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    path: '/health',
    summary: 'Liveness (no credentials needed)',
    operator: false,
    response: Health,
    status: 200,
  },
  {
    method: 'GET',
    path: '/v1/health',
    summary: 'Reachability of the table, the bus and the queues',
    operator: false,
    response: DeepHealth,
    status: 200,
  },
  {
    method: 'GET',
    path: '/v1/events',
    summary: 'Stored events, newest first, with cursor paging',
    operator: false,
    query: ListEventsQuery,
    response: EventList,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/events',
    summary: 'Publish internal events (source internal.<name>), up to 10',
    operator: true,
    body: PublishRequest,
    response: PublishResult,
    status: 202,
  },
  {
    method: 'GET',
    path: '/v1/events/{id}',
    summary: 'An event, its payload, and its deliveries per target',
    operator: false,
    response: EventDetail,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/events/{id}/redeliver',
    summary: 'Deliver an event again (to the given targets, or every matching one)',
    operator: true,
    body: RedeliverRequest,
    response: RedeliverResult,
    status: 202,
  },
  {
    method: 'POST',
    path: '/v1/replays',
    summary: 'Replay stored events of a time range, filtered by a pattern, to one target',
    operator: true,
    body: ReplayRequest,
    response: Job,
    status: 202,
  },
  {
    method: 'GET',
    path: '/v1/replays/{id}',
    summary: 'A replay job and its progress',
    operator: false,
    response: Job,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/replays/{id}/cancel',
    summary: 'Cancel a replay job',
    operator: true,
    response: Job,
    status: 202,
  },
  {
    method: 'GET',
    path: '/v1/targets',
    summary: 'Every target with its state and queues',
    operator: false,
    response: TargetList,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/targets/{name}/pause',
    summary: 'Stop consuming the target queue (messages wait; nothing is dropped)',
    operator: true,
    response: TargetView,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/targets/{name}/resume',
    summary: 'Consume the target queue again',
    operator: true,
    response: TargetView,
    status: 200,
  },
  {
    method: 'GET',
    path: '/v1/targets/{name}/failed',
    summary: 'Failed deliveries with their reasons, and the DLQ depth',
    operator: false,
    query: FailedQuery,
    response: FailedList,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/targets/{name}/redrive',
    summary: 'Deliver failed events again (all, or the given ids), as a job with progress',
    operator: true,
    body: RedriveRequest,
    response: Job,
    status: 202,
  },
  {
    method: 'GET',
    path: '/v1/jobs/{id}',
    summary: 'A replay or redrive job and its progress',
    operator: false,
    response: Job,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/jobs/{id}/cancel',
    summary: 'Cancel a replay or redrive job (what was sent stays sent)',
    operator: true,
    response: Job,
    status: 202,
  },
  {
    method: 'POST',
    path: '/v1/agents',
    summary: 'Create an agent key for the live stream (the key is in this answer only)',
    operator: true,
    body: CreateAgentRequest,
    response: CreatedAgent,
    status: 201,
  },
  {
    method: 'GET',
    path: '/v1/agents',
    summary: 'Every agent key (never the keys themselves) and its live connections',
    operator: false,
    response: AgentList,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/agents/{id}/revoke',
    summary: 'Revoke an agent key and close its live connections',
    operator: true,
    response: RevokedAgent,
    status: 200,
  },
];
