/**
 * The queues and their messages: every state change is a journal record (see ./journal.ts), written before the call
 * that caused it is answered and applied by the same `apply` on replay, so the state after a restart (clean or
 * SIGKILL) is the state every acknowledged call left.
 *
 * Message life (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html):
 * delayed (until `availableAt`) → visible → in flight (until `invisibleUntil`, after a receive) → visible again, or
 * deleted. Retention counts from `enqueuedAt`: a message older than the queue's MessageRetentionPeriod is gone,
 * wherever it is (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
 * Expiry and the end of a visibility timeout need no record: both follow from the clock.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Journal } from './journal';
import { SqsError } from './sqs-errors';
import type { WireAttributes } from './sqs-message';
import { type QueueAttributes, type QueueConfig, queueConfig } from './sqs-queue-attributes';

export const ACCOUNT_ID = '000000000000';
export const REGION = 'us-east-1';
/** FIFO deduplication interval: 5 minutes (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-exactly-once-processing.html). */
export const DEDUPLICATION_MS = 5 * 60 * 1000;
/** A message may stay in flight at most 12 hours after the receive that took it (sqs-visibility-timeout.html). */
export const MAX_IN_FLIGHT_MS = 43_200 * 1000;

export interface StoredMessage {
  readonly id: string;
  readonly body: string;
  readonly md5Body: string;
  readonly attributes?: WireAttributes;
  readonly md5Attributes?: string;
  readonly systemAttributes?: WireAttributes;
  readonly md5SystemAttributes?: string;
  readonly senderId: string;
  /** SentTimestamp (ms). */
  readonly sentAt: number;
  /** Retention counts from here (ms). */
  enqueuedAt: number;
  /** End of the delay (ms). */
  availableAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  /** Latest receive (ms): ChangeMessageVisibility may not go beyond it + 12 h. */
  receivedAt?: number;
  invisibleUntil?: number;
  /** Receipt token of the latest receive. */
  token?: string;
  readonly groupId?: string;
  dedupId?: string;
  sequenceNumber?: string;
  /** Set on messages a redrive policy moved here: the ARN of the queue they came from. */
  dlqSourceArn?: string;
}

export interface QueueDefinition {
  readonly name: string;
  readonly fifo: boolean;
  /** Seconds. */
  readonly createdAt: number;
  modifiedAt: number;
  attributes: QueueAttributes;
  tags: Record<string, string>;
}

export type MoveTaskStatus = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

export interface MoveTask {
  readonly handle: string;
  readonly sourceArn: string;
  readonly destinationArn?: string;
  readonly maxPerSecond?: number;
  status: MoveTaskStatus;
  moved: number;
  readonly toMove: number;
  readonly startedAt: number;
  failureReason?: string;
  /** Message ids still to move, oldest first (the source's messages when the task started). */
  pending: string[];
}

/** A journal record: one state change. */
export type SqsRecord =
  | { readonly t: 'queue'; readonly def: QueueDefinition }
  | { readonly t: 'deleteQueue'; readonly name: string; readonly at: number }
  | { readonly t: 'send'; readonly queue: string; readonly m: StoredMessage }
  | {
      readonly t: 'receive';
      readonly queue: string;
      readonly id: string;
      readonly at: number;
      readonly until: number;
      readonly token: string;
    }
  | { readonly t: 'visibility'; readonly queue: string; readonly id: string; readonly until: number }
  | { readonly t: 'delete'; readonly queue: string; readonly id: string }
  | {
      readonly t: 'deadLetter';
      readonly queue: string;
      readonly id: string;
      readonly to: string;
      readonly at: number;
      readonly seq?: string;
    }
  | { readonly t: 'purge'; readonly queue: string; readonly at: number }
  | { readonly t: 'task'; readonly task: MoveTask }
  | {
      readonly t: 'move';
      readonly task: string;
      readonly queue: string;
      readonly id: string;
      readonly to: string;
      readonly newId: string;
      readonly at: number;
      readonly seq?: string;
    };

interface SqsSnapshot {
  readonly queues: {
    def: QueueDefinition;
    messages: StoredMessage[];
    dedup: [string, Dedup][];
    lastSequence: string;
    lastPurgeAt?: number;
  }[];
  readonly deleted: [string, number][];
  readonly tasks: MoveTask[];
}

interface Dedup {
  readonly id: string;
  readonly seq?: string;
  readonly until: number;
}

/** A ReceiveMessage long poll waiting for messages. */
export interface Waiter {
  /** Tries to take messages now; true when the waiter got some (and answered). */
  readonly attempt: () => boolean;
  /** Answers with no messages (the wait ended, the queue is gone, or the store stops). */
  readonly release: () => void;
}

export class Queue {
  readonly messages = new Map<string, StoredMessage>();
  readonly dedup = new Map<string, Dedup>();
  lastSequence = 18_000_000_000_000_000_000n;
  lastPurgeAt: number | undefined;
  readonly waiters: Waiter[] = [];
  timer: NodeJS.Timeout | undefined;
  /** Re-entry guard of the long-poll wake-up (answering a waiter commits records that may wake again). */
  waking = false;
  wakeAgain = false;
  wakePending = false;
  config: QueueConfig;

  constructor(public def: QueueDefinition) {
    this.config = queueConfig(def.attributes);
  }

  get name(): string {
    return this.def.name;
  }

  get fifo(): boolean {
    return this.def.fifo;
  }

  get arn(): string {
    return queueArn(this.def.name);
  }

  isInFlight(m: StoredMessage, now: number): boolean {
    return m.invisibleUntil !== undefined && m.invisibleUntil > now;
  }

  isVisible(m: StoredMessage, now: number): boolean {
    return m.availableAt <= now && !this.isInFlight(m, now);
  }

  dedupKey(groupId: string | undefined, dedupId: string): string {
    return this.config.deduplicationScope === 'messageGroup' ? `${groupId ?? ''}\u0000${dedupId}` : dedupId;
  }

  /** A new, larger sequence number (FIFO): large, non-consecutive, increasing. */
  nextSequence(): string {
    return (this.lastSequence + BigInt(1 + randomBytes(2).readUInt16BE())).toString();
  }

  noteSequence(seq: string | undefined): void {
    if (seq !== undefined && BigInt(seq) > this.lastSequence) this.lastSequence = BigInt(seq);
  }
}

export function queueArn(name: string): string {
  return `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${name}`;
}

export function queueNameFromArn(arn: string): string | undefined {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs' || parts[4] !== ACCOUNT_ID)
    return undefined;
  return parts[5];
}

/** Receipt handles: opaque base64 naming the queue, the message and the receive that issued it. */
export function encodeReceiptHandle(queue: string, id: string, token: string): string {
  return Buffer.from(`v1|${queueArn(queue)}|${id}|${token}`).toString('base64');
}

export function decodeReceiptHandle(handle: string): { arn: string; id: string; token: string } | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(handle)) return undefined;
  const parts = Buffer.from(handle, 'base64').toString('utf8').split('|');
  if (parts.length !== 4 || parts[0] !== 'v1') return undefined;
  return { arn: parts[1]!, id: parts[2]!, token: parts[3]! };
}

export interface SqsStoreOptions {
  /** Persist in this directory (journal + snapshot); in memory when absent. */
  readonly dataDir?: string;
  readonly fsync?: boolean;
  /** Journal bytes before a compaction. */
  readonly compactBytes?: number;
  readonly now?: () => number;
  /** After a restart: keep in-flight messages invisible until their deadline (AWS), or release them at once. */
  readonly inFlightOnRestart?: 'keep' | 'release';
}

export class SqsStore {
  readonly queues = new Map<string, Queue>();
  /** Recently deleted queue names → deletion time (ms), for QueueDeletedRecently. */
  readonly deleted = new Map<string, number>();
  readonly tasks = new Map<string, MoveTask>();
  readonly now: () => number;
  private readonly journal: Journal<SqsSnapshot, SqsRecord> | undefined;
  private closed = false;
  /** Called after a record changed what a queue may hand out (new messages, visibility). */
  onChange: ((queue: Queue) => void) | undefined;

  constructor(options: SqsStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    if (options.dataDir) {
      const { journal, replay } = Journal.open<SqsSnapshot, SqsRecord>({
        dir: options.dataDir,
        name: 'sqs',
        ...(options.fsync !== undefined ? { fsync: options.fsync } : {}),
        ...(options.compactBytes !== undefined ? { compactBytes: options.compactBytes } : {}),
      });
      if (replay.snapshot) this.restore(replay.snapshot);
      for (const record of replay.records) this.apply(record);
      if (options.inFlightOnRestart === 'release') {
        for (const queue of this.queues.values())
          for (const m of queue.messages.values()) m.invisibleUntil = undefined;
      }
      journal.snapshotState = () => this.snapshot();
      this.journal = journal;
    }
  }

  /** Makes a change durable, then applies it. */
  commit(record: SqsRecord): void {
    if (this.closed) throw new SqsError('ServiceUnavailable', 'The local SQS store is stopped.', 503);
    this.journal?.append(record);
    this.apply(record);
    this.journal?.maybeCompact();
    // Records that can make messages available to a waiting receive (never 'receive' itself: no re-entry).
    const target =
      record.t === 'send' || record.t === 'visibility'
        ? record.queue
        : record.t === 'deadLetter' || record.t === 'move'
          ? record.to
          : record.t === 'queue'
            ? record.def.name
            : undefined;
    const queue = target === undefined ? undefined : this.queues.get(target);
    if (queue && this.onChange) this.onChange(queue);
  }

  /** Compacts the journal (snapshot + empty journal) and closes it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.journal) {
      this.journal.compact(this.snapshot());
      this.journal.close();
    }
  }

  getQueue(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  /** Drops expired messages and deduplication entries of a queue (no record: the clock decides). */
  sweep(queue: Queue): void {
    const now = this.now();
    const limit = now - queue.config.retentionSeconds * 1000;
    for (const [id, m] of queue.messages) if (m.enqueuedAt <= limit) queue.messages.delete(id);
    for (const [key, d] of queue.dedup) if (d.until <= now) queue.dedup.delete(key);
  }

  private apply(record: SqsRecord): void {
    switch (record.t) {
      case 'queue': {
        const existing = this.queues.get(record.def.name);
        if (existing) {
          const oldDelay = existing.config.delaySeconds;
          existing.def = record.def;
          existing.config = queueConfig(record.def.attributes);
          // FIFO queues: the queue's delay is retroactive for messages not yet received (sqs-delay-queues.html).
          if (existing.fifo && existing.config.delaySeconds !== oldDelay) {
            for (const m of existing.messages.values())
              if (m.receiveCount === 0 && m.dlqSourceArn === undefined)
                m.availableAt = m.sentAt + existing.config.delaySeconds * 1000;
          }
        } else {
          this.queues.set(record.def.name, new Queue(record.def));
          this.deleted.delete(record.def.name);
        }
        return;
      }
      case 'deleteQueue': {
        const queue = this.queues.get(record.name);
        this.queues.delete(record.name);
        this.deleted.set(record.name, record.at);
        if (queue) for (const waiter of queue.waiters.splice(0)) waiter.release();
        return;
      }
      case 'send': {
        const queue = this.queues.get(record.queue);
        if (!queue) return;
        const m = { ...record.m };
        queue.messages.set(m.id, m);
        this.registerFifo(queue, m);
        return;
      }
      case 'receive': {
        const m = this.queues.get(record.queue)?.messages.get(record.id);
        if (!m) return;
        m.receiveCount++;
        m.firstReceiveAt ??= record.at;
        m.receivedAt = record.at;
        m.invisibleUntil = record.until;
        m.token = record.token;
        return;
      }
      case 'visibility': {
        const m = this.queues.get(record.queue)?.messages.get(record.id);
        if (m) m.invisibleUntil = record.until;
        return;
      }
      case 'delete':
        this.queues.get(record.queue)?.messages.delete(record.id);
        return;
      case 'deadLetter': {
        const source = this.queues.get(record.queue);
        const target = this.queues.get(record.to);
        const m = source?.messages.get(record.id);
        if (!source || !target || !m) return;
        source.messages.delete(record.id);
        const moved: StoredMessage = {
          ...m,
          invisibleUntil: undefined,
          token: undefined,
          availableAt: record.at,
          dlqSourceArn: source.arn,
          // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/setting-up-dead-letter-queue-retention.html:
          // standard queues keep the original enqueue timestamp (DLQ retention counts from the first enqueue);
          // FIFO queues reset it when the message moves to the DLQ.
          enqueuedAt: target.fifo ? record.at : m.enqueuedAt,
          // A message moved to a FIFO DLQ takes its message id as deduplication id
          // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html).
          ...(target.fifo ? { dedupId: m.id, sequenceNumber: record.seq } : {}),
        };
        target.messages.set(moved.id, moved);
        this.registerFifo(target, moved);
        return;
      }
      case 'purge': {
        const queue = this.queues.get(record.queue);
        if (!queue) return;
        queue.messages.clear();
        queue.lastPurgeAt = record.at;
        return;
      }
      case 'task':
        this.tasks.set(record.task.handle, { ...record.task, pending: [...record.task.pending] });
        return;
      case 'move': {
        const task = this.tasks.get(record.task);
        if (task) {
          if (task.pending[0] === record.id) task.pending.shift();
          else task.pending = task.pending.filter((id) => id !== record.id);
          task.moved++;
        }
        const source = this.queues.get(record.queue);
        const target = this.queues.get(record.to);
        const m = source?.messages.get(record.id);
        if (!source || !target || !m) return;
        source.messages.delete(record.id);
        // Redriven messages are new messages: new id and enqueue time, so retention starts again (redrive doc above).
        const moved: StoredMessage = {
          id: record.newId,
          body: m.body,
          md5Body: m.md5Body,
          ...(m.attributes ? { attributes: m.attributes, md5Attributes: m.md5Attributes } : {}),
          ...(m.systemAttributes
            ? { systemAttributes: m.systemAttributes, md5SystemAttributes: m.md5SystemAttributes }
            : {}),
          senderId: m.senderId,
          sentAt: record.at,
          enqueuedAt: record.at,
          availableAt: record.at,
          receiveCount: 0,
          ...(m.groupId !== undefined ? { groupId: m.groupId } : {}),
          ...(target.fifo ? { dedupId: m.dedupId ?? m.id, sequenceNumber: record.seq } : {}),
        };
        target.messages.set(moved.id, moved);
        this.registerFifo(target, moved);
        return;
      }
    }
  }

  private registerFifo(queue: Queue, m: StoredMessage): void {
    if (!queue.fifo) return;
    queue.noteSequence(m.sequenceNumber);
    if (m.dedupId !== undefined)
      queue.dedup.set(queue.dedupKey(m.groupId, m.dedupId), {
        id: m.id,
        ...(m.sequenceNumber !== undefined ? { seq: m.sequenceNumber } : {}),
        until: m.sentAt + DEDUPLICATION_MS,
      });
  }

  private snapshot(): SqsSnapshot {
    return {
      queues: [...this.queues.values()].map((q) => {
        this.sweep(q);
        return {
          def: q.def,
          messages: [...q.messages.values()],
          dedup: [...q.dedup.entries()],
          lastSequence: q.lastSequence.toString(),
          ...(q.lastPurgeAt !== undefined ? { lastPurgeAt: q.lastPurgeAt } : {}),
        };
      }),
      deleted: [...this.deleted.entries()],
      tasks: [...this.tasks.values()],
    };
  }

  private restore(snapshot: SqsSnapshot): void {
    for (const s of snapshot.queues) {
      const queue = new Queue(s.def);
      for (const m of s.messages) queue.messages.set(m.id, m);
      for (const [key, d] of s.dedup) queue.dedup.set(key, d);
      queue.lastSequence = BigInt(s.lastSequence);
      queue.lastPurgeAt = s.lastPurgeAt;
      this.queues.set(s.def.name, queue);
    }
    for (const [name, at] of snapshot.deleted) this.deleted.set(name, at);
    for (const task of snapshot.tasks) this.tasks.set(task.handle, task);
  }

  /** A receipt token for a new receive. */
  static newToken(): string {
    return randomBytes(12).toString('hex');
  }

  static newMessageId(): string {
    return randomUUID();
  }
}
