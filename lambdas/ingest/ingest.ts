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
import { expiresAfterDays, markPublished, type StoredEvent, storeEvent } from '../shared/event-store';
import { type HttpResponse, json, problem } from '../shared/http';
import { publishEnvelopes } from '../shared/publish';
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

export async function ingestWebhook(request: IngestRequest, deps: IngestDeps): Promise<HttpResponse> {
  const reject = (
    statusCode: number,
    error: string,
    message: string,
    headers: Record<string, string> = {},
  ) => {
    deps.observe?.rejected(request.sourceName, statusCode, error);
    return problem(statusCode, error, message, headers);
  };

  const source = deps.sources.get(request.sourceName);
  if (!source) return reject(404, 'unknown_source', `no source named "${request.sourceName}" is configured`);
  if (request.method !== 'POST') {
    return reject(405, 'method_not_allowed', 'webhooks are delivered with POST', { allow: 'POST' });
  }
  const { config } = source;
  if (request.body.length > config.maxBodyBytes) {
    return reject(
      413,
      'payload_too_large',
      `body is ${request.body.length} bytes; this source accepts ${config.maxBodyBytes}`,
    );
  }

  const adapter = getAdapter(config.provider);
  let secrets: string[];
  try {
    secrets = await deps.readSecrets(config.secret.secretName);
  } catch (error) {
    deps.observe?.storageFailed(source.name, error);
    return problem(503, 'secret_unavailable', 'the signing secret could not be read; retry later', {
      'retry-after': '5',
    });
  }
  const verification = adapter.verify(request, {
    secrets,
    now: deps.now(),
    toleranceSeconds: config.toleranceSeconds ?? adapter.defaultToleranceSeconds,
    source: config,
  });
  if (!verification.ok) return reject(401, 'invalid_signature', verification.reason);

  const parsed = parseBody(request.body, request.headers['content-type'], adapter.bodyFormats);
  if (!parsed.ok) return reject(parsed.statusCode, parsed.error, parsed.message);

  const normalised = adapter.normalise(request, parsed.value, config);
  if (normalised.handshake) {
    const { statusCode, contentType, body } = normalised.handshake;
    return { statusCode, headers: { 'content-type': contentType }, body };
  }

  const nowMs = deps.now();
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
  const dedupeKey = normalised.deliveryId ?? `sha256:${sha256Hex(request.body)}`;

  let stored: StoredEvent;
  let duplicate = false;
  try {
    const inline = await offloadIfLarge(envelope, request.body.length, deps);
    const result = await storeEvent(deps.doc, deps.tableName, {
      envelope: inline,
      dedupeKey,
      expiresAt: expiresAfterDays(nowMs, deps.retentionDays),
    });
    if (result.stored)
      stored = { envelope: inline, published: false, key: keys.event(inline.source, dedupeKey) };
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
    await publishEnvelopes(deps.eventBridge, deps.busName, [stored.envelope]);
    await markPublished(deps.doc, deps.tableName, stored.key);
  } catch (error) {
    deps.observe?.publishFailed(stored.envelope, error);
  }
}

/**
 * Claim check: a payload too large to travel inline goes to S3 as the JSON of `data`, so every consumer resolves a
 * pointer the same way whatever the provider's body format was.
 */
async function offloadIfLarge(envelope: Envelope, bodyBytes: number, deps: IngestDeps): Promise<Envelope> {
  // Re-serialised JSON is rarely larger than its source; only a body near the limit is worth measuring exactly.
  if (bodyBytes * 2 + 8192 <= INLINE_ENVELOPE_LIMIT) return envelope;
  if (Buffer.byteLength(JSON.stringify(envelope)) <= INLINE_ENVELOPE_LIMIT) return envelope;
  const body = Buffer.from(JSON.stringify(envelope.data));
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
  return { ...rest, dataRef: ref };
}
