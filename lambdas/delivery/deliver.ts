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
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { type Envelope, envelopeProblem, FIRST_ROUND } from '../../core/contracts';
import { retryDelaySeconds, visibilityFor } from '../../core/retry';
import type { RuntimeTarget } from '../../core/runtime-config';
import type { CompiledTransform } from '../../core/transform';
import type { DynamoClient } from '../shared/dynamo';
import {
  type AttemptOutcome,
  closeBreaker,
  type DeliveryAttempt,
  expiresAfterDays,
  getTargetState,
  lastAttempt,
  openBreaker,
  recordAttempt,
  recordBreakerBatch,
  recordFailure,
  setTargetState,
  type TargetStatus,
  takeProbe,
  takeRateToken,
} from '../shared/event-store';
import { rawJsonMember, spliceJsonObject } from '../shared/raw-json';
import { batchCounts, batchMatters, breakerVerdict, openPeriodMs } from './breaker';
import type { Sender, SendResult } from './senders/types';

/** Message attribute of a redelivered message: its delivery round (attempts restart at 1 in a new round). */
export const ROUND_ATTRIBUTE = 'er-round';

export interface DeliveryDeps {
  readonly target: RuntimeTarget;
  /** Hands one event to the target (senders/). */
  readonly sender: Sender;
  /** The target's transform, compiled (core/transform.ts). */
  readonly transform?: CompiledTransform;
  readonly doc: DynamoClient;
  /** Only for payloads that travelled by pointer (the handler loads it on first use). */
  readonly s3: Pick<S3Client, 'send'>;
  /** Only on failures: backoff and the dead-letter queue (the handler loads it on first use). */
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly tableName: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly now: () => number;
  /** Stops the target's queue from being consumed (disables the event source mapping). */
  readonly pauseConsumption: (reason: string) => Promise<void>;
  /** Waits (at most `ms`) before asking the rate limit again. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
  readonly observe?: DeliveryObserver;
}

export interface DeliveryObserver {
  /** A record was read as this event (before anything is tried): its correlation starts here. */
  received?(envelope: Envelope): void;
  /** One attempt, logged; `envelope` is the event it was for (its receive time gives the end-to-end latency). */
  attempted(attempt: DeliveryAttempt, envelope: Envelope): void;
  /** The target answered 410: paused until resumed by hand. */
  gone(eventId: string): void;
  /**
   * A delivery failed for good (recorded, moved to the DLQ): why, the target's status on the last attempt (when it
   * answered) and the attempts made.
   */
  failed(
    eventId: string,
    reason: string,
    detail: { readonly status?: number; readonly attempts: number },
  ): void;
  /** Bookkeeping failed (attempt log, backoff, pause, breaker or rate-limit store); the outcome stands. */
  problem(what: 'log' | 'backoff' | 'pause' | 'breaker' | 'rate', error: unknown): void;
  /** The circuit breaker opened: the queue is paused until a probe succeeds. */
  breakerOpened?(reason: string, reopenAt: number): void;
  /** A probe succeeded: the breaker closed. */
  breakerClosed?(): void;
  /** A target that answered 410 Gone and was resumed by hand delivered again: it is active. */
  resumed?(): void;
  /** A delivery waited for the rate limit (`waitedMs`), or was put back because the wait would not fit. */
  rateLimited?(waitedMs: number, putBack: boolean): void;
}

/** How long one probe delivery may hold the half-open breaker before another invocation may try. */
const PROBE_LEASE_MS = 60_000;
/** A record held back while a probe is in flight comes back after this many seconds. */
const PROBE_WAIT_SECONDS = 10;

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
type Tried = SendResult & {
  /** The target's answer (the sender ran): counts for the circuit breaker, unlike a payload or transform problem. */
  readonly fromTarget: boolean;
};

/** What the breaker lets a record do: be delivered, be the half-open breaker's one probe, or wait. */
type Gate =
  | { readonly kind: 'go' }
  | { readonly kind: 'probe' }
  | { readonly kind: 'hold'; readonly seconds: number };

/**
 * One invocation's deliveries: shares the deadline, the target's state (breaker, gone) and what was learnt about
 * the target between the records of a batch.
 */
export class DeliveryRun {
  private targetGone = false;
  private status: Promise<TargetStatus> | undefined;
  private probeClaim: Promise<boolean> | undefined;
  /** This run holds the half-open breaker's probe. */
  private probing = false;
  /** The target's answers in this run, in order (true = delivered): the breaker's input. */
  private readonly results: boolean[] = [];

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
    deps.observe?.received?.(envelope);
    const round = record.messageAttributes?.[ROUND_ATTRIBUTE]?.stringValue ?? FIRST_ROUND;
    // Not attempted: the record comes back after the policy's first delay (not the queue's long visibility timeout).
    if (this.targetGone) {
      await this.backOff(record, 1);
      throw new RetryLater('the target is gone; paused');
    }
    const gate = await this.gate();
    if (gate.kind === 'hold') {
      // The breaker is open (the queue should not even be consumed) or another invocation probes: no attempt.
      await this.backOff(record, 1, gate.seconds);
      throw new RetryLater('the target is resting (circuit breaker)');
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

    if (!(await this.withinRateLimit())) {
      await this.backOff(record, 1, 1);
      throw new RetryLater('rate limit: this second is spent');
    }
    const started = deps.now();
    const tried = await this.attempt(envelope, json);
    if (tried.fromTarget && !tried.gone) {
      if (gate.kind === 'probe') await this.probed(tried.ok);
      else this.results.push(tried.ok);
    }
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
    deps.observe?.attempted(attempt, envelope);

    switch (attempt.outcome) {
      case 'delivered':
        if ((await this.currentStatus()).state === 'gone') await this.resumedByHand();
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
      return {
        ok: false,
        error: `before sending: ${(error as Error).message}`,
        retryable: !permanent,
        fromTarget: false,
      };
    }
    if (deps.transform) {
      // The transform sees the parsed envelope, payload included; its failure is the event's, not the target's.
      const transformed = await deps.transform.apply(JSON.parse(body));
      if (!transformed.ok)
        return { ok: false, retryable: false, error: transformed.reason, fromTarget: false };
      body = transformed.body;
    }
    const timeoutMs = Math.min(deps.target.config.timeoutSeconds * 1000, this.left());
    return { ...(await deps.sender.send({ envelope, body, timeoutMs, now: deps.now })), fromTarget: true };
  }

  /** The target's state, read once per invocation; a failed read counts as active (deliveries go on). */
  private currentStatus(): Promise<TargetStatus> {
    const { deps } = this;
    this.status ??= getTargetState(deps.doc, deps.tableName, deps.target.name).catch((error: unknown) => {
      deps.observe?.problem('breaker', error);
      return { state: 'active' as const, since: new Date(0).toISOString() };
    });
    return this.status;
  }

  /**
   * What the breaker lets this record do. Open: wait until it may reopen. Half-open: the first record of the first
   * invocation that takes the probe lease is delivered as the probe; every other record waits.
   */
  private async gate(): Promise<Gate> {
    const { deps } = this;
    const status = await this.currentStatus();
    const now = deps.now();
    // Paused by an operator: nothing is attempted until it is resumed (which also enables the queue again).
    if (status.state === 'paused') return { kind: 'hold', seconds: 60 };
    if (deps.target.config.circuitBreaker === false) return { kind: 'go' };
    if (status.state === 'open') {
      return { kind: 'hold', seconds: Math.max(1, Math.ceil(((status.reopenAt ?? now) - now) / 1000)) };
    }
    if (status.state !== 'half-open') return { kind: 'go' };
    if (this.probeClaim) {
      await this.probeClaim;
      return { kind: 'hold', seconds: PROBE_WAIT_SECONDS };
    }
    this.probeClaim = takeProbe(deps.doc, deps.tableName, deps.target.name, now, PROBE_LEASE_MS).catch(
      (error: unknown) => {
        deps.observe?.problem('breaker', error);
        return false;
      },
    );
    if (!(await this.probeClaim)) return { kind: 'hold', seconds: PROBE_WAIT_SECONDS };
    this.probing = true;
    return { kind: 'probe' };
  }

  /** The probe's answer: success closes the breaker; failure opens it again, for twice as long. */
  private async probed(ok: boolean): Promise<void> {
    const { deps } = this;
    const breaker = deps.target.config.circuitBreaker;
    if (breaker === false) return;
    try {
      if (ok) {
        if (await closeBreaker(deps.doc, deps.tableName, deps.target.name, deps.now()))
          deps.observe?.breakerClosed?.();
        return;
      }
      const status = await this.currentStatus();
      await this.open('the probe delivery failed', openPeriodMs(status.openCount ?? 1, breaker));
    } catch (error) {
      deps.observe?.problem('breaker', error);
    }
  }

  /** Opens the breaker (if this run is the one that changes it) and pauses the queue. */
  private async open(reason: string, periodMs: number): Promise<void> {
    const { deps } = this;
    const reopenAt = deps.now() + periodMs;
    if (!(await openBreaker(deps.doc, deps.tableName, deps.target.name, reason, deps.now(), reopenAt)))
      return;
    deps.observe?.breakerOpened?.(reason, reopenAt);
    try {
      await deps.pauseConsumption(`circuit breaker: ${reason}`);
    } catch (error) {
      // The queue still being consumed is harmless: every record is held back until the breaker may reopen.
      deps.observe?.problem('pause', error);
    }
  }

  /** A target that answered 410 and was resumed by hand delivered again: it is active. */
  private async resumedByHand(): Promise<void> {
    const { deps } = this;
    try {
      await setTargetState(deps.doc, deps.tableName, deps.target.name, {
        state: 'active',
        since: new Date(deps.now()).toISOString(),
      });
      this.status = Promise.resolve({ state: 'active', since: new Date(deps.now()).toISOString() });
      deps.observe?.resumed?.();
    } catch (error) {
      deps.observe?.problem('breaker', error);
    }
  }

  /**
   * Takes one delivery from the target's per-second budget, waiting for the next second while this invocation has
   * time. False when the record should be put back instead. A store failure lets the delivery through.
   */
  private async withinRateLimit(): Promise<boolean> {
    const { deps } = this;
    const limit = deps.target.config.rateLimitPerSecond;
    if (limit === undefined) return true;
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const started = deps.now();
    for (;;) {
      try {
        if (await takeRateToken(deps.doc, deps.tableName, deps.target.name, limit, deps.now())) {
          if (deps.now() > started) deps.observe?.rateLimited?.(deps.now() - started, false);
          return true;
        }
      } catch (error) {
        deps.observe?.problem('rate', error);
        return true;
      }
      // Until just after the next second starts, with a little jitter so waiting invocations do not collide.
      const wait = 1000 - (deps.now() % 1000) + Math.floor((deps.random ?? Math.random)() * 20);
      if (this.left() - wait < (deps.target.config.timeoutSeconds + 1) * 1000) {
        deps.observe?.rateLimited?.(deps.now() - started, true);
        return false;
      }
      await sleep(wait);
    }
  }

  /**
   * After the batch: its answers go into the breaker's counts, which may open it. Nothing is written for a batch of
   * successes while nothing failed lately.
   */
  async finish(): Promise<void> {
    const { deps } = this;
    const breaker = deps.target.config.circuitBreaker;
    if (breaker === false || this.probing) return;
    const status = await this.currentStatus();
    const now = deps.now();
    const windowMs = breaker.windowSeconds * 1000;
    if (status.state !== 'active' || !batchMatters(this.results, status, now, windowMs)) return;
    try {
      const after = await recordBreakerBatch(
        deps.doc,
        deps.tableName,
        deps.target.name,
        batchCounts(this.results),
        now,
        windowMs,
        status,
      );
      const reason = breakerVerdict(after, breaker);
      if (reason) await this.open(reason, openPeriodMs(after.openCount ?? 0, breaker));
    } catch (error) {
      deps.observe?.problem('breaker', error);
    }
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
    // The policy's delay, or at least what the target (Retry-After) or the breaker asks for.
    const { deps } = this;
    const delay = retryDelaySeconds(deps.target.config.retry, attempt, {
      random: deps.random,
      retryAfterSeconds,
    });
    try {
      const { ChangeMessageVisibilityCommand } = await import('../shared/aws/sqs');
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
      const { SendMessageCommand } = await import('../shared/aws/sqs');
      await deps.sqs.send(
        new SendMessageCommand({
          QueueUrl: deps.deadLetterQueueUrl,
          MessageBody: record.body,
          // An ordered target's DLQ is FIFO: the message keeps its group; its id makes the move happen once.
          ...(record.attributes.MessageGroupId
            ? { MessageGroupId: record.attributes.MessageGroupId, MessageDeduplicationId: record.messageId }
            : {}),
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
    deps.observe?.failed(eventId, error, {
      ...(status !== undefined ? { status } : {}),
      attempts,
    });
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
  s3: Pick<S3Client, 'send'>,
  signal?: AbortSignal,
): Promise<string> {
  if (!envelope.dataRef) return envelopeJson;
  const { bucket, key, bytes, sha256 } = envelope.dataRef;
  const { GetObjectCommand } = await import('../shared/aws/s3');
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
