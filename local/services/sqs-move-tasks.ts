/**
 * Dead-letter queue redrive: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html).
 *
 * - The source must be a dead-letter queue of some queue; messages go back to the queue each came from
 *   (DeadLetterQueueSourceArn) or to DestinationArn, a queue of the same type.
 * - A task runs in the background, oldest message first, at MaxNumberOfMessagesPerSecond (1–500) when given;
 *   ApproximateNumberOfMessagesToMove is fixed when it starts. One active task per source queue.
 * - Redriven messages are new messages: new message id and enqueue time (retention starts again), receive count 0.
 * - Status RUNNING → COMPLETED, or CANCELLING → CANCELLED after CancelMessageMoveTask (messages already moved stay
 *   moved), or FAILED with a FailureReason. Tasks are journaled: a restart resumes a running task.
 */
import { randomUUID } from 'node:crypto';
import { invalidParameter, invalidValue, missingParameter, SqsError } from './sqs-errors';
import { type MoveTask, queueNameFromArn, SqsStore } from './sqs-store';

// biome-ignore lint/suspicious/noExplicitAny: request and response bodies are JSON documents.
type Json = Record<string, any>;

/** Messages moved per tick without a rate, and the tick interval. */
const UNLIMITED_BATCH = 100;
const MIN_TICK_MS = 10;
/** Tasks kept per source queue for ListMessageMoveTasks (it lists at most 10). */
const TASKS_KEPT = 10;

export class MoveTasks {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly store: SqsStore) {
    for (const task of store.tasks.values())
      if (task.status === 'RUNNING' || task.status === 'CANCELLING') this.schedule(task.handle, 0);
  }

  start(input: Json): Json {
    const sourceArn = input.SourceArn;
    if (typeof sourceArn !== 'string' || sourceArn === '') throw missingParameter('SourceArn');
    const source = this.queueByArn(sourceArn, 'SourceArn');
    const isDeadLetterQueue = [...this.store.queues.values()].some(
      (q) => q.config.redrive?.deadLetterTargetArn === sourceArn,
    );
    if (!isDeadLetterQueue) throw invalidValue('Source queue must be configured as a Dead Letter Queue.');
    const destinationArn = input.DestinationArn;
    if (destinationArn !== undefined && destinationArn !== null) {
      if (typeof destinationArn !== 'string')
        throw invalidParameter('DestinationArn', destinationArn, 'Invalid ARN.');
      const destination = this.queueByArn(destinationArn, 'DestinationArn');
      if (destination.fifo !== source.fifo)
        throw invalidValue('The destination queue must be the same type as the source queue.');
    }
    const rate = input.MaxNumberOfMessagesPerSecond;
    if (rate !== undefined && rate !== null && (!Number.isInteger(rate) || rate < 1 || rate > 500))
      throw invalidParameter('MaxNumberOfMessagesPerSecond', rate, 'Must be between 1 and 500.');
    const active = [...this.store.tasks.values()].some(
      (t) => t.sourceArn === sourceArn && (t.status === 'RUNNING' || t.status === 'CANCELLING'),
    );
    if (active)
      throw invalidValue(
        'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
      );
    this.store.sweep(source);
    const pending = [...source.messages.keys()];
    const task: MoveTask = {
      handle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn })).toString('base64'),
      sourceArn,
      ...(typeof destinationArn === 'string' ? { destinationArn } : {}),
      ...(typeof rate === 'number' ? { maxPerSecond: rate } : {}),
      status: 'RUNNING',
      moved: 0,
      toMove: pending.length,
      startedAt: this.store.now(),
      pending,
    };
    this.forgetOldTasks(sourceArn);
    this.store.commit({ t: 'task', task });
    this.schedule(task.handle, 0);
    return { TaskHandle: task.handle };
  }

  list(input: Json): Json {
    const sourceArn = input.SourceArn;
    if (typeof sourceArn !== 'string' || sourceArn === '') throw missingParameter('SourceArn');
    this.queueByArn(sourceArn, 'SourceArn');
    const max = input.MaxResults ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > 10)
      throw invalidParameter('MaxResults', max, 'Must be between 1 and 10.');
    const tasks = [...this.store.tasks.values()]
      .filter((t) => t.sourceArn === sourceArn)
      .sort((a, b) => b.startedAt - a.startedAt)
      .slice(0, max);
    return {
      Results: tasks.map((t) => ({
        ...(t.status === 'RUNNING' ? { TaskHandle: t.handle } : {}),
        Status: t.status,
        SourceArn: t.sourceArn,
        ...(t.destinationArn ? { DestinationArn: t.destinationArn } : {}),
        ...(t.maxPerSecond ? { MaxNumberOfMessagesPerSecond: t.maxPerSecond } : {}),
        ApproximateNumberOfMessagesMoved: t.moved,
        ApproximateNumberOfMessagesToMove: t.toMove,
        ...(t.failureReason ? { FailureReason: t.failureReason } : {}),
        StartedTimestamp: t.startedAt,
      })),
    };
  }

  cancel(input: Json): Json {
    const handle = input.TaskHandle;
    if (typeof handle !== 'string' || handle === '') throw missingParameter('TaskHandle');
    const task = this.store.tasks.get(handle);
    if (!task) throw new SqsError('ResourceNotFoundException', 'Task does not exist.');
    if (task.status !== 'RUNNING') throw invalidValue('Only active tasks can be cancelled.');
    this.store.commit({ t: 'task', task: { ...task, status: 'CANCELLING' } });
    this.schedule(handle, 0);
    return { ApproximateNumberOfMessagesMoved: task.moved };
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private queueByArn(arn: string, parameter: string) {
    const name = queueNameFromArn(arn);
    const queue = name === undefined ? undefined : this.store.getQueue(name);
    if (!queue)
      throw new SqsError(
        'ResourceNotFoundException',
        `The resource that you specified for the ${parameter} parameter doesn't exist.`,
      );
    return queue;
  }

  private forgetOldTasks(sourceArn: string): void {
    const old = [...this.store.tasks.values()]
      .filter((t) => t.sourceArn === sourceArn)
      .sort((a, b) => b.startedAt - a.startedAt)
      .slice(TASKS_KEPT - 1);
    for (const t of old) this.store.tasks.delete(t.handle);
  }

  private schedule(handle: string, delayMs: number): void {
    if (this.stopped) return;
    const existing = this.timers.get(handle);
    if (existing) clearTimeout(existing);
    this.timers.set(
      handle,
      setTimeout(() => {
        this.timers.delete(handle);
        this.tick(handle);
      }, delayMs),
    );
  }

  private finish(task: MoveTask, status: 'COMPLETED' | 'CANCELLED' | 'FAILED', failureReason?: string): void {
    this.store.commit({
      t: 'task',
      task: { ...task, status, pending: [], ...(failureReason ? { failureReason } : {}) },
    });
  }

  /** Moves the next messages of one task; bounded per tick by the rate (or a fixed batch). */
  private tick(handle: string): void {
    const task = this.store.tasks.get(handle);
    if (!task || this.stopped) return;
    if (task.status === 'CANCELLING') {
      this.finish(task, 'CANCELLED');
      return;
    }
    if (task.status !== 'RUNNING') return;
    const sourceName = queueNameFromArn(task.sourceArn);
    const source = sourceName === undefined ? undefined : this.store.getQueue(sourceName);
    if (!source) {
      this.finish(task, 'FAILED', 'The source queue no longer exists.');
      return;
    }
    const interval = task.maxPerSecond ? Math.max(MIN_TICK_MS, 1000 / task.maxPerSecond) : MIN_TICK_MS;
    const perTick = task.maxPerSecond
      ? Math.max(1, Math.round((task.maxPerSecond * interval) / 1000))
      : UNLIMITED_BATCH;
    const now = this.store.now();
    let moved = 0;
    // Bounded: each pass consumes one pending id.
    while (moved < perTick && task.pending.length > 0) {
      const id = task.pending[0]!;
      const m = source.messages.get(id);
      if (!m || source.isInFlight(m, now)) {
        // Gone (deleted, expired) or being processed: not moved.
        task.pending.shift();
        continue;
      }
      const destinationArn = task.destinationArn ?? m.dlqSourceArn;
      const destinationName = destinationArn ? queueNameFromArn(destinationArn) : undefined;
      const destination = destinationName ? this.store.getQueue(destinationName) : undefined;
      if (!destination) {
        this.finish(
          task,
          'FAILED',
          destinationArn
            ? `The destination queue ${destinationArn} does not exist.`
            : `Message ${id} has no source queue to return to; give a DestinationArn.`,
        );
        return;
      }
      this.store.commit({
        t: 'move',
        task: handle,
        queue: source.name,
        id,
        to: destination.name,
        newId: SqsStore.newMessageId(),
        at: now,
        ...(destination.fifo ? { seq: destination.nextSequence() } : {}),
      });
      moved++;
    }
    if (task.pending.length === 0) {
      this.finish(task, 'COMPLETED');
      return;
    }
    this.schedule(handle, interval);
  }
}
