/**
 * The delivery domain: one SQS record → the event handed to the target by its kind's sender (a signed HTTP POST, an
 * SQS message, a Lambda invoke, an EventBridge event; senders/), classified, logged, and then retried with backoff,
 * failed for good, or held while the target is gone. Receives its clients.
 *
 * - Attempts are counted in the delivery log, never with ApproximateReceiveCount: receives that did not lead to an
 *   attempt (Lambda throttling, a batch cut short) do not use up the target's attempts.
 * - Classification (the sender's result): delivered; gone (HTTP 410) pauses the target (its queue stops being
 *   consumed, nothing is dropped); retryable failures (for HTTP the statuses in `retry.retryOn`, default 408, 409,
 *   425, 429, 5xx; throttling, service errors, timeouts and network errors) are retried; any other failure fails at
 *   once; a message that is not an event fails at once with its reason.
 * - A final failure is recorded durably in the event store (target, attempts, last status and error) and the
 *   message moves to the DLQ with a fresh retention.
 * - The batch never runs into the function's timeout: every step is bounded by what is left of it, so records
 *   already delivered are deleted (a timed-out batch would be received again and delivered twice).
 *
 * The envelope is forwarded as the raw JSON text it travelled as (see raw-json.ts), never parsed and re-serialised.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { type Envelope, envelopeProblem, FIRST_ROUND } from '../../core/contracts';
import { retryDelaySeconds, visibilityFor } from '../../core/retry';
import type { RuntimeTarget } from '../../core/runtime-config';
import type { CompiledTransform } from '../../core/transform';
import {
  type AttemptOutcome,
  type DeliveryAttempt,
  expiresAfterDays,
  lastAttempt,
  recordAttempt,
  recordFailure,
  setTargetState,
} from '../shared/event-store';
import { rawJsonMember, spliceJsonObject } from '../shared/raw-json';
import type { Sender, SendResult } from './senders/types';

/** Message attribute of a redelivered message: its delivery round (attempts restart at 1 in a new round). */
export const ROUND_ATTRIBUTE = 'er-round';

export interface DeliveryDeps {
  readonly target: RuntimeTarget;
  /** Hands one event to the target (senders/). */
  readonly sender: Sender;
  /** The target's transform, compiled (core/transform.ts). */
  readonly transform?: CompiledTransform;
  readonly doc: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly tableName: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly now: () => number;
  /** Stops the target's queue from being consumed (disables the event source mapping). */
  readonly pauseConsumption: (reason: string) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
  readonly observe?: DeliveryObserver;
}

export interface DeliveryObserver {
  attempted(attempt: DeliveryAttempt): void;
  /** The target answered 410: paused until resumed by hand. */
  gone(eventId: string): void;
  /** A delivery failed for good (recorded, moved to the DLQ). */
  failed(eventId: string, reason: string): void;
  /** Bookkeeping failed (attempt log, backoff, pause); the delivery outcome stands. */
  problem(what: 'log' | 'backoff' | 'pause', error: unknown): void;
}

/** Strict: a payload that is not UTF-8 is refused rather than delivered with replacement characters. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Time kept free at the end of an invocation for the writes after an attempt (log, backoff, DLQ). */
const RESERVE_MS = 4_000;

/** Thrown for a record that must come back later; Powertools reports it as a batch item failure. */
export class RetryLater extends Error {
  override name = 'RetryLater';
}

/** A message on the target's queue that is not an event we can deliver. */
class Unparseable extends Error {
  override name = 'Unparseable';
}

/** The bus event's `detail` (the envelope) as raw JSON text, and parsed for its metadata. */
export function envelopeOf(recordBody: string): { envelope: Envelope; json: string } {
  let json: string | undefined;
  try {
    json = rawJsonMember(recordBody, 'detail');
  } catch (error) {
    throw new Unparseable(`the message is not JSON: ${(error as Error).message}`);
  }
  if (json === undefined) throw new Unparseable('the message has no detail (not an EventBridge event)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Unparseable('the message detail is not JSON');
  }
  const problem = envelopeProblem(parsed);
  if (problem) throw new Unparseable(problem);
  return { envelope: parsed as Envelope, json };
}

/** An attempt's result before it is logged: the sender's, or a failure before the sender was called. */
type Tried = SendResult;

/**
 * One invocation's deliveries: shares the deadline and what was learnt about the target (gone) between the
 * records of a batch.
 */
export class DeliveryRun {
  private targetGone = false;

  constructor(
    private readonly deps: DeliveryDeps,
    /** Epoch ms at which the function times out. */
    private readonly deadline: number,
    /** Epoch ms of the receive (≈ the invocation's start), from which SQS's 12-hour visibility limit counts. */
    private readonly receivedAt: number,
  ) {}

  /** Milliseconds left for work that must finish before the reserve. */
  private left(): number {
    return this.deadline - RESERVE_MS - this.deps.now();
  }

  /** A signal that aborts an SDK call when the invocation's time is up. */
  private signal(): AbortSignal {
    return AbortSignal.timeout(Math.max(100, this.deadline - 500 - this.deps.now()));
  }

  /** Delivers one record; throws RetryLater when the record must come back (a batch item failure). */
  async deliver(record: SQSRecord): Promise<void> {
    const { deps } = this;
    let detail: { envelope: Envelope; json: string };
    try {
      detail = envelopeOf(record.body);
    } catch (error) {
      if (!(error instanceof Unparseable)) throw error;
      await this.finalFailure(
        record,
        `message:${record.messageId}`,
        FIRST_ROUND,
        0,
        undefined,
        error.message,
      );
      return;
    }
    const { envelope, json } = detail;
    const round = record.messageAttributes?.[ROUND_ATTRIBUTE]?.stringValue ?? FIRST_ROUND;
    // Not attempted: the record comes back after the policy's first delay (not the queue's long visibility timeout).
    if (this.targetGone) {
      await this.backOff(record, 1);
      throw new RetryLater('the target is gone; paused');
    }
    if (this.left() < 1_000) {
      await this.backOff(record, 1);
      throw new RetryLater('not enough time left in this invocation');
    }

    const { maxAttempts } = deps.target.config.retry;
    // A first receive has no attempt before it; later receives look in the log (throttled receives made none).
    const receives = Number(record.attributes.ApproximateReceiveCount) || 1;
    const last =
      receives > 1
        ? await lastAttempt(deps.doc, deps.tableName, envelope.id, deps.target.name, round)
        : undefined;
    const previous = last?.attempt ?? 0;
    if (last?.outcome === 'failed' || previous >= maxAttempts) {
      // The delivery failed for good but moving the message to the DLQ did not finish: finish it, no new attempt.
      await this.finalFailure(
        record,
        envelope.id,
        round,
        previous,
        undefined,
        'failed for good (see the delivery log)',
      );
      return;
    }

    const started = deps.now();
    const tried = await this.attempt(envelope, json);
    const latencyMs = deps.now() - started;
    const outcome = this.classify(tried, previous + 1);
    let attempt: DeliveryAttempt = {
      eventId: envelope.id,
      target: deps.target.name,
      round,
      attempt: previous + 1,
      at: new Date(started).toISOString(),
      outcome,
      ...(tried.status !== undefined ? { status: tried.status } : {}),
      ...(tried.error !== undefined ? { error: tried.error } : {}),
      latencyMs,
      ...(tried.response ? { response: tried.response } : {}),
    };
    attempt = await this.log(attempt);
    deps.observe?.attempted(attempt);

    switch (attempt.outcome) {
      case 'delivered':
        return;
      case 'gone':
        await this.pause(envelope.id);
        // Waits in the queue: consumption is paused, and after a resume it comes back on the policy's schedule.
        await this.backOff(record, attempt.attempt);
        throw new RetryLater('the target answered 410 Gone');
      case 'failed':
        await this.finalFailure(
          record,
          envelope.id,
          round,
          attempt.attempt,
          tried.status,
          tried.error ?? 'failed',
        );
        return;
      case 'retrying':
        await this.backOff(record, attempt.attempt, tried.retryAfterSeconds);
        throw new RetryLater(tried.error ?? 'retrying');
    }
  }

  private classify(tried: Tried, attempt: number): AttemptOutcome {
    if (tried.ok) return 'delivered';
    if (tried.gone) return 'gone';
    return tried.retryable && attempt < this.deps.target.config.retry.maxAttempts ? 'retrying' : 'failed';
  }

  /** Resolves the payload and hands the event to the target once. Never throws: every failure is a result. */
  private async attempt(envelope: Envelope, envelopeJson: string): Promise<Tried> {
    const { deps } = this;
    let body: string;
    try {
      body = await resolveBody(envelope, envelopeJson, deps.s3, this.signal());
    } catch (error) {
      const permanent = error instanceof PayloadError;
      return { ok: false, error: `before sending: ${(error as Error).message}`, retryable: !permanent };
    }
    if (deps.transform) {
      // The transform sees the parsed envelope, payload included; its failure is the event's, not the target's.
      const transformed = await deps.transform.apply(JSON.parse(body));
      if (!transformed.ok) return { ok: false, retryable: false, error: transformed.reason };
      body = transformed.body;
    }
    const timeoutMs = Math.min(deps.target.config.timeoutSeconds * 1000, this.left());
    return deps.sender.send({ envelope, body, timeoutMs, now: deps.now });
  }

  /**
   * Logs the attempt under its number. If another copy of the message took that number meanwhile (SQS delivers
   * rarely twice), the attempt is logged under the next free one.
   */
  private async log(attempt: DeliveryAttempt): Promise<DeliveryAttempt> {
    const { deps } = this;
    const expiresAt = expiresAfterDays(deps.now(), deps.target.deliveryLogDays);
    let current = attempt;
    try {
      for (let i = 0; i < 5; i++) {
        if (await recordAttempt(deps.doc, deps.tableName, current, expiresAt)) return current;
        const taken = await lastAttempt(
          deps.doc,
          deps.tableName,
          current.eventId,
          current.target,
          current.round,
        );
        const next = (taken?.attempt ?? current.attempt) + 1;
        current = {
          ...current,
          attempt: next,
          outcome:
            current.outcome === 'retrying' && next >= deps.target.config.retry.maxAttempts
              ? 'failed'
              : current.outcome,
        };
      }
    } catch (error) {
      // The delivery itself stands: a delivered record is never sent again because its log entry failed.
      deps.observe?.problem('log', error);
    }
    return current;
  }

  /** The failed record becomes visible again after the policy's delay (within SQS's 12-hour limit). */
  private async backOff(record: SQSRecord, attempt: number, retryAfterSeconds?: number): Promise<void> {
    const { deps } = this;
    const delay = retryDelaySeconds(deps.target.config.retry, attempt, {
      random: deps.random,
      retryAfterSeconds,
    });
    try {
      await deps.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: deps.queueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: visibilityFor(delay, (deps.now() - this.receivedAt) / 1000),
        }),
        { abortSignal: this.signal() },
      );
    } catch (error) {
      // Counted and logged, never swallowed: the retry then comes after the queue's own visibility timeout.
      deps.observe?.problem('backoff', error);
    }
  }

  /** 410 Gone: the target is paused until resumed by hand; the rest of the batch waits in the queue. */
  private async pause(eventId: string): Promise<void> {
    const { deps } = this;
    this.targetGone = true;
    deps.observe?.gone(eventId);
    try {
      await setTargetState(deps.doc, deps.tableName, deps.target.name, {
        state: 'gone',
        reason: `the target answered 410 Gone to event ${eventId}`,
        since: new Date(deps.now()).toISOString(),
      });
      await deps.pauseConsumption('the target answered 410 Gone');
    } catch (error) {
      deps.observe?.problem('pause', error);
    }
  }

  /**
   * Records a delivery that failed for good and moves its message to the DLQ (with a fresh retention there). If
   * either write fails the record comes back, and its next receive finishes the job without another attempt.
   */
  private async finalFailure(
    record: SQSRecord,
    eventId: string,
    round: string,
    attempts: number,
    status: number | undefined,
    error: string,
  ): Promise<void> {
    const { deps } = this;
    const failedAt = new Date(deps.now()).toISOString();
    try {
      await recordFailure(
        deps.doc,
        deps.tableName,
        {
          eventId,
          target: deps.target.name,
          round,
          attempts,
          ...(status !== undefined ? { status } : {}),
          error: error.slice(0, 1000),
          failedAt,
        },
        expiresAfterDays(deps.now(), deps.target.deliveryLogDays),
      );
      const text = (value: string) => ({ DataType: 'String', StringValue: value });
      await deps.sqs.send(
        new SendMessageCommand({
          QueueUrl: deps.deadLetterQueueUrl,
          MessageBody: record.body,
          MessageAttributes: {
            target: text(deps.target.name),
            eventId: text(eventId),
            attempts: { DataType: 'Number', StringValue: String(attempts) },
            error: text(error.slice(0, 256) || 'failed'),
            [ROUND_ATTRIBUTE]: text(round),
            ...(status !== undefined ? { status: { DataType: 'Number', StringValue: String(status) } } : {}),
          },
        }),
        { abortSignal: this.signal() },
      );
    } catch (cause) {
      throw new RetryLater(`could not record the final failure: ${(cause as Error).message}`);
    }
    deps.observe?.failed(eventId, error);
  }
}

/** The payload behind a pointer is not what was stored: retrying cannot help. */
class PayloadError extends Error {
  override name = 'PayloadError';
}

/**
 * The body POSTed to the target: the envelope's JSON text exactly as it travelled (the raw `detail` of the bus
 * event), or — when the payload travelled by pointer — that text without `dataRef` plus `"data":<the S3 object's
 * text verbatim>`. Never re-serialised: integers beyond 2^53 and every other detail of the JSON keep their digits.
 */
export async function resolveBody(
  envelope: Envelope,
  envelopeJson: string,
  s3: S3Client,
  signal?: AbortSignal,
): Promise<string> {
  if (!envelope.dataRef) return envelopeJson;
  const { bucket, key, bytes, sha256 } = envelope.dataRef;
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  const payload = await out.Body?.transformToByteArray();
  if (payload === undefined || payload.length === 0) throw new PayloadError(`payload ${key} is empty`);
  // The pointer is exact: what S3 returns must be the bytes ingest stored.
  if (payload.length !== bytes || createHash('sha256').update(payload).digest('hex') !== sha256)
    throw new PayloadError(`payload ${key} does not match its dataRef (size or SHA-256)`);
  let data: string;
  try {
    data = UTF8.decode(payload);
  } catch {
    throw new PayloadError(`payload ${key} is not UTF-8`);
  }
  return spliceJsonObject(envelopeJson, ['dataRef', 'data'], { data });
}
