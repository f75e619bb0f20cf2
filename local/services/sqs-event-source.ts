/**
 * Lambda's SQS event source mapping, locally: long polling, batches of `batchSize` (with a batching window above
 * 10), up to `maxConcurrency` batches in flight, `ReportBatchItemFailures` semantics:
 * - the function returns `{ batchItemFailures: [{ itemIdentifier }] }` → every other message is deleted, those stay;
 * - it throws (or times out) → no message is deleted, the whole batch comes back;
 * - an identifier that is empty or not in the batch → the whole batch counts as failed (as Lambda does).
 * Failed messages come back after the visibility timeout; the queue moves them to the DLQ after `maxReceiveCount`.
 *
 * Local speed-up: the queue keeps its planned visibility timeout (so a batch in flight is never handed out twice).
 * When an invocation fails as a whole (throws, times out), the poller sets the batch's visibility to
 * `retryDelaySeconds` (default 1 s) so the retry comes quickly; `null` keeps AWS timing (the full visibility
 * timeout). Messages reported in `batchItemFailures` are left alone by default: the delivery function sets their
 * visibility itself (its exponential backoff); `itemFailureRetryDelaySeconds` overrides that when set.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { sleep } from '../net';
import { LOCAL_REGION } from './aws-env';
import type { SqsSender } from './sqs';

export interface SqsInvoker {
  invoke(event: SQSEvent): Promise<unknown>;
}

export interface SqsEventSourceOptions {
  /** An SQSClient, or LocalSqs.direct (the same queues without HTTP). */
  readonly client: SqsSender;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly function: SqsInvoker;
  /** @default 10 */
  readonly batchSize?: number;
  /** Most concurrent batches (Lambda ScalingConfig.MaximumConcurrency). @default 2 */
  readonly maxConcurrency?: number;
  /** @default 0 */
  readonly maxBatchingWindowSeconds?: number;
  /**
   * The mapping's `FunctionResponseTypes: ['ReportBatchItemFailures']`: without it Lambda ignores a
   * `batchItemFailures` answer and deletes the whole batch. @default true
   */
  readonly reportBatchItemFailures?: boolean;
  /** Whether the mapping starts enabled (UpdateEventSourceMapping changes it later). @default true */
  readonly enabled?: boolean;
  /** Long-poll wait per ReceiveMessage. @default 20 */
  readonly waitTimeSeconds?: number;
  /** Visibility of a batch whose invocation failed (threw, timed out); null = the queue's timeout. @default 1 */
  readonly retryDelaySeconds?: number | null;
  /** Visibility of messages in `batchItemFailures`; null = as the function left it. @default null */
  readonly itemFailureRetryDelaySeconds?: number | null;
  /** Called after each batch, for logs and tests. */
  readonly onBatch?: (outcome: BatchOutcome) => void;
  readonly onError?: (error: Error) => void;
}

export interface BatchOutcome {
  readonly messageIds: readonly string[];
  readonly failedMessageIds: readonly string[];
  /** The invocation threw (whole batch failed). */
  readonly invocationError?: Error;
}

export class SqsEventSource {
  private readonly options: SqsEventSourceOptions;
  private abort = new AbortController();
  private loops: Promise<void>[] = [];
  private stopped = false;
  private enabled = true;
  private wake: () => void = () => {};
  /** Batches handed to the function so far. */
  batches = 0;

  constructor(options: SqsEventSourceOptions) {
    this.options = options;
    this.enabled = options.enabled ?? true;
  }

  /** The mapping's settings, for describing the running topology. */
  describe() {
    return {
      functionName: (this.options.function as { name?: string }).name ?? '(anonymous)',
      queueUrl: this.options.queueUrl,
      batchSize: this.options.batchSize ?? 10,
      maxConcurrency: this.options.maxConcurrency ?? 2,
      maxBatchingWindowSeconds: this.options.maxBatchingWindowSeconds ?? 0,
      reportBatchItemFailures: this.options.reportBatchItemFailures ?? true,
    };
  }

  start(): this {
    this.loops = [this.pump(Math.max(1, this.options.maxConcurrency ?? 2))];
    return this;
  }

  /** Stops polling; batches in flight finish (or fail) first. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake();
    await Promise.allSettled(this.loops);
  }

  /**
   * Enables or disables the mapping (UpdateEventSourceMapping `Enabled`): while disabled nothing is received —
   * messages wait in the queue, their receive counts untouched — and batches in flight finish.
   */
  setEnabled(enabled: boolean): void {
    if (enabled === this.enabled) return;
    this.enabled = enabled;
    if (!enabled) {
      // End the long poll in flight; a fresh controller for the polls after re-enabling.
      this.abort.abort();
      this.abort = new AbortController();
    }
    this.wake();
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /**
   * One long poll at a time, up to `concurrency` batches in flight. (One poll per concurrency slot split moderate
   * traffic into batches of one record each: every new message went to whichever poll was waiting.)
   */
  private async pump(concurrency: number): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    while (!this.stopped) {
      if (!this.enabled) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      if (inFlight.size >= concurrency) {
        await Promise.race(inFlight);
        continue;
      }
      let messages: Message[];
      try {
        messages = await this.receiveBatch();
      } catch (error) {
        if (this.stopped) break;
        if (!this.enabled) continue;
        this.options.onError?.(error as Error);
        await sleep(500);
        continue;
      }
      if (messages.length === 0 || this.stopped) continue;
      const batch: Promise<void> = this.process(messages)
        .catch((error: Error) => {
          if (!this.stopped) this.options.onError?.(error);
        })
        .finally(() => inFlight.delete(batch));
      inFlight.add(batch);
    }
    await Promise.allSettled([...inFlight]);
  }

  /** One batch: a long poll, then (batchSize > 10) more receives until full or the batching window closes. */
  private async receiveBatch(): Promise<Message[]> {
    const batchSize = this.options.batchSize ?? 10;
    const windowMs = (this.options.maxBatchingWindowSeconds ?? 0) * 1000;
    const batch = await this.receive(Math.min(10, batchSize), this.options.waitTimeSeconds ?? 20);
    if (batch.length === 0 || batchSize <= 10) return batch;
    const deadline = Date.now() + windowMs;
    while (batch.length < batchSize && Date.now() < deadline && !this.stopped) {
      const wait = Math.min(20, Math.max(0, Math.floor((deadline - Date.now()) / 1000)));
      const more = await this.receive(Math.min(10, batchSize - batch.length), wait);
      if (more.length === 0 && wait === 0) await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
      batch.push(...more);
    }
    return batch;
  }

  private async receive(max: number, waitTimeSeconds: number): Promise<Message[]> {
    const out = await this.options.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitTimeSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.abort.signal },
    );
    return out.Messages ?? [];
  }

  private async process(messages: Message[]): Promise<void> {
    this.batches++;
    const records = messages.map((m) => this.toRecord(m));
    let failedIds: Set<string>;
    let invocationError: Error | undefined;
    try {
      const result = await this.options.function.invoke({ Records: records });
      failedIds = this.failedFrom(result, records);
    } catch (error) {
      invocationError = error as Error;
      failedIds = new Set(records.map((r) => r.messageId));
    }
    const succeeded = records.filter((r) => !failedIds.has(r.messageId));
    const failed = records.filter((r) => failedIds.has(r.messageId));
    await this.deleteMessages(succeeded);
    const delay = invocationError
      ? this.options.retryDelaySeconds === undefined
        ? 1
        : this.options.retryDelaySeconds
      : (this.options.itemFailureRetryDelaySeconds ?? null);
    await this.scheduleRetry(failed, delay);
    this.options.onBatch?.({
      messageIds: records.map((r) => r.messageId),
      failedMessageIds: failed.map((r) => r.messageId),
      ...(invocationError ? { invocationError } : {}),
    });
  }

  /** ReportBatchItemFailures: which records failed according to the function's response. */
  private failedFrom(result: unknown, records: SQSRecord[]): Set<string> {
    const all = new Set(records.map((r) => r.messageId));
    if (this.options.reportBatchItemFailures === false) return new Set();
    if (result === null || typeof result !== 'object') return new Set();
    const failures = (result as Partial<SQSBatchResponse>).batchItemFailures;
    if (failures === undefined || failures === null) return new Set();
    if (!Array.isArray(failures)) return all;
    const failed = new Set<string>();
    for (const failure of failures) {
      const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      // Lambda: an empty/null identifier or one not in the batch fails the whole batch.
      if (typeof id !== 'string' || id === '' || !all.has(id)) return all;
      failed.add(id);
    }
    return failed;
  }

  private async deleteMessages(records: SQSRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 10) {
      const chunk = records.slice(i, i + 10);
      await this.options.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
        }),
      );
    }
  }

  private async scheduleRetry(records: SQSRecord[], delay: number | null): Promise<void> {
    if (delay === null || records.length === 0) return;
    for (let i = 0; i < records.length; i += 10) {
      const chunk = records.slice(i, i + 10);
      await this.options.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: chunk.map((r, j) => ({
            Id: String(j),
            ReceiptHandle: r.receiptHandle,
            VisibilityTimeout: delay,
          })),
        }),
      );
    }
  }

  private toRecord(message: Message): SQSRecord {
    const a = message.Attributes ?? {};
    const now = String(Date.now());
    const messageAttributes: SQSRecord['messageAttributes'] = {};
    for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
      messageAttributes[name] = {
        dataType: value.DataType ?? 'String',
        ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
        ...(value.BinaryValue !== undefined
          ? {
              binaryValue:
                // base64 already when the message came in-process (the JSON protocol's form), bytes from an SDK client
                typeof value.BinaryValue === 'string'
                  ? value.BinaryValue
                  : Buffer.from(value.BinaryValue).toString('base64'),
            }
          : {}),
        stringListValues: [],
        binaryListValues: [],
      };
    }
    return {
      messageId: message.MessageId ?? randomUUID(),
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: {
        ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
        SentTimestamp: a.SentTimestamp ?? now,
        SenderId: a.SenderId ?? 'AIDAIENQZJOLO23YVJ4VO',
        ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? now,
        // A FIFO queue's records carry their group, deduplication id and sequence number, as Lambda's do.
        ...(a.MessageGroupId !== undefined ? { MessageGroupId: a.MessageGroupId } : {}),
        ...(a.MessageDeduplicationId !== undefined
          ? { MessageDeduplicationId: a.MessageDeduplicationId }
          : {}),
        ...(a.SequenceNumber !== undefined ? { SequenceNumber: a.SequenceNumber } : {}),
      },
      messageAttributes,
      md5OfBody: message.MD5OfBody ?? '',
      ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
      eventSource: 'aws:sqs',
      eventSourceARN: this.options.queueArn,
      awsRegion: LOCAL_REGION,
    };
  }
}
