/**
 * The SQS API actions on the store: input as the AWS JSON protocol carries it (binary values base64), output as SQS
 * answers. Shared by the HTTP endpoint and the in-process sender, so both validate the same way.
 *
 * References (Amazon SQS API Reference / Developer Guide):
 * - ReceiveMessage: MaxNumberOfMessages 1–10, WaitTimeSeconds 0–20 (long polling answers as soon as a message is
 *   available), VisibilityTimeout 0–43,200 for this receive only
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html,
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html).
 * - ChangeMessageVisibility: the new timeout counts from now, 0–43,200, and may not take the message past 12 hours
 *   after the receive; beyond that SQS answers InvalidParameterValue "… Reason: Total VisibilityTimeout for the
 *   message is beyond the limit [43200 seconds]." (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html;
 *   message text as AWS returns it, quoted in aws/aws-sdk-net#794 and localstack/localstack#3956).
 * - Redrive: a message received maxReceiveCount times moves to the dead-letter queue instead of being received again
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
 * - FIFO: MessageGroupId required, MessageDeduplicationId or ContentBasedDeduplication (SHA-256 of the body), 5-minute
 *   deduplication interval, messages of a group in order and a group locked while one of its messages is in flight,
 *   no per-message DelaySeconds (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-exactly-once-processing.html,
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html).
 * - Delays: DelaySeconds 0–900 per message or per queue
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html).
 * - Batches: 1–10 entries with distinct ids of up to 80 alphanumerics, hyphens and underscores; a SendMessageBatch
 *   carries at most 1 MiB (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
 */
import { createHash } from 'node:crypto';
import {
  type BatchResultErrorEntry,
  batchFailure,
  invalidParameter,
  invalidValue,
  missingParameter,
  queueDoesNotExist,
  receiptHandleIsInvalid,
  SqsError,
} from './sqs-errors';
import {
  MAX_MESSAGE_BYTES,
  md5Hex,
  md5OfAttributes,
  messageSize,
  selectAttributes,
  validateAttributes,
  validateBody,
  type WireAttributes,
} from './sqs-message';
import { MoveTasks } from './sqs-move-tasks';
import {
  defaultAttributes,
  normaliseAttributes,
  READ_ONLY_ATTRIBUTES,
  SETTABLE_ATTRIBUTES,
} from './sqs-queue-attributes';
import {
  ACCOUNT_ID,
  decodeReceiptHandle,
  encodeReceiptHandle,
  MAX_IN_FLIGHT_MS,
  type Queue,
  queueNameFromArn,
  SqsStore,
  type StoredMessage,
} from './sqs-store';

// biome-ignore lint/suspicious/noExplicitAny: request and response bodies are JSON documents.
type Json = Record<string, any>;

export interface ActionContext {
  /** Aborts a long poll (the in-process sender's abortSignal, or the HTTP client going away). */
  readonly signal?: AbortSignal;
}

export type SqsAction = (input: Json, context: ActionContext) => Json | Promise<Json>;

/** Senders appear as this principal id (SenderId). */
const SENDER_ID = 'AIDAIENQZJOLO23YVJ4VO';
const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;
const GROUP_OR_DEDUP_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const FIFO_QUEUE_NAME = /^[A-Za-z0-9_-]{1,75}\.fifo$/;
const QUEUE_DELETED_WAIT_MS = 60_000;
const PURGE_INTERVAL_MS = 60_000;

export class SqsActions {
  readonly moveTasks: MoveTasks;

  constructor(
    private readonly store: SqsStore,
    /** Base of queue URLs: `http://127.0.0.1:<port>`. */
    private readonly endpoint: () => string,
  ) {
    this.moveTasks = new MoveTasks(store);
    // Waiting long polls look once the current action is done: a SendMessageBatch wakes them with all its messages.
    store.onChange = (queue) => {
      if (queue.wakePending) return;
      queue.wakePending = true;
      queueMicrotask(() => {
        queue.wakePending = false;
        this.wake(queue);
      });
    };
  }

  /** Every action by its name in `x-amz-target: AmazonSQS.<Action>`. */
  readonly actions: Readonly<Record<string, SqsAction>> = {
    CreateQueue: (i) => this.createQueue(i),
    GetQueueUrl: (i) => this.getQueueUrl(i),
    GetQueueAttributes: (i) => this.getQueueAttributes(i),
    SetQueueAttributes: (i) => this.setQueueAttributes(i),
    ListQueues: (i) => this.listQueues(i),
    DeleteQueue: (i) => this.deleteQueue(i),
    PurgeQueue: (i) => this.purgeQueue(i),
    SendMessage: (i) => this.sendMessage(i),
    SendMessageBatch: (i) => this.sendMessageBatch(i),
    ReceiveMessage: (i, c) => this.receiveMessage(i, c),
    DeleteMessage: (i) => this.deleteMessage(i),
    DeleteMessageBatch: (i) => this.deleteMessageBatch(i),
    ChangeMessageVisibility: (i) => this.changeMessageVisibility(i),
    ChangeMessageVisibilityBatch: (i) => this.changeMessageVisibilityBatch(i),
    ListDeadLetterSourceQueues: (i) => this.listDeadLetterSourceQueues(i),
    TagQueue: (i) => this.tagQueue(i),
    UntagQueue: (i) => this.untagQueue(i),
    ListQueueTags: (i) => ({ Tags: { ...this.queueOf(i).def.tags } }),
    StartMessageMoveTask: (i) => this.moveTasks.start(i),
    ListMessageMoveTasks: (i) => this.moveTasks.list(i),
    CancelMessageMoveTask: (i) => this.moveTasks.cancel(i),
  };

  /** Answers every waiting long poll with no messages and stops background work. */
  stop(): void {
    this.moveTasks.stop();
    for (const queue of this.store.queues.values()) {
      if (queue.timer) clearTimeout(queue.timer);
      queue.timer = undefined;
      for (const waiter of queue.waiters.splice(0)) waiter.release();
    }
  }

  queueUrl(name: string): string {
    return `${this.endpoint()}/${ACCOUNT_ID}/${name}`;
  }

  // ---- queues ----------------------------------------------------------------------------------------------

  private createQueue(input: Json): Json {
    const name = input.QueueName;
    if (typeof name !== 'string' || name === '') throw missingParameter('QueueName');
    const rawFifo = (input.Attributes as Json | undefined)?.FifoQueue;
    const fifo = String(rawFifo ?? 'false').toLowerCase() === 'true';
    if (fifo ? !FIFO_QUEUE_NAME.test(name) : !QUEUE_NAME.test(name))
      throw invalidValue(
        fifo
          ? 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.'
          : 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    const attributes = normaliseAttributes(input.Attributes, {
      fifo,
      creating: true,
      lookupArn: (arn) => this.lookupArn(arn),
    });
    const existing = this.store.getQueue(name);
    const now = this.store.now();
    if (existing) {
      // Same name and the same values for the attributes given: the existing queue's URL; else an error
      // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
      const current = { ...defaultAttributes(existing.fifo), ...existing.def.attributes };
      for (const [key, value] of Object.entries(attributes)) {
        if (current[key] !== value)
          throw new SqsError(
            'QueueAlreadyExists',
            `A queue already exists with the same name and a different value for attribute ${key}`,
          );
      }
      return { QueueUrl: this.queueUrl(name) };
    }
    const deletedAt = this.store.deleted.get(name);
    if (deletedAt !== undefined && now - deletedAt < QUEUE_DELETED_WAIT_MS)
      throw new SqsError(
        'QueueDeletedRecently',
        'You must wait 60 seconds after deleting a queue before you can create another with the same name.',
      );
    const tags =
      input.tags && typeof input.tags === 'object' ? { ...(input.tags as Record<string, string>) } : {};
    const seconds = Math.floor(now / 1000);
    this.store.commit({
      t: 'queue',
      def: {
        name,
        fifo,
        createdAt: seconds,
        modifiedAt: seconds,
        attributes: { ...defaultAttributes(fifo), ...withoutEmpty(attributes) },
        tags,
      },
    });
    return { QueueUrl: this.queueUrl(name) };
  }

  private getQueueUrl(input: Json): Json {
    const name = input.QueueName;
    if (typeof name !== 'string' || name === '') throw missingParameter('QueueName');
    if (input.QueueOwnerAWSAccountId !== undefined && input.QueueOwnerAWSAccountId !== ACCOUNT_ID)
      throw queueDoesNotExist();
    if (!this.store.getQueue(name)) throw queueDoesNotExist();
    return { QueueUrl: this.queueUrl(name) };
  }

  private getQueueAttributes(input: Json): Json {
    const queue = this.queueOf(input);
    const names: unknown[] = Array.isArray(input.AttributeNames) ? input.AttributeNames : [];
    const known = new Set<string>([...READ_ONLY_ATTRIBUTES, ...SETTABLE_ATTRIBUTES]);
    for (const n of names) {
      if (n !== 'All' && (typeof n !== 'string' || !known.has(n)))
        throw new SqsError('InvalidAttributeName', `Unknown Attribute ${String(n)}.`);
    }
    if (names.length === 0) return {};
    const all = this.allAttributes(queue);
    const wanted = names.includes('All') ? Object.keys(all) : (names as string[]);
    const out: Record<string, string> = {};
    for (const n of wanted) if (all[n] !== undefined) out[n] = all[n]!;
    return Object.keys(out).length > 0 ? { Attributes: out } : {};
  }

  /**
   * What CloudWatch would report for a queue (the local stack's metrics): its messages by state, and the age of the
   * oldest one still waiting its turn. As on AWS, a standard queue's message received three times or more and not
   * deleted is left out of that age
   * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).
   */
  queueMetrics(queueUrl: string): {
    visible: number;
    inFlight: number;
    delayed: number;
    oldestAgeSeconds: number;
  } {
    const queue = this.queueOf({ QueueUrl: queueUrl });
    this.store.sweep(queue);
    const now = this.store.now();
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    let oldest = now;
    for (const m of queue.messages.values()) {
      if (queue.isInFlight(m, now)) inFlight++;
      else if (m.availableAt > now) delayed++;
      else visible++;
      if ((queue.fifo || m.receiveCount < 3) && m.sentAt < oldest) oldest = m.sentAt;
    }
    return { visible, inFlight, delayed, oldestAgeSeconds: Math.floor((now - oldest) / 1000) };
  }

  private allAttributes(queue: Queue): Record<string, string> {
    this.store.sweep(queue);
    const now = this.store.now();
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const m of queue.messages.values()) {
      if (queue.isInFlight(m, now)) inFlight++;
      else if (m.availableAt > now) delayed++;
      else visible++;
    }
    return {
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(inFlight),
      ApproximateNumberOfMessagesDelayed: String(delayed),
      CreatedTimestamp: String(queue.def.createdAt),
      LastModifiedTimestamp: String(queue.def.modifiedAt),
      ...queue.def.attributes,
    };
  }

  private setQueueAttributes(input: Json): Json {
    const queue = this.queueOf(input);
    if (input.Attributes === undefined) throw missingParameter('Attributes');
    const attributes = normaliseAttributes(input.Attributes, {
      fifo: queue.fifo,
      creating: false,
      lookupArn: (arn) => this.lookupArn(arn),
    });
    const merged = { ...queue.def.attributes, ...attributes };
    if (attributes.RedrivePolicy === '') delete merged.RedrivePolicy;
    this.store.commit({
      t: 'queue',
      def: { ...queue.def, attributes: merged, modifiedAt: Math.floor(this.store.now() / 1000) },
    });
    return {};
  }

  private listQueues(input: Json): Json {
    const prefix = typeof input.QueueNamePrefix === 'string' ? input.QueueNamePrefix : '';
    const max = input.MaxResults;
    if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 1000))
      throw invalidParameter('MaxResults', max, 'MaxResults must be an integer between 1 and 1000.');
    const after =
      typeof input.NextToken === 'string' ? Buffer.from(input.NextToken, 'base64').toString() : '';
    const names = [...this.store.queues.keys()].filter((n) => n.startsWith(prefix) && n > after).sort();
    const page = names.slice(0, max ?? 1000);
    const out: Json = {};
    if (page.length > 0) out.QueueUrls = page.map((n) => this.queueUrl(n));
    if (max !== undefined && names.length > page.length)
      out.NextToken = Buffer.from(page.at(-1)!).toString('base64');
    return out;
  }

  private deleteQueue(input: Json): Json {
    const queue = this.queueOf(input);
    if (queue.timer) clearTimeout(queue.timer);
    this.store.commit({ t: 'deleteQueue', name: queue.name, at: this.store.now() });
    return {};
  }

  private purgeQueue(input: Json): Json {
    const queue = this.queueOf(input);
    const now = this.store.now();
    if (queue.lastPurgeAt !== undefined && now - queue.lastPurgeAt < PURGE_INTERVAL_MS)
      throw new SqsError(
        'PurgeQueueInProgress',
        `Only one PurgeQueue operation on ${queue.name} is allowed every 60 seconds.`,
      );
    this.store.commit({ t: 'purge', queue: queue.name, at: now });
    return {};
  }

  private listDeadLetterSourceQueues(input: Json): Json {
    const queue = this.queueOf(input);
    const urls = [...this.store.queues.values()]
      .filter((q) => q.config.redrive?.deadLetterTargetArn === queue.arn)
      .map((q) => this.queueUrl(q.name))
      .sort();
    return { queueUrls: urls };
  }

  private tagQueue(input: Json): Json {
    const queue = this.queueOf(input);
    if (!input.Tags || typeof input.Tags !== 'object') throw missingParameter('Tags');
    this.store.commit({ t: 'queue', def: { ...queue.def, tags: { ...queue.def.tags, ...input.Tags } } });
    return {};
  }

  private untagQueue(input: Json): Json {
    const queue = this.queueOf(input);
    if (!Array.isArray(input.TagKeys)) throw missingParameter('TagKeys');
    const tags = { ...queue.def.tags };
    for (const key of input.TagKeys as string[]) delete tags[key];
    this.store.commit({ t: 'queue', def: { ...queue.def, tags } });
    return {};
  }

  // ---- sending ---------------------------------------------------------------------------------------------

  private sendMessage(input: Json): Json {
    const queue = this.queueOf(input);
    const prepared = this.prepareSend(queue, input);
    return this.enqueue(queue, prepared);
  }

  private sendMessageBatch(input: Json): Json {
    const queue = this.queueOf(input);
    const entries = this.batchEntries(input.Entries, 'SendMessageBatchRequestEntry');
    const prepared: (Prepared | SqsError)[] = entries.map((entry) => {
      try {
        return this.prepareSend(queue, entry);
      } catch (error) {
        if (error instanceof SqsError) return error;
        throw error;
      }
    });
    const total = prepared.reduce((sum, p) => sum + (p instanceof SqsError ? 0 : p.size), 0);
    if (total > MAX_MESSAGE_BYTES)
      throw new SqsError(
        'BatchRequestTooLong',
        `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes. You have sent ${total} bytes.`,
      );
    const successful: Json[] = [];
    const failed: BatchResultErrorEntry[] = [];
    entries.forEach((entry, index) => {
      const p = prepared[index]!;
      if (p instanceof SqsError) failed.push(batchFailure(entry.Id, p));
      else successful.push({ Id: entry.Id, ...this.enqueue(queue, p) });
    });
    return { Successful: successful, Failed: failed };
  }

  private prepareSend(queue: Queue, input: Json): Prepared {
    const body = validateBody(input.MessageBody);
    const attributes = validateAttributes(input.MessageAttributes);
    const systemAttributes = validateAttributes(input.MessageSystemAttributes, true);
    const size = messageSize(body, attributes);
    if (size > queue.config.maximumMessageSize)
      throw invalidValue(
        `One or more parameters are invalid. Reason: Message must be shorter than ${queue.config.maximumMessageSize} bytes.`,
      );
    const delay = input.DelaySeconds;
    if (delay !== undefined && delay !== null) {
      if (!Number.isInteger(delay) || delay < 0 || delay > 900)
        throw invalidParameter('DelaySeconds', delay, 'must be between 0 and 900, if provided.');
      if (queue.fifo && delay !== 0)
        throw invalidParameter(
          'DelaySeconds',
          delay,
          'The request include parameter that is not valid for this queue type.',
        );
    }
    const groupId = input.MessageGroupId;
    if (
      groupId !== undefined &&
      groupId !== null &&
      (typeof groupId !== 'string' || !GROUP_OR_DEDUP_ID.test(groupId))
    )
      throw invalidParameter(
        'MessageGroupId',
        groupId,
        'MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.',
      );
    let dedupId = input.MessageDeduplicationId;
    if (dedupId !== undefined && dedupId !== null) {
      if (!queue.fifo)
        throw invalidParameter(
          'MessageDeduplicationId',
          dedupId,
          'The request includes a parameter that is not valid for this queue type.',
        );
      if (typeof dedupId !== 'string' || !GROUP_OR_DEDUP_ID.test(dedupId))
        throw invalidParameter(
          'MessageDeduplicationId',
          dedupId,
          'MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.',
        );
    }
    if (queue.fifo) {
      if (groupId === undefined || groupId === null) throw missingParameter('MessageGroupId');
      if (dedupId === undefined || dedupId === null) {
        if (!queue.config.contentBasedDeduplication)
          throw invalidValue(
            'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
          );
        dedupId = createHash('sha256').update(body, 'utf8').digest('hex');
      }
    }
    return {
      body,
      attributes,
      systemAttributes,
      size,
      delaySeconds: typeof delay === 'number' ? delay : queue.config.delaySeconds,
      groupId: typeof groupId === 'string' ? groupId : undefined,
      dedupId: typeof dedupId === 'string' ? dedupId : undefined,
    };
  }

  private enqueue(queue: Queue, p: Prepared): Json {
    const now = this.store.now();
    const md5Body = md5Hex(p.body);
    const md5Attributes = p.attributes ? md5OfAttributes(p.attributes) : undefined;
    const md5System = p.systemAttributes ? md5OfAttributes(p.systemAttributes) : undefined;
    const digests = {
      MD5OfMessageBody: md5Body,
      ...(md5Attributes ? { MD5OfMessageAttributes: md5Attributes } : {}),
      ...(md5System ? { MD5OfMessageSystemAttributes: md5System } : {}),
    };
    if (queue.fifo && p.dedupId !== undefined) {
      this.store.sweep(queue);
      // A duplicate within the deduplication interval is accepted but not delivered again.
      const duplicate = queue.dedup.get(queue.dedupKey(p.groupId, p.dedupId));
      if (duplicate && duplicate.until > now)
        return {
          MessageId: duplicate.id,
          ...digests,
          ...(duplicate.seq ? { SequenceNumber: duplicate.seq } : {}),
        };
    }
    const message: StoredMessage = {
      id: SqsStore.newMessageId(),
      body: p.body,
      md5Body,
      ...(p.attributes ? { attributes: p.attributes, md5Attributes } : {}),
      ...(p.systemAttributes ? { systemAttributes: p.systemAttributes, md5SystemAttributes: md5System } : {}),
      senderId: SENDER_ID,
      sentAt: now,
      enqueuedAt: now,
      availableAt: now + p.delaySeconds * 1000,
      receiveCount: 0,
      ...(p.groupId !== undefined ? { groupId: p.groupId } : {}),
      ...(queue.fifo ? { dedupId: p.dedupId, sequenceNumber: queue.nextSequence() } : {}),
    };
    this.store.commit({ t: 'send', queue: queue.name, m: message });
    return {
      MessageId: message.id,
      ...digests,
      ...(message.sequenceNumber ? { SequenceNumber: message.sequenceNumber } : {}),
    };
  }

  // ---- receiving -------------------------------------------------------------------------------------------

  private receiveMessage(input: Json, context: ActionContext): Json | Promise<Json> {
    const queue = this.queueOf(input);
    const max = input.MaxNumberOfMessages ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > 10)
      throw invalidParameter('MaxNumberOfMessages', max, 'Must be between 1 and 10, if provided.');
    const wait = input.WaitTimeSeconds ?? queue.config.receiveWaitSeconds;
    if (!Number.isInteger(wait) || wait < 0 || wait > 20)
      throw invalidParameter('WaitTimeSeconds', wait, 'Must be >= 0 and <= 20, if provided.');
    const visibility = input.VisibilityTimeout;
    if (visibility !== undefined && (!Number.isInteger(visibility) || visibility < 0 || visibility > 43_200))
      throw invalidParameter('VisibilityTimeout', visibility, 'Must be between 0 and 43200, if provided.');
    const request: ReceiveRequest = {
      max,
      visibilitySeconds: visibility ?? queue.config.visibilityTimeoutSeconds,
      systemAttributes: [
        ...(Array.isArray(input.AttributeNames) ? input.AttributeNames : []),
        ...(Array.isArray(input.MessageSystemAttributeNames) ? input.MessageSystemAttributeNames : []),
      ],
      attributeNames: Array.isArray(input.MessageAttributeNames) ? input.MessageAttributeNames : [],
    };
    const taken = this.receiveNow(queue, request);
    if (taken.length > 0 || wait === 0) return messagesOutput(taken);
    if (context.signal?.aborted) throw abortError();
    // Long poll: wait up to `wait` seconds, answer as soon as messages are available.
    return new Promise<Json>((resolve, reject) => {
      let done = false;
      const finish = (messages: Json[] | Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        context.signal?.removeEventListener('abort', onAbort);
        const index = queue.waiters.indexOf(waiter);
        if (index >= 0) queue.waiters.splice(index, 1);
        if (messages instanceof Error) reject(messages);
        else resolve(messagesOutput(messages));
      };
      const waiter = {
        attempt: () => {
          if (done) return false;
          if (!this.store.getQueue(queue.name)) {
            finish([]);
            return true;
          }
          let taken: Json[];
          try {
            taken = this.receiveNow(queue, request);
          } catch (error) {
            // Runs from a timer or microtask: the error goes to this poll's caller, never up the event loop.
            finish(error as Error);
            return true;
          }
          if (taken.length === 0) return false;
          finish(taken);
          return true;
        },
        release: () => finish([]),
      };
      const onAbort = () => finish(abortError());
      const timer = setTimeout(() => finish([]), wait * 1000);
      context.signal?.addEventListener('abort', onAbort, { once: true });
      queue.waiters.push(waiter);
      this.schedule(queue);
    });
  }

  /** Receives what is receivable now: up to `max` messages, moving those past maxReceiveCount to the DLQ. */
  private receiveNow(queue: Queue, request: ReceiveRequest): Json[] {
    this.store.sweep(queue);
    const now = this.store.now();
    const redrive = queue.config.redrive;
    const dlqName = redrive ? queueNameFromArn(redrive.deadLetterTargetArn) : undefined;
    const dlq = dlqName && dlqName !== queue.name ? this.store.getQueue(dlqName) : undefined;
    const out: Json[] = [];
    const blockedGroups = new Set<string | undefined>();
    // Bounded by the queue's messages; the map tolerates deletion while iterating.
    for (const m of queue.messages.values()) {
      if (out.length >= request.max) break;
      if (queue.fifo) {
        // FIFO: a group is locked while any of its messages is in flight, and its messages leave in order.
        if (blockedGroups.has(m.groupId)) continue;
        if (!queue.isVisible(m, now)) {
          blockedGroups.add(m.groupId);
          continue;
        }
      } else if (!queue.isVisible(m, now)) continue;
      if (redrive && dlq && m.receiveCount >= redrive.maxReceiveCount) {
        this.store.commit({
          t: 'deadLetter',
          queue: queue.name,
          id: m.id,
          to: dlq.name,
          at: now,
          ...(dlq.fifo ? { seq: dlq.nextSequence() } : {}),
        });
        continue;
      }
      const token = SqsStore.newToken();
      this.store.commit({
        t: 'receive',
        queue: queue.name,
        id: m.id,
        at: now,
        until: now + request.visibilitySeconds * 1000,
        token,
      });
      out.push(this.messageOutput(queue, m, token, request));
    }
    return out;
  }

  private messageOutput(queue: Queue, m: StoredMessage, token: string, request: ReceiveRequest): Json {
    const wanted = new Set(request.systemAttributes);
    const all = wanted.has('All');
    const system: Record<string, string> = {};
    const put = (name: string, value: string | number | undefined) => {
      if (value !== undefined && (all || wanted.has(name))) system[name] = String(value);
    };
    put('SenderId', m.senderId);
    put('SentTimestamp', m.sentAt);
    put('ApproximateReceiveCount', m.receiveCount);
    put('ApproximateFirstReceiveTimestamp', m.firstReceiveAt);
    put('MessageGroupId', m.groupId);
    if (queue.fifo) {
      put('MessageDeduplicationId', m.dedupId);
      put('SequenceNumber', m.sequenceNumber);
    }
    put('AWSTraceHeader', m.systemAttributes?.AWSTraceHeader?.StringValue);
    put('DeadLetterQueueSourceArn', m.dlqSourceArn);
    const attributes = selectAttributes(m.attributes, request.attributeNames);
    return {
      MessageId: m.id,
      ReceiptHandle: encodeReceiptHandle(queue.name, m.id, token),
      MD5OfBody: m.md5Body,
      Body: m.body,
      ...(Object.keys(system).length > 0 ? { Attributes: system } : {}),
      ...(attributes
        ? { MessageAttributes: attributes, MD5OfMessageAttributes: md5OfAttributes(attributes) }
        : m.md5Attributes
          ? { MD5OfMessageAttributes: m.md5Attributes }
          : {}),
    };
  }

  /** Lets waiting long polls take what became available, in arrival order (one waiter at a time). */
  private wake(queue: Queue): void {
    if (queue.waking) {
      queue.wakeAgain = true;
      return;
    }
    queue.waking = true;
    try {
      // Bounded: each pass answers one waiter or stops.
      for (let i = 0; i < 1000 && queue.waiters.length > 0; i++) {
        queue.wakeAgain = false;
        const waiter = queue.waiters[0]!;
        if (!waiter.attempt()) {
          if (!queue.wakeAgain) break;
        }
      }
    } finally {
      queue.waking = false;
    }
    this.schedule(queue);
  }

  /** While long polls wait, a timer for the next moment a delayed or in-flight message becomes visible. */
  private schedule(queue: Queue): void {
    if (queue.timer) clearTimeout(queue.timer);
    queue.timer = undefined;
    if (queue.waiters.length === 0 || !this.store.getQueue(queue.name)) return;
    const now = this.store.now();
    let next = Number.POSITIVE_INFINITY;
    for (const m of queue.messages.values()) {
      const at = Math.max(m.availableAt, m.invisibleUntil ?? 0);
      if (at > now && at < next) next = at;
    }
    if (next === Number.POSITIVE_INFINITY) return;
    queue.timer = setTimeout(
      () => {
        queue.timer = undefined;
        this.wake(queue);
      },
      Math.min(Math.max(1, next - now), 20_000),
    );
  }

  // ---- receipt handles -------------------------------------------------------------------------------------

  private deleteMessage(input: Json): Json {
    const queue = this.queueOf(input);
    this.deleteOne(queue, input.ReceiptHandle);
    return {};
  }

  private deleteMessageBatch(input: Json): Json {
    const queue = this.queueOf(input);
    const entries = this.batchEntries(input.Entries, 'DeleteMessageBatchRequestEntry');
    return this.batch(entries, (entry) => this.deleteOne(queue, entry.ReceiptHandle));
  }

  /**
   * DeleteMessage: a handle SQS never issued is ReceiptHandleIsInvalid; on a standard queue an older handle of the
   * message still deletes it and a handle of a message already gone succeeds; a FIFO queue refuses a handle whose
   * receive is no longer the current one ("The receipt handle has expired.").
   */
  private deleteOne(queue: Queue, handle: unknown): void {
    if (typeof handle !== 'string' || handle === '') throw missingParameter('ReceiptHandle');
    const decoded = decodeReceiptHandle(handle);
    if (!decoded) throw receiptHandleIsInvalid(handle);
    if (decoded.arn !== queue.arn)
      throw new SqsError(
        'ReceiptHandleIsInvalid',
        `The receipt handle "${handle}" is not valid for this queue.`,
      );
    const m = queue.messages.get(decoded.id);
    if (!m) return;
    if (queue.fifo && (m.token !== decoded.token || !queue.isInFlight(m, this.store.now())))
      throw invalidParameter('ReceiptHandle', handle, 'The receipt handle has expired.');
    this.store.commit({ t: 'delete', queue: queue.name, id: m.id });
  }

  private changeMessageVisibility(input: Json): Json {
    const queue = this.queueOf(input);
    if (input.VisibilityTimeout === undefined) throw missingParameter('VisibilityTimeout');
    this.changeOne(queue, input.ReceiptHandle, input.VisibilityTimeout);
    return {};
  }

  private changeMessageVisibilityBatch(input: Json): Json {
    const queue = this.queueOf(input);
    const entries = this.batchEntries(input.Entries, 'ChangeMessageVisibilityBatchRequestEntry');
    return this.batch(entries, (entry) =>
      this.changeOne(queue, entry.ReceiptHandle, entry.VisibilityTimeout),
    );
  }

  private changeOne(queue: Queue, handle: unknown, timeout: unknown): void {
    if (typeof handle !== 'string' || handle === '') throw missingParameter('ReceiptHandle');
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0 || timeout > 43_200)
      throw invalidParameter('VisibilityTimeout', timeout, 'Must be between 0 and 43200, if provided.');
    const decoded = decodeReceiptHandle(handle);
    if (!decoded) throw receiptHandleIsInvalid(handle);
    if (decoded.arn !== queue.arn)
      throw new SqsError(
        'ReceiptHandleIsInvalid',
        `The receipt handle "${handle}" is not valid for this queue.`,
      );
    const m = queue.messages.get(decoded.id);
    // Deleted, expired, moved, or received again since (a newer handle): as SQS words it.
    if (!m || m.token !== decoded.token)
      throw invalidParameter(
        'ReceiptHandle',
        handle,
        'Message does not exist or is not available for visibility timeout change.',
      );
    const now = this.store.now();
    if (!queue.isInFlight(m, now))
      throw new SqsError('MessageNotInflight', 'The message referred to is not in flight.');
    const until = now + timeout * 1000;
    if (until > (m.receivedAt ?? now) + MAX_IN_FLIGHT_MS)
      throw invalidParameter(
        'VisibilityTimeout',
        timeout,
        'Total VisibilityTimeout for the message is beyond the limit [43200 seconds].',
      );
    this.store.commit({ t: 'visibility', queue: queue.name, id: m.id, until });
  }

  // ---- helpers ---------------------------------------------------------------------------------------------

  /** The queue a QueueUrl names: InvalidAddress for no queue URL at all, QueueDoesNotExist for an unknown queue. */
  queueOf(input: Json): Queue {
    const url = input.QueueUrl;
    if (typeof url !== 'string' || url === '') throw missingParameter('QueueUrl');
    let segments: string[];
    try {
      segments = new URL(url).pathname.split('/').filter(Boolean);
    } catch {
      throw new SqsError('InvalidAddress', `The address ${url} is not valid for this endpoint.`);
    }
    if (segments.length !== 2)
      throw new SqsError('InvalidAddress', `The address ${url} is not valid for this endpoint.`);
    const [account, name] = segments as [string, string];
    const queue = account === ACCOUNT_ID ? this.store.getQueue(decodeURIComponent(name)) : undefined;
    if (!queue) throw queueDoesNotExist();
    return queue;
  }

  private lookupArn(arn: string): { fifo: boolean } | undefined {
    const name = queueNameFromArn(arn);
    const queue = name === undefined ? undefined : this.store.getQueue(name);
    return queue ? { fifo: queue.fifo } : undefined;
  }

  private batchEntries(entries: unknown, kind: string): Json[] {
    if (!Array.isArray(entries) || entries.length === 0)
      throw new SqsError('EmptyBatchRequest', `There should be at least one ${kind} in the request.`);
    if (entries.length > 10)
      throw new SqsError(
        'TooManyEntriesInBatchRequest',
        `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
      );
    const seen = new Set<string>();
    for (const entry of entries as Json[]) {
      const id = entry?.Id;
      if (typeof id !== 'string' || !BATCH_ID.test(id))
        throw new SqsError(
          'InvalidBatchEntryId',
          'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
        );
      if (seen.has(id)) throw new SqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
      seen.add(id);
    }
    return entries as Json[];
  }

  private batch(entries: Json[], each: (entry: Json) => void): Json {
    const successful: Json[] = [];
    const failed: BatchResultErrorEntry[] = [];
    for (const entry of entries) {
      try {
        each(entry);
        successful.push({ Id: entry.Id });
      } catch (error) {
        if (!(error instanceof SqsError)) throw error;
        failed.push(batchFailure(entry.Id, error));
      }
    }
    return { Successful: successful, Failed: failed };
  }
}

interface Prepared {
  readonly body: string;
  readonly attributes: WireAttributes | undefined;
  readonly systemAttributes: WireAttributes | undefined;
  readonly size: number;
  readonly delaySeconds: number;
  readonly groupId: string | undefined;
  readonly dedupId: string | undefined;
}

interface ReceiveRequest {
  readonly max: number;
  readonly visibilitySeconds: number;
  readonly systemAttributes: readonly string[];
  readonly attributeNames: readonly string[];
}

function messagesOutput(messages: Json[]): Json {
  return messages.length > 0 ? { Messages: messages } : {};
}

function withoutEmpty(attributes: Record<string, string>): Record<string, string> {
  const out = { ...attributes };
  if (out.RedrivePolicy === '') delete out.RedrivePolicy;
  return out;
}

function abortError(): Error {
  return Object.assign(new Error('Request aborted'), { name: 'AbortError' });
}
