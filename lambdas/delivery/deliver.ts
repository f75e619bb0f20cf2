/**
 * The delivery domain: resolve the payload, POST the envelope to the target signed per Standard Webhooks, log the
 * attempt, and on failure stretch the message's visibility for exponential backoff. Receives its clients.
 * The envelope is forwarded as the raw JSON text it travelled as (see raw-json.ts), never parsed and re-serialised.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { type Envelope, EnvelopeSchema, EVENT_ID_HEADER } from '../../core/contracts';
import { retryDelaySeconds } from '../../core/plan';
import type { RuntimeTarget } from '../../core/runtime-config';
import { expiresAfterDays, recordDeliveryAttempt } from '../shared/event-store';
import type { SecretReader } from '../shared/secrets';
import { signingKey, standardWebhookHeaders } from '../shared/standard-webhooks';
import { rawJsonMember, spliceJsonObject } from './raw-json';

export interface DeliveryDeps {
  readonly target: RuntimeTarget;
  readonly readSecrets: SecretReader;
  readonly doc: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly tableName: string;
  readonly queueUrl: string;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly observe?: DeliveryObserver;
}

export interface DeliveryObserver {
  delivered(envelope: Envelope, status: number, durationMs: number): void;
  failed(envelope: Envelope | undefined, reason: string, attempt: number): void;
  /** Recording the attempt failed; the delivery itself stands. */
  logFailed(error: unknown): void;
}

/** Strict: a payload that is not UTF-8 is refused rather than delivered with replacement characters. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Days a delivery-log entry is kept. */
const DELIVERY_LOG_DAYS = 30;

export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    message: string,
    readonly status?: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Seconds from a `Retry-After` header (delta-seconds or HTTP date), if valid. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/**
 * The body POSTed to the target: the envelope's JSON text exactly as it travelled (the raw `detail` of the bus
 * event), or — when the payload travelled by pointer — that text without `dataRef` plus `"data":<the S3 object's
 * text verbatim>`. Never re-serialised: integers beyond 2^53 and every other detail of the JSON keep their digits.
 */
export async function resolveBody(envelope: Envelope, envelopeJson: string, s3: S3Client): Promise<string> {
  if (!envelope.dataRef) return envelopeJson;
  const { bucket, key, bytes, sha256 } = envelope.dataRef;
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const payload = await out.Body?.transformToByteArray();
  if (payload === undefined || payload.length === 0) throw new DeliveryError(`payload ${key} is empty`);
  // The pointer is exact: what S3 returns must be the bytes ingest stored.
  if (payload.length !== bytes || createHash('sha256').update(payload).digest('hex') !== sha256)
    throw new DeliveryError(`payload ${key} does not match its dataRef (size or SHA-256)`);
  let data: string;
  try {
    data = UTF8.decode(payload);
  } catch {
    throw new DeliveryError(`payload ${key} is not UTF-8`);
  }
  return spliceJsonObject(envelopeJson, ['dataRef', 'data'], { data });
}

/** The bus event's `detail` (the envelope) as raw JSON text, and parsed and validated for its metadata. */
export function envelopeOf(recordBody: string): { envelope: Envelope; json: string } {
  const json = rawJsonMember(recordBody, 'detail');
  if (json === undefined) throw new DeliveryError('the bus event has no detail');
  return { envelope: EnvelopeSchema.parse(JSON.parse(json)), json };
}

/** POSTs one SQS record's event; throws DeliveryError (→ batch item failure) when the target did not take it. */
export async function deliverRecord(record: SQSRecord, deps: DeliveryDeps): Promise<void> {
  const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
  let envelope: Envelope | undefined;
  try {
    const detail = envelopeOf(record.body);
    envelope = detail.envelope;
    await post(envelope, detail.json, attempt, deps);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    deps.observe?.failed(envelope, reason, attempt);
    await backOff(
      record,
      attempt,
      error instanceof DeliveryError ? error.retryAfterSeconds : undefined,
      deps,
    );
    throw error;
  }
}

async function post(
  envelope: Envelope,
  envelopeJson: string,
  attempt: number,
  deps: DeliveryDeps,
): Promise<void> {
  const { config } = deps.target;
  // Signed and sent exactly as these characters (UTF-8 on the wire, as fetch encodes a string body).
  const body = await resolveBody(envelope, envelopeJson, deps.s3);
  const keys = (await deps.readSecrets(deps.target.signingSecretId)).map(signingKey);
  const started = deps.now();
  let status: number | undefined;
  let failure: DeliveryError | undefined;
  try {
    const response = await deps.fetch(config.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(config.timeoutSeconds * 1000),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'EventRouter/1.0',
        [EVENT_ID_HEADER]: envelope.id,
        ...standardWebhookHeaders(keys, envelope.id, Math.floor(started / 1000), body),
      },
      body,
    });
    status = response.status;
    // Only the status matters; never buffer what a target sends back.
    await response.body?.cancel();
    if (status < 200 || status > 299) {
      failure = new DeliveryError(
        `target answered ${status}`,
        status,
        parseRetryAfter(response.headers.get('retry-after'), deps.now()),
      );
    }
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    failure = new DeliveryError(
      timedOut
        ? `no answer within ${config.timeoutSeconds} s`
        : `request failed: ${(error as Error).message}`,
    );
  }
  const durationMs = deps.now() - started;
  await logAttempt(deps, {
    eventId: envelope.id,
    target: deps.target.name,
    at: new Date(started).toISOString(),
    attempt,
    ok: !failure,
    status,
    error: failure?.message,
    durationMs,
  });
  if (failure) throw failure;
  deps.observe?.delivered(envelope, status ?? 0, durationMs);
}

async function logAttempt(deps: DeliveryDeps, attempt: Parameters<typeof recordDeliveryAttempt>[2]) {
  try {
    await recordDeliveryAttempt(
      deps.doc,
      deps.tableName,
      attempt,
      expiresAfterDays(deps.now(), DELIVERY_LOG_DAYS),
    );
  } catch (error) {
    deps.observe?.logFailed(error);
  }
}

/** Exponential backoff: the failed message becomes visible again after the policy's delay for this attempt. */
async function backOff(
  record: SQSRecord,
  attempt: number,
  retryAfter: number | undefined,
  deps: DeliveryDeps,
) {
  const { retry } = deps.target.config;
  // After the last attempt there is nothing to wait for: visible again at once, the next receive moves it to the DLQ.
  const delay = attempt >= retry.maxAttempts ? 0 : retryDelaySeconds(retry, attempt, retryAfter);
  try {
    await deps.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: deps.queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: delay,
      }),
    );
  } catch (error) {
    // The queue's own visibility timeout still brings the message back; backoff is an optimisation.
    deps.observe?.logFailed(error);
  }
}
