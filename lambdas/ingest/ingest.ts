/**
 * The ingest domain: verify → parse → normalise → store durably → publish. Receives its clients; the Lambda handler
 * only adapts API Gateway events to this.
 *
 * Exactly one publish per stored event from the ingest path, however many copies of a webhook arrive at once:
 * 1. the dedupe record (`DEDUPE#<source>#<delivery id or body hash>`) is claimed with a conditional put — the one
 *    writer that wins also holds the *publish claim* until `claimUntil`;
 * 2. it stores the event, publishes it and marks the dedupe record `published`;
 * 3. a duplicate never publishes while that claim may still be in use: it makes sure the event is stored (a writer
 *    that crashed between claim and store leaves it to the duplicate) and, when the event is not known to be
 *    published, leaves a pending marker for the sweeper, which publishes only if nobody did by the time the claim
 *    expired. A duplicate that finds the claim expired and the event unpublished takes the claim over itself.
 * A publish that fails leaves a pending marker too: the event is acknowledged (202) only once it is either on the bus
 * or durably marked for the sweeper.
 */
import { createHash, randomFillSync } from 'node:crypto';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import { monotonicFactory } from 'ulid';
import type { Envelope, PayloadRef } from '../../core/contracts';
import { INGEST_TIMEOUT_SECONDS } from '../../core/queues';
import type { RuntimeSource } from '../../core/runtime-config';
import type { DynamoClient } from '../shared/dynamo';
import {
  claimDedupe,
  type DedupeKey,
  expiresAfterDays,
  getDedupe,
  getEvent,
  markPublished,
  putEvent,
  putPending,
  releaseClaim,
  type SerializedEvent,
  takeClaim,
} from '../shared/event-store';
import { type HttpResponse, json, problem } from '../shared/http';
import type { LiveGate } from '../shared/live-gate';
import type { OrderedSender } from '../shared/ordered';
import { publishAll } from '../shared/publish';
import type { SecretReader } from '../shared/secrets';
import { parseBody } from './body';
import { getAdapter, keptHeadersFor } from './providers';
import type { WebhookRequest } from './providers/types';

/**
 * Largest envelope that travels inline. Above it the payload goes to S3 and the envelope carries a pointer, so that
 * every event fits an EventBridge entry, a DynamoDB item (400 KB) and a WebSocket message (128 KB).
 */
export const INLINE_ENVELOPE_LIMIT = 100_000;

/**
 * How long the writer that claimed a dedupe key may still be publishing: longer than the function can run, so that
 * when it expires the writer is certainly gone (crashed or timed out) and someone else may publish.
 */
export const CLAIM_MS = (INGEST_TIMEOUT_SECONDS + 5) * 1000;

export interface IngestRequest extends WebhookRequest {
  readonly method: string;
  /** The source named by the path (`/webhooks/<source>/…`), whether or not it exists. */
  readonly sourceName: string;
  /**
   * The request came through a source's own URL (`POST /webhooks/<source>/<url token>`): API Gateway only routes
   * there when the token is right. Anything else reached the catch-all route.
   */
  readonly viaSourceRoute: boolean;
}

export interface IngestDeps {
  readonly sources: ReadonlyMap<string, RuntimeSource>;
  readonly readSecrets: SecretReader;
  readonly doc: DynamoClient;
  readonly eventBridge: EventBridgeClient;
  /** Only for payloads over the inline limit (the handler loads it on first use). */
  readonly s3: Pick<S3Client, 'send'>;
  readonly tableName: string;
  readonly busName: string;
  readonly payloadBucket: string;
  readonly retentionDays: number;
  /** Days a provider's delivery id is deduplicated. */
  readonly dedupeDays: number;
  /** Sends each published event to the ordered targets' FIFO queues (absent when no target is ordered). */
  readonly ordered?: OrderedSender;
  /** Whether live agents may be connected: published events are marked for the broadcast rule then. */
  readonly live?: LiveGate;
  readonly now: () => number;
  /** Hooks for logs and metrics; the domain never imports Powertools. */
  readonly observe?: IngestObserver;
}

export interface IngestObserver {
  /** A request refused: its status, the error code and the message the sender got. */
  rejected(source: string, statusCode: number, reason: string, message: string): void;
  accepted(envelope: Envelope, duplicate: boolean): void;
  publishFailed(envelope: Envelope, error: unknown): void;
  storageFailed(source: string, error: unknown): void;
}

/**
 * Random fractions for ULIDs from a pooled crypto buffer. ulid's own source asks crypto for one byte per character,
 * 16 calls per id (2 % of a webhook's CPU); this asks once per 256 ids, still from the system's CSPRNG.
 */
function pooledRandom(): () => number {
  const pool = Buffer.alloc(4096);
  let next = pool.length;
  return () => {
    if (next === pool.length) {
      randomFillSync(pool);
      next = 0;
    }
    return pool[next++]! / 256;
  };
}

const newId = monotonicFactory(pooledRandom());

const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Selected headers for the envelope: only those the adapter lists, never signatures. */
function keptHeaders(
  headers: Readonly<Record<string, string>>,
  names: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** What a webhook is deduplicated on, and for how long. */
export interface Dedupe {
  readonly key: string;
  /** TTL of the dedupe record, epoch seconds. */
  readonly expiresAt: number;
}

/** Outcome of the pure part of ingest: what to answer without I/O, or the event to store. */
export type Admission =
  | {
      readonly kind: 'answer';
      readonly response: HttpResponse;
      readonly rejected?: { readonly error: string; readonly message: string };
    }
  | {
      readonly kind: 'accept';
      readonly event: SerializedEvent;
      readonly dedupe: Dedupe;
      /** The payload's JSON text as received, when it came as JSON. */
      readonly dataJson: string | undefined;
      /** The payload must travel by pointer whatever its size (EventBridge would refuse it inline). */
      readonly mustOffload: boolean;
    };

type Answer = Extract<Admission, { kind: 'answer' }>;

const rejection = (
  statusCode: number,
  error: string,
  message: string,
  headers: Record<string, string> = {},
): Answer => ({
  kind: 'answer',
  response: problem(statusCode, error, message, headers),
  rejected: { error, message },
});

/** Checks that need neither the secret nor the body's content: route, source, method, size. */
export function precheck(
  request: IngestRequest,
  sources: ReadonlyMap<string, RuntimeSource>,
): Answer | { readonly kind: 'source'; readonly source: RuntimeSource } {
  const source = sources.get(request.sourceName);
  if (source && request.method !== 'POST') {
    return rejection(405, 'method_not_allowed', 'webhooks are delivered with POST', { allow: 'POST' });
  }
  // One answer for an unknown source and a wrong URL token: the answer must not tell which it was.
  if (!source || !request.viaSourceRoute) {
    return rejection(404, 'unknown_endpoint', 'no webhook endpoint at this URL');
  }
  const limit = source.config.maxBodyBytes;
  if (request.body.length > limit) {
    return rejection(
      413,
      'payload_too_large',
      `body is ${request.body.length} bytes; this source accepts ${limit}`,
    );
  }
  return { kind: 'source', source };
}

/**
 * The hot path, pure: verify the signature on the raw bytes, parse, normalise, and build the envelope and what it
 * is deduplicated on: the provider's delivery id for `dedupeDays`, else the body's SHA-256 for the source's short
 * `bodyHashDedupeSeconds` (identical bodies sent on purpose later are new events).
 */
export function admitWebhook(
  request: IngestRequest,
  source: RuntimeSource,
  secrets: readonly string[],
  nowMs: number,
  dedupeDays: number,
): Admission {
  const { config } = source;
  const adapter = getAdapter(config.provider);
  const verification = adapter.verify(request, {
    secrets,
    now: nowMs,
    toleranceSeconds: config.toleranceSeconds ?? adapter.defaultToleranceSeconds,
    source: config,
  });
  if (!verification.ok) return rejection(401, 'invalid_signature', verification.reason);

  const parsed = parseBody(request.body, request.headers['content-type'], adapter.bodyFormats);
  if (!parsed.ok) return rejection(parsed.statusCode, parsed.error, parsed.message);

  const normalised = adapter.normalise(request, parsed.value, config);
  if (normalised.handshake) {
    const { statusCode, contentType, body } = normalised.handshake;
    return { kind: 'answer', response: { statusCode, headers: { 'content-type': contentType }, body } };
  }
  const envelope: Envelope = {
    id: newId(nowMs),
    source: source.name,
    provider: config.provider,
    type: normalised.type,
    deliveryId: normalised.deliveryId,
    providerTime: normalised.providerTime,
    receivedAt: new Date(nowMs).toISOString(),
    subject: normalised.subject,
    headers: keptHeaders(request.headers, keptHeadersFor(adapter, config)),
    data: parsed.value,
  };
  const json = serializeEnvelope(envelope, parsed.json);
  const nowSeconds = Math.floor(nowMs / 1000);
  return {
    kind: 'accept',
    event: { envelope, json },
    dataJson: parsed.json,
    mustOffload: parsed.outsideInt64 === true,
    dedupe: normalised.deliveryId
      ? { key: normalised.deliveryId, expiresAt: nowSeconds + dedupeDays * 86_400 }
      : { key: `sha256:${sha256Hex(request.body)}`, expiresAt: nowSeconds + config.bodyHashDedupeSeconds },
  };
}

const unavailable = (error: string, message: string) => problem(503, error, message, { 'retry-after': '5' });

export async function ingestWebhook(request: IngestRequest, deps: IngestDeps): Promise<HttpResponse> {
  const answer = (admission: Answer) => {
    if (admission.rejected) {
      const { error, message } = admission.rejected;
      deps.observe?.rejected(request.sourceName, admission.response.statusCode, error, message);
    }
    return admission.response;
  };
  const checked = precheck(request, deps.sources);
  if (checked.kind === 'answer') return answer(checked);
  const { source } = checked;
  // The live lease is read (at most once a second) while the webhook is verified and stored, not after.
  void deps.live?.audience();

  let secrets: string[];
  try {
    secrets = await deps.readSecrets(source.config.secret.secretName);
  } catch (error) {
    deps.observe?.storageFailed(source.name, error);
    return unavailable('secret_unavailable', 'the signing secret could not be read; retry later');
  }
  const nowMs = deps.now();
  const admission = admitWebhook(request, source, secrets, nowMs, deps.dedupeDays);
  if (admission.kind === 'answer') return answer(admission);

  try {
    const outcome = await acceptEvent(
      admission,
      { source: source.name, dedupeKey: admission.dedupe.key },
      admission.dedupe,
      nowMs,
      deps,
    );
    deps.observe?.accepted(outcome.event.envelope, outcome.duplicate);
    const id = outcome.event.envelope.id;
    return json(202, outcome.duplicate ? { id, duplicate: true } : { id });
  } catch (error) {
    // Nothing was acknowledged: the sender retries, and the dedupe record makes the retry safe.
    deps.observe?.storageFailed(source.name, error);
    return unavailable('storage_unavailable', 'the event could not be stored; retry later');
  }
}

/** What storing and publishing an accepted event needs: ingest's dependencies without the sources and secrets. */
export type AcceptDeps = Pick<
  IngestDeps,
  | 'doc'
  | 'eventBridge'
  | 's3'
  | 'tableName'
  | 'busName'
  | 'payloadBucket'
  | 'retentionDays'
  | 'ordered'
  | 'live'
  | 'now'
  | 'observe'
>;

/**
 * The path every accepted event takes, a webhook or an internal event published through the management API: its
 * payload to S3 when it is too large to travel inline, then stored and published once (see storeAndPublish).
 */
export async function acceptEvent(
  admitted: { event: SerializedEvent; dataJson: string | undefined; mustOffload: boolean },
  key: DedupeKey,
  dedupe: Dedupe,
  nowMs: number,
  deps: AcceptDeps,
): Promise<{ event: SerializedEvent; duplicate: boolean }> {
  return storeAndPublish(await offloadIfLarge(admitted, deps), key, dedupe, nowMs, deps);
}

/**
 * Stores the event under its dedupe key and publishes it — or, for a duplicate, makes sure the first copy is stored
 * and will be published. Resolves once the event is durably stored and either on the bus or marked for the
 * sweeper; throws when that cannot be guaranteed (the caller answers 503).
 */
async function storeAndPublish(
  event: SerializedEvent,
  key: DedupeKey,
  dedupe: Dedupe,
  nowMs: number,
  deps: AcceptDeps,
): Promise<{ event: SerializedEvent; duplicate: boolean }> {
  const expiresAt = expiresAfterDays(nowMs, deps.retentionDays);
  const claimUntil = nowMs + CLAIM_MS;
  const claimed = await claimDedupe(
    deps.doc,
    deps.tableName,
    key,
    { eventId: event.envelope.id, claimUntil, expiresAt: dedupe.expiresAt },
    nowMs,
  );
  if (claimed) {
    await putEvent(deps.doc, deps.tableName, event, expiresAt);
    await publishOrMark(event, key, expiresAt, deps);
    return { event, duplicate: false };
  }

  const existing = await getDedupe(deps.doc, deps.tableName, key, nowMs);
  // The record expired between the conditional put and the read: a window passed; store as a new event.
  if (!existing) return storeAndPublish(event, key, dedupe, deps.now(), deps);
  const firstId = existing.eventId;
  let first = await getEvent(deps.doc, deps.tableName, firstId);
  if (!first) {
    // The first writer claimed the key but has not stored (or never will: it crashed). Store this copy under the
    // first id; whoever writes second keeps the other's copy.
    first = withId(event, firstId);
    await putEvent(deps.doc, deps.tableName, first, expiresAt);
  }
  if (existing.published) return { event: first, duplicate: true };
  if (existing.claimUntil > nowMs) {
    // The first writer may still be publishing: never publish now. If it succeeds it marks the event published
    // and the sweeper drops this marker; if it crashed, the sweeper publishes once the claim has expired.
    await putPending(deps.doc, deps.tableName, {
      eventId: firstId,
      ...key,
      attempts: 0,
      nextAttemptAt: existing.claimUntil,
      expiresAt,
    });
    return { event: first, duplicate: true };
  }
  if (await takeClaim(deps.doc, deps.tableName, key, firstId, nowMs, claimUntil)) {
    await publishOrMark(first, key, expiresAt, deps);
  } else {
    // Someone took the claim over a moment ago: they publish; the sweeper covers them if they fail.
    await putPending(deps.doc, deps.tableName, {
      eventId: firstId,
      ...key,
      attempts: 0,
      nextAttemptAt: claimUntil,
      expiresAt,
    });
  }
  return { event: first, duplicate: true };
}

/** Publishes a stored event while holding its claim; a failed publish leaves a pending marker for the sweeper. */
async function publishOrMark(
  event: SerializedEvent,
  key: DedupeKey,
  expiresAt: number,
  deps: AcceptDeps,
): Promise<void> {
  let failure: unknown;
  try {
    const { failed } = await publishAll(deps, [event]);
    if (failed[0]) failure = new Error(failed[0].error);
  } catch (error) {
    failure = error;
  }
  if (failure === undefined) {
    // Best effort: if this write fails, a duplicate or the sweeper may publish again (at least once).
    await markPublished(deps.doc, deps.tableName, key, event.envelope.id).catch(() => undefined);
    return;
  }
  deps.observe?.publishFailed(event.envelope, failure);
  // Durable before the 202: the sweeper publishes it. If this write fails too, the caller answers 503 and the
  // sender's retry finds the claim expired and publishes.
  const nowMs = deps.now();
  await putPending(deps.doc, deps.tableName, {
    eventId: event.envelope.id,
    ...key,
    attempts: 1,
    nextAttemptAt: nowMs,
    lastError: failure instanceof Error ? failure.message : String(failure),
    expiresAt,
  });
  // This writer is done with the event: the sweeper may publish it at once instead of waiting for the claim to
  // expire (if the release fails, it waits; nothing else changes).
  await releaseClaim(deps.doc, deps.tableName, key, event.envelope.id).catch(() => undefined);
}

/** The same event under another id (a duplicate repairing the first writer's missing event). */
function withId(event: SerializedEvent, id: string): SerializedEvent {
  const envelope = { ...event.envelope, id };
  const json = `{"id":${JSON.stringify(id)}${event.json.slice(event.json.indexOf(','))}`;
  return { envelope, json };
}

/**
 * The envelope's JSON. When the payload came as JSON text, that text is spliced in verbatim instead of re-serialising
 * the parsed value: it is valid JSON (it was just parsed) and this is the hot path's largest saving.
 */
export function serializeEnvelope(envelope: Envelope, dataJson: string | undefined): string {
  if (dataJson === undefined || envelope.data === undefined) return JSON.stringify(envelope);
  const { data: _data, ...rest } = envelope;
  const head = JSON.stringify(rest);
  return `${head.slice(0, -1)},"data":${dataJson}}`;
}

/**
 * Claim check: a payload too large to travel inline — or holding integers EventBridge refuses — goes to S3 as its
 * JSON text, so every consumer resolves a pointer the same way whatever the provider's body format was.
 */
async function offloadIfLarge(
  admitted: { event: SerializedEvent; dataJson: string | undefined; mustOffload: boolean },
  deps: AcceptDeps,
): Promise<SerializedEvent> {
  const { json, envelope } = admitted.event;
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most events are inline without counting their bytes.
  const fits = json.length * 3 <= INLINE_ENVELOPE_LIMIT || Buffer.byteLength(json) <= INLINE_ENVELOPE_LIMIT;
  if (fits && !admitted.mustOffload) return admitted.event;
  // The payload's own JSON text when there is one: re-serialising would round integers beyond 2^53.
  const body = Buffer.from(admitted.dataJson ?? JSON.stringify(envelope.data));
  const ref: PayloadRef = {
    bucket: deps.payloadBucket,
    key: `payloads/${envelope.source}/${envelope.id}`,
    bytes: body.length,
    sha256: sha256Hex(body),
  };
  const { PutObjectCommand } = await import('../shared/aws/s3');
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: ref.bucket,
      Key: ref.key,
      Body: body,
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  const { data: _omitted, ...rest } = envelope;
  const pointed: Envelope = { ...rest, dataRef: ref };
  return { envelope: pointed, json: JSON.stringify(pointed) };
}
