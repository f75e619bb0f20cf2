/**
 * Jobs: a replay (stored events of a time range, filtered by a pattern, to one target) and a redrive (a target's
 * failed deliveries, again). A job is an item in the event store with its progress (scanned / matched / sent) and
 * where it stands; it runs in chunks, each in its own invocation of the management function, until it is done or
 * cancelled. Events go on the target's queue in a new delivery round, as the bus would put them there.
 *
 * Replays go oldest first: each day's shards are read in id order and merged, so a target receives the range in the
 * order the webhooks were accepted.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import { dayOf, EVENT_SHARDS, keys, ulidFloor, ulidTime } from '../../core/contracts';
import type { Job, ReplayRequest } from '../../core/management';
import { type CompiledPattern, compilePattern, PatternError, validatePattern } from '../../core/pattern';
import { ROUND_ATTRIBUTE } from '../delivery/deliver';
import { accountOfQueueUrl, busEventBody, busEventOf } from '../shared/bus-event';
import { eventFromItem, expiresAfterDays, getEvent, type SerializedEvent } from '../shared/event-store';
import { rawJsonMember } from '../shared/raw-json';
import type { ManagementDeps } from './deps';
import { knownTarget, sendToTarget } from './events';
import { ApiProblem } from './problem';
import { fifoFields, targetQueues } from './queues';
import { cancelJob, deleteFailure, failurePage, getJob, putJob, type StoredJob, saveProgress } from './store';

const newId = monotonicFactory();
const DAY_MS = 86_400_000;
/** Progress is written at least every this many events. */
const SAVE_EVERY = 50;
/** How long a job item is kept after it started. */
const JOB_DAYS = 7;

const publicView = ({ position: _p, ...job }: StoredJob): Job => job;

function newJob(
  deps: ManagementDeps,
  kind: Job['kind'],
  target: string,
  request: Record<string, unknown>,
): StoredJob {
  const now = new Date(deps.now()).toISOString();
  return {
    id: `${kind === 'replay' ? 'rpl' : 'rdr'}_${newId(deps.now())}`,
    kind,
    status: 'running',
    target,
    scanned: 0,
    matched: 0,
    sent: 0,
    createdAt: now,
    updatedAt: now,
    request,
    position: {},
  };
}

/** A pattern error's path (`$`, `source`, `detail.state[0]`) as a path of the request body. */
const patternPath = (path: string) =>
  path === '$' ? 'pattern' : path.startsWith('$') ? `pattern${path.slice(1)}` : `pattern.${path}`;

export async function startReplay(deps: ManagementDeps, request: ReplayRequest): Promise<Job> {
  knownTarget(deps, request.target, 'target');
  if (Date.parse(request.from) > Date.parse(request.to))
    throw new ApiProblem(400, 'from is after to', [{ path: 'from', message: 'must not be after to' }]);
  if (request.pattern) {
    try {
      validatePattern(request.pattern);
    } catch (error) {
      if (!(error instanceof PatternError)) throw error;
      throw new ApiProblem(400, `pattern: ${error.message}`, [
        { path: patternPath(error.path), message: error.reason },
      ]);
    }
  }
  if (request.live && !deps.broadcastQueueUrl)
    throw new ApiProblem(409, 'this stack has no live stream: a replay cannot reach live agents', [
      { path: 'live', message: 'needs the live stream (liveStream.enabled)' },
    ]);
  const job = newJob(deps, 'replay', request.target, request);
  await putJob(deps, job, expiresAfterDays(deps.now(), JOB_DAYS));
  await deps.continueJob(job.id);
  return publicView(job);
}

export async function startRedrive(
  deps: ManagementDeps,
  target: string,
  eventIds: readonly string[] | undefined,
): Promise<Job> {
  knownTarget(deps, target, 'name');
  const job = newJob(deps, 'redrive', target, eventIds ? { eventIds } : {});
  await putJob(deps, job, expiresAfterDays(deps.now(), JOB_DAYS));
  await deps.continueJob(job.id);
  return publicView(job);
}

export async function jobView(deps: ManagementDeps, id: string, kind?: Job['kind']): Promise<Job> {
  const job = await getJob(deps, id);
  if (!job || (kind && job.kind !== kind)) throw new ApiProblem(404, `no ${kind ?? 'job'} ${id}`);
  return publicView(job);
}

export async function cancel(deps: ManagementDeps, id: string, kind?: Job['kind']): Promise<Job> {
  const job = await jobView(deps, id, kind);
  if (!(await cancelJob(deps, id))) throw new ApiProblem(409, `job ${id} has already ended (${job.status})`);
  return jobView(deps, id);
}

/**
 * Runs a job until it is done, cancelled, or `deadline` (epoch ms) is near — then hands the rest to a new
 * invocation. Never throws for a job's own failure: it is recorded as `failed` with its reason.
 */
export async function runJob(deps: ManagementDeps, id: string, deadline: number): Promise<void> {
  const job = await getJob(deps, id);
  if (job?.status !== 'running') return;
  try {
    const finished =
      job.kind === 'replay' ? await runReplay(deps, job, deadline) : await runRedrive(deps, job, deadline);
    if (finished === 'continue') await deps.continueJob(id);
  } catch (error) {
    await saveProgress(deps, id, { ...job, status: 'failed', error: (error as Error).message });
  }
}

type Progress = { scanned: number; matched: number; sent: number };
type Outcome = 'done' | 'continue' | 'stopped';

/** Items of one day partition's shards in id order, after `after` and below `high`, fetched page by page. */
async function* dayInOrder(
  deps: ManagementDeps,
  day: string,
  after: string,
  high: string,
): AsyncGenerator<Record<string, unknown>> {
  const shards = Array.from({ length: EVENT_SHARDS }, (_, shard) => ({
    pk: keys.eventPartition(day, shard),
    buffer: [] as Record<string, unknown>[],
    start: undefined as Record<string, unknown> | undefined,
    exhausted: false,
  }));
  const fill = async (shard: (typeof shards)[number]) => {
    if (shard.buffer.length > 0 || shard.exhausted) return;
    const out = await deps.doc.send(
      new QueryCommand({
        TableName: deps.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :after AND :high',
        ExpressionAttributeValues: { ':pk': shard.pk, ':after': after, ':high': high },
        Limit: 100,
        ...(shard.start ? { ExclusiveStartKey: shard.start } : {}),
      }),
    );
    // BETWEEN is inclusive; both bounds are excluded here.
    shard.buffer.push(
      ...(out.Items ?? []).filter((item) => String(item.sk) > after && String(item.sk) < high),
    );
    shard.start = out.LastEvaluatedKey;
    shard.exhausted = shard.start === undefined;
  };
  for (;;) {
    // A shard with an empty buffer and more pages is read before the smallest head can be known.
    while (shards.some((s) => s.buffer.length === 0 && !s.exhausted)) await Promise.all(shards.map(fill));
    let next: (typeof shards)[number] | undefined;
    for (const shard of shards) {
      const head = shard.buffer[0];
      if (head && (!next || String(head.sk) < String(next.buffer[0]!.sk))) next = shard;
    }
    if (!next) return;
    yield next.buffer.shift()!;
  }
}

async function runReplay(deps: ManagementDeps, job: StoredJob, deadline: number): Promise<Outcome> {
  const request = job.request as unknown as ReplayRequest;
  const target = deps.runtime.targets.find((t) => t.name === request.target)!;
  const filters: CompiledPattern[] = [
    compilePattern(target.filter),
    ...(request.pattern ? [compilePattern(request.pattern)] : []),
  ];
  const fromMs = Date.parse(request.from);
  const toMs = Date.parse(request.to);
  const high = ulidFloor(toMs + 1);
  let after = typeof job.position?.after === 'string' ? job.position.after : ulidFloor(fromMs);
  const progress: Progress = { scanned: job.scanned, matched: job.matched, sent: job.sent };
  const round = `replay-${job.id}`;
  let unsaved = 0;
  const save = () => saveProgress(deps, job.id, { ...progress, position: { after } });
  for (let day = Math.max(fromMs, ulidTime(after)); dayOf(day) <= dayOf(toMs); day += DAY_MS) {
    for await (const item of dayInOrder(deps, dayOf(day), after, high)) {
      const event = eventFromItem(item);
      progress.scanned++;
      const bus = busEventOf(event);
      if (filters.every((f) => f.matches(bus))) {
        progress.matched++;
        await sendToTarget(deps, event, request.target, round);
        if (request.live && deps.broadcastQueueUrl) await sendToLiveAgents(deps, event);
        progress.sent++;
      }
      after = event.envelope.id;
      if (++unsaved >= SAVE_EVERY) {
        unsaved = 0;
        if (!(await save())) return 'stopped';
      }
      if (deps.now() > deadline) return (await save()) ? 'continue' : 'stopped';
    }
  }
  await saveProgress(deps, job.id, { ...progress, position: { after }, status: 'done' });
  return 'done';
}

/**
 * A redrive: first the DLQ (each message goes back to the target's queue as it is, in a new round, and its failure
 * record is dropped), then the failure records whose message has left the DLQ (expired after 14 days) — from the
 * event store. With `eventIds`, only those events, from the event store; their DLQ copies stay until they expire.
 */
async function runRedrive(deps: ManagementDeps, job: StoredJob, deadline: number): Promise<Outcome> {
  const progress: Progress = { scanned: job.scanned, matched: job.matched, sent: job.sent };
  const eventIds = (job.request as { eventIds?: string[] }).eventIds;
  const round = `redrive-${job.id}`;
  let phase = (job.position?.phase as string | undefined) ?? (eventIds ? 'ids' : 'dlq');
  let after = job.position?.after as string | undefined;
  const save = (status?: Job['status']) =>
    saveProgress(deps, job.id, {
      ...progress,
      position: { phase, ...(after ? { after } : {}) },
      ...(status ? { status } : {}),
    });

  if (phase === 'ids') {
    const ids = eventIds ?? [];
    const start = after ? ids.indexOf(after) + 1 : 0;
    for (const id of ids.slice(start)) {
      progress.scanned++;
      const event = await getEvent(deps.doc, deps.tableName, id);
      if (event) {
        progress.matched++;
        await sendToTarget(deps, event, job.target, round);
        await deleteFailure(deps, job.target, id);
        progress.sent++;
      }
      after = id;
      if (deps.now() > deadline) return (await save()) ? 'continue' : 'stopped';
    }
    await save('done');
    return 'done';
  }

  if (phase === 'dlq') {
    const { queue, dlq } = await targetQueues(deps, job.target);
    // Messages left in the DLQ (not events) come back at once: seeing only those again means the DLQ is done.
    const leftAlone = new Set<string>();
    // An event in the DLQ twice (SQS and the function both moved it) is sent once.
    const sentIds = new Set<string>();
    for (;;) {
      const out = await deps.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: dlq.url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          // Long enough to finish the batch; a crash leaves them to a later redrive.
          VisibilityTimeout: 120,
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      const release = (message: (typeof messages)[number]) =>
        deps.sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: dlq.url,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      const again = messages.filter((m) => leftAlone.has(m.MessageId ?? ''));
      await Promise.all(again.map(release));
      if (again.length === messages.length) break;
      for (const message of messages) {
        if (leftAlone.has(message.MessageId ?? '')) continue;
        progress.scanned++;
        const body = message.Body ?? '';
        let eventId = message.MessageAttributes?.eventId?.StringValue;
        let envelope: unknown;
        try {
          envelope = JSON.parse(rawJsonMember(body, 'detail') ?? '{}');
          eventId ??= (envelope as { id?: string }).id;
        } catch {
          eventId = undefined;
        }
        if (!eventId) {
          // Not an event (a message that was never one): leave it for a person to look at.
          leftAlone.add(message.MessageId ?? '');
          await release(message);
          continue;
        }
        if (sentIds.has(eventId)) {
          await deps.sqs.send(
            new DeleteMessageCommand({ QueueUrl: dlq.url, ReceiptHandle: message.ReceiptHandle }),
          );
          continue;
        }
        sentIds.add(eventId);
        progress.matched++;
        await deps.sqs.send(
          new SendMessageCommand({
            QueueUrl: queue.url,
            MessageBody: body,
            MessageAttributes: { [ROUND_ATTRIBUTE]: { DataType: 'String', StringValue: round } },
            ...fifoFields(deps, job.target, envelope, eventId, round),
          }),
        );
        await deps.sqs.send(
          new DeleteMessageCommand({ QueueUrl: dlq.url, ReceiptHandle: message.ReceiptHandle }),
        );
        await deleteFailure(deps, job.target, eventId);
        progress.sent++;
      }
      if (deps.now() > deadline) return (await save()) ? 'continue' : 'stopped';
      if (!(await save())) return 'stopped';
    }
    phase = 'records';
    after = undefined;
  }

  // Failure records whose DLQ message is gone: from the event store.
  for (;;) {
    const page = await failurePage(deps, job.target, 25, after);
    for (const failure of page.failures) {
      progress.scanned++;
      const event = await getEvent(deps.doc, deps.tableName, failure.eventId);
      if (event) {
        progress.matched++;
        await sendToTarget(deps, event, job.target, round);
        progress.sent++;
      }
      await deleteFailure(deps, job.target, failure.eventId);
      after = failure.eventId;
    }
    if (!page.next) break;
    if (deps.now() > deadline) return (await save()) ? 'continue' : 'stopped';
  }
  await save('done');
  return 'done';
}

/**
 * Puts an event on the broadcast queue, as the broadcast rule does: the broadcast function pushes it to every
 * connected agent whose subscription matches (a replay with `live`).
 */
async function sendToLiveAgents(deps: ManagementDeps, event: SerializedEvent): Promise<void> {
  const url = deps.broadcastQueueUrl!;
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: busEventBody(event, accountOfQueueUrl(url), deps.region),
    }),
  );
}
