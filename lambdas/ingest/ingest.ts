/**
 * The ingest domain: verify → parse → normalise → store (the durable write, also the dedupe) → publish.
 * Receives its clients; the Lambda handler only adapts API Gateway events to this.
 */
import { createHash } from 'node:crypto';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import { type Envelope, keys, type PayloadRef } from '../../core/contracts';
import type { RuntimeSource } from '../../core/runtime-config';
import {
  expiresAfterDays,
  markPublished,
  type SerializedEvent,
  type StoredEvent,
  storeEvent,
} from '../shared/event-store';
import { type HttpResponse, json, problem } from '../shared/http';
import { publishEvents } from '../shared/publish';
import type { SecretReader } from '../shared/secrets';
import { parseBody } from './body';
import { getAdapter, keptHeadersFor } from './providers';
import type { WebhookRequest } from './providers/types';

/**
 * Largest envelope that travels inline. Above it the payload goes to S3 and the envelope carries a pointer, so that
 * every event fits an EventBridge entry (256 KB), a DynamoDB item (400 KB) and a WebSocket message (128 KB).
 */
export const INLINE_ENVELOPE_LIMIT = 100_000;

export interface IngestRequest extends WebhookRequest {
  readonly method: string;
  /** The `{source}` path segment. */
  readonly sourceName: string;
}

export interface IngestDeps {
  readonly sources: ReadonlyMap<string, RuntimeSource>;
  readonly readSecrets: SecretReader;
  readonly doc: DynamoDBDocumentClient;
  readonly eventBridge: EventBridgeClient;
  readonly s3: S3Client;
  readonly tableName: string;
  readonly busName: string;
  readonly payloadBucket: string;
  readonly retentionDays: number;
  readonly now: () => number;
  /** Hooks for logs and metrics; the domain never imports Powertools. */
  readonly observe?: IngestObserver;
}

export interface IngestObserver {
  rejected(source: string, statusCode: number, reason: string): void;
  accepted(envelope: Envelope, duplicate: boolean): void;
  publishFailed(envelope: Envelope, error: unknown): void;
  storageFailed(source: string, error: unknown): void;
}

const newId = monotonicFactory();

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

/** Outcome of the pure part of ingest: what to answer without I/O, or the event to store. */
export type Admission =
  | { readonly kind: 'answer'; readonly response: HttpResponse; readonly rejected?: string }
  | {
      readonly kind: 'accept';
      readonly event: SerializedEvent;
      readonly dedupeKey: string;
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
): Answer => ({ kind: 'answer', response: problem(statusCode, error, message, headers), rejected: error });

/** Checks that need neither the secret nor the body's content: source, method, size. */
export function precheck(
  request: IngestRequest,
  sources: ReadonlyMap<string, RuntimeSource>,
): Answer | { readonly kind: 'source'; readonly source: RuntimeSource } {
  const source = sources.get(request.sourceName);
  if (!source)
    return rejection(404, 'unknown_source', `no source named "${request.sourceName}" is configured`);
  if (request.method !== 'POST') {
    return rejection(405, 'method_not_allowed', 'webhooks are delivered with POST', { allow: 'POST' });
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
 * The hot path, pure: verify the signature on the raw bytes, parse, normalise, and build the envelope and its
 * dedupe key (the provider's delivery id, else the body's SHA-256).
 */
export function admitWebhook(
  request: IngestRequest,
  source: RuntimeSource,
  secrets: readonly string[],
  nowMs: number,
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
  return {
    kind: 'accept',
    event: { envelope, json },
    dataJson: parsed.json,
    mustOffload: parsed.outsideInt64 === true,
    dedupeKey: normalised.deliveryId ?? `sha256:${sha256Hex(request.body)}`,
  };
}

export async function ingestWebhook(request: IngestRequest, deps: IngestDeps): Promise<HttpResponse> {
  const answer = (admission: Answer) => {
    if (admission.rejected) {
      deps.observe?.rejected(request.sourceName, admission.response.statusCode, admission.rejected);
    }
    return admission.response;
  };
  const checked = precheck(request, deps.sources);
  if (checked.kind === 'answer') return answer(checked);
  const { source } = checked;

  let secrets: string[];
  try {
    secrets = await deps.readSecrets(source.config.secret.secretName);
  } catch (error) {
    deps.observe?.storageFailed(source.name, error);
    return problem(503, 'secret_unavailable', 'the signing secret could not be read; retry later', {
      'retry-after': '5',
    });
  }
  const nowMs = deps.now();
  const admission = admitWebhook(request, source, secrets, nowMs);
  if (admission.kind === 'answer') return answer(admission);
  const { dedupeKey } = admission;

  let stored: StoredEvent;
  let duplicate = false;
  try {
    const inline = await offloadIfLarge(admission, deps);
    const result = await storeEvent(deps.doc, deps.tableName, {
      ...inline,
      dedupeKey,
      expiresAt: expiresAfterDays(nowMs, deps.retentionDays),
    });
    if (result.stored)
      stored = { ...inline, published: false, key: keys.event(inline.envelope.source, dedupeKey) };
    else {
      stored = result.existing;
      duplicate = true;
    }
  } catch (error) {
    deps.observe?.storageFailed(source.name, error);
    return problem(503, 'storage_unavailable', 'the event could not be stored; retry later', {
      'retry-after': '5',
    });
  }

  // Stored durably: from here on the answer is 2xx. A failed publish leaves the event marked unpublished; a
  // redelivery by the provider or the sweeper publishes it.
  if (!stored.published) await publishStored(stored, deps);
  deps.observe?.accepted(stored.envelope, duplicate);
  return json(202, duplicate ? { id: stored.envelope.id, duplicate: true } : { id: stored.envelope.id });
}

async function publishStored(stored: StoredEvent, deps: IngestDeps): Promise<void> {
  try {
    const { failed } = await publishEvents(deps.eventBridge, deps.busName, [stored]);
    if (failed[0]) {
      deps.observe?.publishFailed(stored.envelope, new Error(failed[0].error));
      return;
    }
    await markPublished(deps.doc, deps.tableName, stored.key);
  } catch (error) {
    deps.observe?.publishFailed(stored.envelope, error);
  }
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
  deps: IngestDeps,
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
