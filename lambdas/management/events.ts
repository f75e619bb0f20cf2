/**
 * Events: listing (newest first, served by the table's keys and index, never a Scan), one event with its deliveries,
 * publishing internal events, and redelivering an event to targets.
 *
 * Listing reads day partitions: events are keyed `EVENT#<day>#<shard>` / `<id>` (ULIDs sort by time), so the newest
 * events of a range are the last items of its latest day's shards, read in descending order and merged. With
 * `source`, the by-source index (`SOURCE#<source>#<shard>` / `<id>`) is read instead. `type` filters what is read.
 * A page's cursor is the id of its last event: the next page is everything older.
 */

import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import {
  dayOf,
  type Envelope,
  EVENT_SHARDS,
  EVENTS_TABLE,
  INDEX_SHARDS,
  internalSource,
  keys,
  ulidFloor,
  ulidTime,
} from '../../core/contracts';
import type { EventDetail, EventList, EventSummary, PublishRequest } from '../../core/management';
import { compilePattern } from '../../core/pattern';
import { ROUND_ATTRIBUTE, resolveBody } from '../delivery/deliver';
import { acceptEvent, serializeEnvelope } from '../ingest/ingest';
import { accountOfQueueUrl, busEventBody, busEventOf } from '../shared/bus-event';
import {
  type DeliveryAttempt,
  type DeliveryFailure,
  getEvent,
  listAttempts,
  type SerializedEvent,
} from '../shared/event-store';
import type { ManagementDeps } from './deps';
import { ApiProblem } from './problem';
import { fifoFields, targetQueues } from './queues';
import { getFailure } from './store';

const DAY_MS = 86_400_000;
const newId = monotonicFactory();

export interface ListQuery {
  readonly source?: string;
  readonly type?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

/** Ids of a time range: [lowest id at `fromMs`, lowest id after `toMs`). */
const idRange = (fromMs: number, toMs: number) => ({ low: ulidFloor(fromMs), high: ulidFloor(toMs + 1) });

/** Reads one partition newest first, below `before`, at least `limit` matching items (or all there are). */
async function readPartition(
  deps: ManagementDeps,
  partition: { pk: string; index?: string },
  low: string,
  before: string,
  limit: number,
  type: string | undefined,
): Promise<Record<string, unknown>[]> {
  const index = EVENTS_TABLE.indexes[0];
  const pkName = partition.index ? index.partitionKey : EVENTS_TABLE.partitionKey;
  const skName = partition.index ? index.sortKey : EVENTS_TABLE.sortKey;
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await deps.doc.send(
      new QueryCommand({
        TableName: deps.tableName,
        ...(partition.index ? { IndexName: partition.index } : {}),
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
        ...(type ? { FilterExpression: '#type = :type' } : {}),
        ExpressionAttributeNames: { '#pk': pkName, '#sk': skName, ...(type ? { '#type': 'type' } : {}) },
        ExpressionAttributeValues: {
          ':pk': partition.pk,
          ':low': low,
          // BETWEEN is inclusive: the cursor's own id is excluded by the caller.
          ':high': before,
          ...(type ? { ':type': type } : {}),
        },
        ScanIndexForward: false,
        Limit: Math.max(limit, 25),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start && items.length < limit);
  return items;
}

function summaryOf(item: Record<string, unknown>, source: string | undefined): EventSummary {
  const id = String(item.sk ?? item.gsi1sk);
  const fromIndex = source !== undefined;
  return {
    id,
    source: fromIndex ? source : String(item.source),
    type: String(item.type),
    subject: typeof item.subject === 'string' ? item.subject : null,
    deliveryId: typeof item.deliveryId === 'string' ? item.deliveryId : null,
    receivedAt: new Date(ulidTime(id)).toISOString(),
  };
}

export async function listEvents(
  deps: ManagementDeps,
  query: ListQuery,
  retentionDays: number,
): Promise<EventList> {
  const now = deps.now();
  // The filters as given: a cursor belongs to them. A range left open is fixed by the first page (in the cursor), so
  // that later pages neither gain nor lose events as time passes.
  const scope = JSON.stringify([query.source ?? '', query.type ?? '', query.from ?? '', query.to ?? '']);
  const position = query.cursor ? await deps.cursors.decode(query.cursor, scope) : undefined;
  const toMs = query.to ? Date.parse(query.to) : typeof position?.toMs === 'number' ? position.toMs : now;
  const fromMs = query.from
    ? Date.parse(query.from)
    : typeof position?.fromMs === 'number'
      ? position.fromMs
      : now - retentionDays * DAY_MS;
  if (fromMs > toMs)
    throw new ApiProblem(400, 'from is after to', [{ path: 'from', message: 'must not be after to' }]);
  const limit = query.limit ?? 25;
  const range = idRange(fromMs, toMs);
  let before = range.high;
  if (position) {
    if (typeof position.before !== 'string')
      throw new ApiProblem(400, 'cursor: malformed', [{ path: 'cursor', message: 'malformed' }]);
    before = position.before;
  }
  // Strictly older than `before` (BETWEEN is inclusive; ULIDs are unique).
  const upper = before;
  const events: EventSummary[] = [];
  if (query.source) {
    // The by-source index: one query per shard over the whole range, merged.
    const source = query.source;
    const pages = await Promise.all(
      Array.from({ length: INDEX_SHARDS }, (_, shard) =>
        readPartition(
          deps,
          { pk: keys.bySourcePartition(source, shard), index: EVENTS_TABLE.indexes[0].name },
          range.low,
          upper,
          limit + 1,
          query.type,
        ),
      ),
    );
    events.push(...pages.flat().map((item) => summaryOf(item, source)));
  } else {
    // Day partitions from the newest day of the range back: a day's events are all older than a later day's, so
    // once a page is full no earlier day can add to it.
    for (let day = Math.min(toMs, ulidTime(upper)); dayOf(day) >= dayOf(fromMs); day -= DAY_MS) {
      const pages = await Promise.all(
        Array.from({ length: EVENT_SHARDS }, (_, shard) =>
          readPartition(
            deps,
            { pk: keys.eventPartition(dayOf(day), shard) },
            range.low,
            upper,
            limit + 1,
            query.type,
          ),
        ),
      );
      events.push(...pages.flat().map((item) => summaryOf(item, undefined)));
      if (events.filter((e) => e.id < upper).length > limit) break;
    }
  }
  const page = events
    .filter((e) => e.id < upper)
    .sort((a, b) => b.id.localeCompare(a.id))
    .slice(0, limit + 1);
  const more = page.length > limit;
  const shown = page.slice(0, limit);
  const last = shown.at(-1);
  return {
    events: shown,
    ...(more && last ? { cursor: await deps.cursors.encode({ before: last.id, fromMs, toMs }, scope) } : {}),
  };
}

/** Which targets an event is routed to: their filters against its bus event. */
export function matchingTargets(deps: ManagementDeps, event: SerializedEvent): string[] {
  const bus = busEventOf(event);
  return deps.runtime.targets.filter((t) => compilePattern(t.filter).matches(bus)).map((t) => t.name);
}

function deliveryOf(
  target: string,
  attempts: readonly DeliveryAttempt[],
  failure: DeliveryFailure | undefined,
): EventDetail['deliveries'][number] {
  const own = attempts
    .filter((a) => a.target === target)
    .sort((a, b) => a.at.localeCompare(b.at) || a.attempt - b.attempt);
  const last = own.at(-1);
  const status = failure
    ? 'failed'
    : !last
      ? 'pending'
      : last.outcome === 'delivered'
        ? 'delivered'
        : last.outcome === 'gone'
          ? 'paused'
          : last.outcome === 'failed'
            ? 'failed'
            : 'retrying';
  return {
    target,
    status,
    attempts: own.map(({ eventId: _e, target: _t, ...rest }) => rest),
    ...(failure
      ? {
          failure: {
            error: failure.error,
            attempts: failure.attempts,
            failedAt: failure.failedAt,
            ...(failure.status !== undefined ? { status: failure.status } : {}),
          },
        }
      : {}),
  };
}

export async function getEventDetail(deps: ManagementDeps, id: string): Promise<EventDetail> {
  const event = await getEvent(deps.doc, deps.tableName, id);
  if (!event) throw new ApiProblem(404, `no event ${id} (unknown, or older than the retention)`);
  const body = await resolveBody(event.envelope, event.json, deps.s3);
  const attempts = await listAttempts(deps.doc, deps.tableName, id);
  // Every target it was routed to, and any other that has attempts for it (a redelivery named it).
  const targets = new Set([...matchingTargets(deps, event), ...attempts.map((a) => a.target)]);
  const failures = await Promise.all([...targets].map((t) => getFailure(deps, t, id)));
  return {
    event: JSON.parse(body) as Record<string, unknown>,
    deliveries: [...targets].map((t, i) => deliveryOf(t, attempts, failures[i])),
  };
}

export async function publish(
  deps: ManagementDeps,
  request: PublishRequest,
  settings: { retentionDays: number; dedupeDays: number },
): Promise<{ events: { id: string; duplicate: boolean }[] }> {
  const items = 'events' in request ? request.events : [request];
  const results: { id: string; duplicate: boolean }[] = [];
  for (const item of items) {
    const nowMs = deps.now();
    const source = internalSource(item.source);
    const envelope: Envelope = {
      id: newId(nowMs),
      source,
      provider: 'internal',
      type: item.type,
      deliveryId: item.idempotencyKey ?? null,
      providerTime: null,
      receivedAt: new Date(nowMs).toISOString(),
      subject: item.subject ?? null,
      headers: {},
      data: item.data,
    };
    const dataJson = JSON.stringify(item.data);
    const outcome = await acceptEvent(
      { event: { envelope, json: serializeEnvelope(envelope, dataJson) }, dataJson, mustOffload: false },
      // Without an idempotency key every publish is its own event.
      { source, dedupeKey: item.idempotencyKey ?? `id:${envelope.id}` },
      {
        key: item.idempotencyKey ?? envelope.id,
        expiresAt: Math.floor(nowMs / 1000) + settings.dedupeDays * 86_400,
      },
      nowMs,
      {
        doc: deps.doc,
        eventBridge: deps.eventBridge,
        s3: deps.s3,
        tableName: deps.tableName,
        busName: deps.busName,
        payloadBucket: deps.payloadBucket,
        retentionDays: settings.retentionDays,
        ...(deps.ordered ? { ordered: deps.ordered } : {}),
        ...(deps.live ? { live: deps.live } : {}),
        now: deps.now,
      },
    );
    results.push({ id: outcome.event.envelope.id, duplicate: outcome.duplicate });
  }
  return { events: results };
}

/** A new delivery round: attempts restart at 1, and the delivery log keeps the rounds apart. */
export const newRound = (kind: string, nowMs: number) => `${kind}-${newId(nowMs)}`;

/** Puts an event on a target's queue (a new round), as the bus would. */
export async function sendToTarget(
  deps: ManagementDeps,
  event: SerializedEvent,
  target: string,
  round: string,
): Promise<void> {
  const { queue } = await targetQueues(deps, target);
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: queue.url,
      MessageBody: busEventBody(event, accountOfQueueUrl(queue.url), deps.region),
      MessageAttributes: { [ROUND_ATTRIBUTE]: { DataType: 'String', StringValue: round } },
      ...fifoFields(deps, target, event.envelope, event.envelope.id, round),
    }),
  );
}

export function knownTarget(deps: ManagementDeps, name: string, path: string): void {
  if (!deps.runtime.targets.some((t) => t.name === name))
    throw new ApiProblem(404, `no target ${name}`, [{ path, message: `no target named ${name}` }]);
}

export async function redeliver(
  deps: ManagementDeps,
  id: string,
  targets: readonly string[] | undefined,
): Promise<{ redelivered: { target: string; round: string }[] }> {
  for (const [i, t] of (targets ?? []).entries()) knownTarget(deps, t, `targets[${i}]`);
  const event = await getEvent(deps.doc, deps.tableName, id);
  if (!event) throw new ApiProblem(404, `no event ${id} (unknown, or older than the retention)`);
  const chosen = targets ?? matchingTargets(deps, event);
  if (chosen.length === 0)
    throw new ApiProblem(409, `no target's filter matches event ${id}; name the targets to deliver it to`);
  const round = newRound('redeliver', deps.now());
  for (const target of chosen) await sendToTarget(deps, event, target, round);
  return { redelivered: chosen.map((target) => ({ target, round })) };
}
