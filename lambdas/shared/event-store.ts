/**
 * Event-store operations (item layout: `EVENTS_TABLE` and `keys` in core/contracts.ts). Each function receives its
 * client; no module state. Every write that decides something (dedupe, the publish claim, a delivery attempt's
 * number) is a conditional write, so concurrent handlers agree without locks or transactions.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type Envelope, EVENTS_TABLE, INDEX_SHARDS, keys, PENDING_SHARDS } from '../../core/contracts';
import { decodeEnvelope, encodeEnvelope } from './codec';
import {
  type Cursor,
  type DynamoClient,
  deleteItem,
  getItem,
  putItem,
  queryPage,
  updateItem,
} from './dynamo';

const TTL = EVENTS_TABLE.ttlAttribute;

/** An envelope with its JSON, serialised once and reused for the item, the bus entry and the delivery. */
export interface SerializedEvent {
  readonly envelope: Envelope;
  readonly json: string;
}

/** Epoch seconds `days` after `nowMs`: the DynamoDB TTL value. */
export const expiresAfterDays = (nowMs: number, days: number) => Math.floor(nowMs / 1000) + days * 86_400;

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

/** Runs a conditional write; false when its condition did not hold. */
async function conditional(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

// ─── events ──────────────────────────────────────────────────────────────────────────────────────────────────────

/** The DynamoDB item of an event. Pure: the hot path builds it without I/O. */
export function eventItem(event: SerializedEvent, expiresAt: number) {
  const { envelope } = event;
  return {
    ...keys.event(envelope.id),
    ...keys.bySource(envelope.source, envelope.id),
    source: envelope.source,
    type: envelope.type,
    subject: envelope.subject ?? undefined,
    deliveryId: envelope.deliveryId ?? undefined,
    env: encodeEnvelope(event.json),
    [TTL]: expiresAt,
  };
}

/** Stores an event unless it is there already (a duplicate may have repaired it first). */
export async function putEvent(
  doc: DynamoClient,
  tableName: string,
  event: SerializedEvent,
  expiresAt: number,
): Promise<boolean> {
  return conditional(() =>
    putItem(doc, {
      TableName: tableName,
      Item: eventItem(event, expiresAt),
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
}

/** Reads a stored event item back into its envelope JSON. */
export function eventFromItem(item: Record<string, unknown>): SerializedEvent {
  const json = decodeEnvelope(item.env as Uint8Array);
  return { envelope: JSON.parse(json) as Envelope, json };
}

export async function getEvent(
  doc: DynamoClient,
  tableName: string,
  id: string,
): Promise<SerializedEvent | undefined> {
  const out = await getItem(doc, { TableName: tableName, Key: keys.event(id), ConsistentRead: true });
  return out ? eventFromItem(out) : undefined;
}

// ─── dedupe and the publish claim ──────────────────────────────────────────────────────────────────────────────

export interface DedupeRecord {
  readonly eventId: string;
  /** Until when (epoch ms) the writer that holds the claim may still be publishing. */
  readonly claimUntil: number;
  readonly published: boolean;
  /** TTL, epoch seconds. */
  readonly expiresAt: number;
}

export interface DedupeKey {
  readonly source: string;
  readonly dedupeKey: string;
}

/**
 * Claims a dedupe key for a new event: succeeds unless another event holds it and its window has not passed
 * (DynamoDB deletes expired items up to days late, so the condition checks the expiry itself). The claim also
 * says "I am publishing this event until `claimUntil`".
 */
export async function claimDedupe(
  doc: DynamoClient,
  tableName: string,
  key: DedupeKey,
  record: { eventId: string; claimUntil: number; expiresAt: number },
  nowMs: number,
): Promise<boolean> {
  return conditional(() =>
    putItem(doc, {
      TableName: tableName,
      Item: { ...keys.dedupe(key.source, key.dedupeKey), ...record },
      ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
      ExpressionAttributeNames: { '#ttl': TTL },
      ExpressionAttributeValues: { ':now': Math.floor(nowMs / 1000) },
    }),
  );
}

export async function getDedupe(
  doc: DynamoClient,
  tableName: string,
  key: DedupeKey,
  nowMs: number,
): Promise<DedupeRecord | undefined> {
  const item = await getItem(doc, {
    TableName: tableName,
    Key: keys.dedupe(key.source, key.dedupeKey),
    ConsistentRead: true,
  });
  if (!item || Number(item[TTL]) < Math.floor(nowMs / 1000)) return undefined;
  return {
    eventId: String(item.eventId),
    claimUntil: Number(item.claimUntil ?? 0),
    published: item.published === true,
    expiresAt: Number(item[TTL]),
  };
}

/**
 * Takes the publish claim of an event whose previous claim expired without a publish. Only one taker wins; false
 * means someone else holds it, the event was published, or the key now belongs to another event.
 */
export async function takeClaim(
  doc: DynamoClient,
  tableName: string,
  key: DedupeKey,
  eventId: string,
  nowMs: number,
  claimUntil: number,
): Promise<boolean> {
  return conditional(() =>
    updateItem(doc, {
      TableName: tableName,
      Key: keys.dedupe(key.source, key.dedupeKey),
      UpdateExpression: 'SET claimUntil = :until',
      ConditionExpression: 'eventId = :id AND claimUntil < :now AND attribute_not_exists(published)',
      ExpressionAttributeValues: { ':until': claimUntil, ':id': eventId, ':now': nowMs },
    }),
  );
}

/** Gives a publish claim back after a failed publish, so that the next attempt need not wait for it to expire. */
export async function releaseClaim(
  doc: DynamoClient,
  tableName: string,
  key: DedupeKey,
  eventId: string,
): Promise<void> {
  await conditional(() =>
    updateItem(doc, {
      TableName: tableName,
      Key: keys.dedupe(key.source, key.dedupeKey),
      UpdateExpression: 'SET claimUntil = :zero',
      ConditionExpression: 'eventId = :id',
      ExpressionAttributeValues: { ':zero': 0, ':id': eventId },
    }),
  );
}

/** Records that an event reached the bus: duplicates and the sweeper then leave it alone. */
export async function markPublished(
  doc: DynamoClient,
  tableName: string,
  key: DedupeKey,
  eventId: string,
): Promise<void> {
  await conditional(() =>
    updateItem(doc, {
      TableName: tableName,
      Key: keys.dedupe(key.source, key.dedupeKey),
      UpdateExpression: 'SET published = :t',
      // The key may have moved on to another event (its window passed): never mark that one.
      ConditionExpression: 'eventId = :id',
      ExpressionAttributeValues: { ':t': true, ':id': eventId },
    }),
  );
}

// ─── pending (publish failed or in doubt) and poisoned events ──────────────────────────────────────────────────

export interface PendingMarker {
  readonly eventId: string;
  readonly source: string;
  readonly dedupeKey: string;
  /** Failed publish attempts so far. */
  readonly attempts: number;
  /** Epoch ms before which the sweeper leaves the event alone. */
  readonly nextAttemptAt: number;
  readonly lastError?: string;
  /** TTL, epoch seconds: the event's own expiry. */
  readonly expiresAt: number;
}

const markerItem = (marker: PendingMarker) => ({
  ...keys.pending(marker.eventId),
  eventId: marker.eventId,
  source: marker.source,
  dedupeKey: marker.dedupeKey,
  attempts: marker.attempts,
  nextAttemptAt: marker.nextAttemptAt,
  lastError: marker.lastError,
  [TTL]: marker.expiresAt,
});

const markerFrom = (item: Record<string, unknown>): PendingMarker => ({
  eventId: String(item.eventId),
  source: String(item.source),
  dedupeKey: String(item.dedupeKey),
  attempts: Number(item.attempts ?? 0),
  nextAttemptAt: Number(item.nextAttemptAt ?? 0),
  ...(typeof item.lastError === 'string' ? { lastError: item.lastError } : {}),
  expiresAt: Number(item[TTL]),
});

/** Records that an accepted event still has to be published. Keeps an existing marker (and its attempt count). */
export async function putPending(doc: DynamoClient, tableName: string, marker: PendingMarker): Promise<void> {
  await conditional(() =>
    putItem(doc, {
      TableName: tableName,
      Item: markerItem(marker),
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
}

/** Markers due at `nowMs` (their next attempt time has come), oldest events first, across all shards. */
export async function listDuePending(
  doc: DynamoClient,
  tableName: string,
  nowMs: number,
  limit: number,
): Promise<PendingMarker[]> {
  const shards = await Promise.all(
    Array.from({ length: PENDING_SHARDS }, async (_, shard) => {
      const found: PendingMarker[] = [];
      let start: Cursor | undefined;
      // A shard holds few markers unless publishing is failing; pages are bounded by `limit` in all.
      for (let page = 0; page < 100 && found.length < limit; page++) {
        const out = await queryPage(doc, {
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'nextAttemptAt <= :now',
          ExpressionAttributeValues: { ':pk': keys.pendingPartition(shard), ':now': nowMs },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        });
        for (const item of out.items) found.push(markerFrom(item));
        start = out.next;
        if (!start) break;
      }
      return found;
    }),
  );
  return shards
    .flat()
    .sort((a, b) => a.eventId.localeCompare(b.eventId))
    .slice(0, limit);
}

export async function deletePending(doc: DynamoClient, tableName: string, eventId: string) {
  await deleteItem(doc, { TableName: tableName, Key: keys.pending(eventId) });
}

/** Schedules an event's next publish attempt, with the failed attempts counted so far. */
export async function reschedulePending(
  doc: DynamoClient,
  tableName: string,
  eventId: string,
  update: { attempts: number; nextAttemptAt: number; lastError: string },
): Promise<void> {
  await updateItem(doc, {
    TableName: tableName,
    Key: keys.pending(eventId),
    UpdateExpression: 'SET attempts = :a, nextAttemptAt = :n, lastError = :e',
    // A marker deleted meanwhile (the event was published) stays deleted.
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeValues: {
      ':a': update.attempts,
      ':n': update.nextAttemptAt,
      ':e': update.lastError.slice(0, 500),
    },
  }).catch((error: unknown) => {
    if (!isConditionFailure(error)) throw error;
  });
}

export interface PoisonedEvent {
  readonly eventId: string;
  readonly source: string;
  readonly dedupeKey: string;
  readonly error: string;
  readonly attempts: number;
  readonly at: string;
  readonly expiresAt: number;
}

/** Sets an event EventBridge refused for good aside: out of the sweeper's way, kept until republished by hand. */
export async function poison(
  doc: DynamoClient,
  tableName: string,
  marker: PendingMarker,
  error: string,
  nowMs: number,
): Promise<void> {
  await putItem(doc, {
    TableName: tableName,
    Item: {
      ...keys.poisoned(marker.eventId),
      eventId: marker.eventId,
      source: marker.source,
      dedupeKey: marker.dedupeKey,
      error: error.slice(0, 500),
      attempts: marker.attempts + 1,
      at: new Date(nowMs).toISOString(),
      [TTL]: marker.expiresAt,
    },
  });
  await deletePending(doc, tableName, marker.eventId);
}

export async function listPoisoned(
  doc: DynamoClient,
  tableName: string,
  limit = 100,
): Promise<PoisonedEvent[]> {
  const out = await queryPage(doc, {
    TableName: tableName,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.poisoned('').pk },
    Limit: limit,
  });
  return out.items.map((item) => ({
    eventId: String(item.eventId),
    source: String(item.source),
    dedupeKey: String(item.dedupeKey),
    error: String(item.error),
    attempts: Number(item.attempts),
    at: String(item.at),
    expiresAt: Number(item[TTL]),
  }));
}

/**
 * Puts a poisoned event back in the sweeper's hands (after the cause was fixed). Returns false when no such
 * poisoned event exists.
 */
export async function republishPoisoned(
  doc: DynamoClient,
  tableName: string,
  eventId: string,
  nowMs: number,
): Promise<boolean> {
  const out = await getItem(doc, { TableName: tableName, Key: keys.poisoned(eventId), ConsistentRead: true });
  if (!out) return false;
  await putPending(doc, tableName, {
    eventId,
    source: String(out.source),
    dedupeKey: String(out.dedupeKey),
    attempts: 0,
    nextAttemptAt: nowMs,
    expiresAt: Number(out[TTL]),
  });
  await deleteItem(doc, { TableName: tableName, Key: keys.poisoned(eventId) });
  return true;
}

// ─── delivery log, failures, target state ───────────────────────────────────────────────────────────────────────

/** What became of one delivery attempt. */
export type AttemptOutcome =
  /** The target took it (2xx). */
  | 'delivered'
  /** Failed; another attempt follows. */
  | 'retrying'
  /** Failed for good (no attempt left, or an answer not worth retrying). */
  | 'failed'
  /** The target answered 410 Gone: it is paused until resumed by hand, the event waits. */
  | 'gone';

export interface DeliveryAttempt {
  readonly eventId: string;
  readonly target: string;
  /** `0` for the first delivery; a redelivery has its own round. */
  readonly round: string;
  /** 1-based within the round. */
  readonly attempt: number;
  readonly at: string;
  readonly outcome: AttemptOutcome;
  readonly status?: number;
  readonly error?: string;
  readonly latencyMs: number;
  /** At most 1 KB of what the target answered. */
  readonly response?: string;
}

/** The latest attempt of a round (its number and outcome), or undefined before the first. */
export async function lastAttempt(
  doc: DynamoClient,
  tableName: string,
  eventId: string,
  target: string,
  round: string,
): Promise<{ attempt: number; outcome: AttemptOutcome } | undefined> {
  const out = await queryPage(doc, {
    TableName: tableName,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': keys.attemptsOf(eventId), ':prefix': `${target}#${round}#` },
    ScanIndexForward: false,
    Limit: 1,
    ConsistentRead: true,
    ProjectionExpression: 'attempt, outcome',
  });
  const item = out.items[0];
  return item ? { attempt: Number(item.attempt), outcome: item.outcome as AttemptOutcome } : undefined;
}

/**
 * Writes one attempt under its number. False when that number is taken (a duplicate SQS message of the same event
 * was attempted concurrently): the caller then counts again. Attempts that did not deliver are also indexed by
 * target (the failures an operator looks for); delivered ones are found by event.
 */
export async function recordAttempt(
  doc: DynamoClient,
  tableName: string,
  attempt: DeliveryAttempt,
  expiresAt: number,
): Promise<boolean> {
  return conditional(() =>
    putItem(doc, {
      TableName: tableName,
      Item: {
        ...keys.attempt(attempt.eventId, attempt.target, attempt.round, attempt.attempt),
        // Every attempt is also listed by target (gsi1, newest first): one index write per attempt.
        ...keys.byTarget(attempt.target, attempt.eventId, attempt.at),
        ...attempt,
        [TTL]: expiresAt,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
}

export async function listAttempts(
  doc: DynamoClient,
  tableName: string,
  eventId: string,
): Promise<DeliveryAttempt[]> {
  const out = await queryPage(doc, {
    TableName: tableName,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.attemptsOf(eventId) },
    ConsistentRead: true,
  });
  return out.items.map(
    ({ pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, [TTL]: _t, ...rest }) => rest,
  ) as unknown as DeliveryAttempt[];
}

/** One attempt as the by-target index holds it (the response excerpt stays on the attempt itself). */
export type TargetAttempt = Omit<DeliveryAttempt, 'response'>;

/**
 * A target's latest attempts, newest first, across the index's shards (`TARGET#<target>#<0-3>`): each shard is read
 * newest first, and the pages are merged. `before` (an ISO time) pages further back.
 */
export async function listTargetAttempts(
  doc: DynamoClient,
  tableName: string,
  target: string,
  options: { limit?: number; before?: string } = {},
): Promise<TargetAttempt[]> {
  const limit = options.limit ?? 50;
  const index = EVENTS_TABLE.indexes[0];
  const pages = await Promise.all(
    Array.from({ length: INDEX_SHARDS }, (_, shard) =>
      queryPage(doc, {
        TableName: tableName,
        IndexName: index.name,
        KeyConditionExpression: options.before ? '#pk = :pk AND #sk < :before' : '#pk = :pk',
        // DynamoDB refuses a name the expression does not use.
        ExpressionAttributeNames: {
          '#pk': index.partitionKey,
          ...(options.before ? { '#sk': index.sortKey } : {}),
        },
        ExpressionAttributeValues: {
          ':pk': keys.byTargetPartition(target, shard),
          ...(options.before ? { ':before': options.before } : {}),
        },
        ScanIndexForward: false,
        Limit: limit,
      }),
    ),
  );
  return pages
    .flatMap((page) => page.items)
    .sort((a, b) => String(b[index.sortKey]).localeCompare(String(a[index.sortKey])))
    .slice(0, limit)
    .map((item) => {
      // The event id and round are in the table keys (`DELIVERY#<id>`, `<target>#<round>#<n>`), the time in the
      // index sort key (`<at>#<id>`).
      const [round = ''] = String(item.sk).split('#').slice(-2);
      return {
        eventId: String(item.pk).slice('DELIVERY#'.length),
        target: String(item.target),
        round,
        attempt: Number(item.attempt),
        at: String(item[index.sortKey]).split('#')[0] ?? '',
        outcome: item.outcome as AttemptOutcome,
        ...(item.status !== undefined ? { status: Number(item.status) } : {}),
        ...(item.error !== undefined ? { error: String(item.error) } : {}),
        latencyMs: Number(item.latencyMs ?? 0),
      };
    });
}

export interface DeliveryFailure {
  readonly eventId: string;
  readonly target: string;
  readonly round: string;
  readonly attempts: number;
  readonly status?: number;
  readonly error: string;
  readonly failedAt: string;
}

/**
 * The durable record of a delivery that failed for good. Unlike the DLQ (whose messages SQS deletes after its
 * retention, counted from the first enqueue), it lasts as long as the delivery log, so the event can be
 * redelivered for that long.
 */
export async function recordFailure(
  doc: DynamoClient,
  tableName: string,
  failure: DeliveryFailure,
  expiresAt: number,
): Promise<void> {
  await putItem(doc, {
    TableName: tableName,
    Item: { ...keys.failure(failure.target, failure.eventId), ...failure, [TTL]: expiresAt },
  });
}

export async function listFailures(
  doc: DynamoClient,
  tableName: string,
  target: string,
  limit = 100,
): Promise<DeliveryFailure[]> {
  const out = await queryPage(doc, {
    TableName: tableName,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.failuresOf(target) },
    Limit: limit,
  });
  return out.items.map(({ pk: _pk, sk: _sk, [TTL]: _t, ...rest }) => rest) as unknown as DeliveryFailure[];
}

/**
 * A target's state: `active`; `paused` (by an operator: resumed by hand only); `open` (its circuit breaker opened:
 * its queue is not consumed until `reopenAt`, then `half-open` lets one probe delivery through); `gone` (it answered
 * 410: resumed by hand only).
 */
export type TargetState = 'active' | 'paused' | 'open' | 'half-open' | 'gone';

export interface TargetStatus {
  readonly state: TargetState;
  readonly reason?: string;
  readonly since: string;
  /** Failed attempts in a row (the breaker's first trigger). */
  readonly consecutiveFailures?: number;
  /** The breaker's window: its start (epoch ms), its attempts and failures. */
  readonly windowStart?: number;
  readonly windowAttempts?: number;
  readonly windowFailures?: number;
  /** Epoch ms after which an open breaker lets a probe through. */
  readonly reopenAt?: number;
  /** How often the breaker opened since it last closed (the open period doubles each time). */
  readonly openCount?: number;
  /** Epoch ms until which a probe delivery is in flight (one at a time). */
  readonly probeUntil?: number;
}

const ACTIVE: TargetStatus = { state: 'active', since: new Date(0).toISOString() };

export async function setTargetState(
  doc: DynamoClient,
  tableName: string,
  target: string,
  status: TargetStatus,
): Promise<void> {
  await putItem(doc, { TableName: tableName, Item: { ...keys.target(target), target, ...status } });
}

export async function getTargetState(
  doc: DynamoClient,
  tableName: string,
  target: string,
): Promise<TargetStatus> {
  const out = await getItem(doc, { TableName: tableName, Key: keys.target(target) });
  if (!out) return ACTIVE;
  const { pk: _pk, sk: _sk, target: _target, ...status } = out;
  return status as unknown as TargetStatus;
}

/** What one delivery batch adds to the breaker's counts. */
export interface BreakerBatch {
  readonly attempts: number;
  readonly failures: number;
  /** Failed attempts after the batch's last success, when it had one (the run of failures restarts there). */
  readonly failuresSinceSuccess: number | undefined;
}

/**
 * Adds a batch to the breaker's counts and returns the state after it. The window restarts when it has passed.
 * Concurrent batches may interleave: the counts are approximate by a batch or two, which a breaker tolerates.
 */
export async function recordBreakerBatch(
  doc: DynamoClient,
  tableName: string,
  target: string,
  batch: BreakerBatch,
  nowMs: number,
  windowMs: number,
  current: TargetStatus,
): Promise<TargetStatus> {
  const restart = current.windowStart === undefined || current.windowStart + windowMs <= nowMs;
  const consecutive =
    batch.failuresSinceSuccess === undefined
      ? '#consecutive = if_not_exists(#consecutive, :zero) + :failures'
      : '#consecutive = :since';
  const window = restart
    ? '#windowStart = :now, #windowAttempts = :attempts, #windowFailures = :failures'
    : '#windowAttempts = if_not_exists(#windowAttempts, :zero) + :attempts, #windowFailures = if_not_exists(#windowFailures, :zero) + :failures';
  const out = await updateItem(doc, {
    TableName: tableName,
    Key: keys.target(target),
    UpdateExpression: `SET #target = :target, #state = if_not_exists(#state, :active), #since = if_not_exists(#since, :epoch), ${consecutive}, ${window}`,
    ExpressionAttributeNames: {
      '#target': 'target',
      '#state': 'state',
      '#since': 'since',
      '#consecutive': 'consecutiveFailures',
      '#windowAttempts': 'windowAttempts',
      '#windowFailures': 'windowFailures',
      ...(restart ? { '#windowStart': 'windowStart' } : {}),
    },
    ExpressionAttributeValues: {
      ':target': target,
      ':active': 'active',
      ':epoch': ACTIVE.since,
      ':zero': 0,
      ':attempts': batch.attempts,
      ':failures': batch.failures,
      ...(batch.failuresSinceSuccess === undefined ? {} : { ':since': batch.failuresSinceSuccess }),
      ...(restart ? { ':now': nowMs } : {}),
    },
    ReturnValues: 'ALL_NEW',
  });
  const { pk: _pk, sk: _sk, target: _target, ...status } = out ?? {};
  return status as unknown as TargetStatus;
}

/**
 * Opens the breaker (from `active` or `half-open`, never over `gone`) until `reopenAt`. Only the caller whose write
 * made the change gets true: it alone pauses the queue and reports it.
 */
export async function openBreaker(
  doc: DynamoClient,
  tableName: string,
  target: string,
  reason: string,
  nowMs: number,
  reopenAt: number,
): Promise<boolean> {
  return conditional(() =>
    updateItem(doc, {
      TableName: tableName,
      Key: keys.target(target),
      UpdateExpression:
        'SET #target = :target, #state = :open, #reason = :reason, #since = :since, #reopenAt = :reopenAt, #openCount = if_not_exists(#openCount, :zero) + :one REMOVE #probeUntil',
      ConditionExpression: 'attribute_not_exists(#state) OR #state IN (:active, :halfOpen)',
      ExpressionAttributeNames: {
        '#target': 'target',
        '#state': 'state',
        '#reason': 'reason',
        '#since': 'since',
        '#reopenAt': 'reopenAt',
        '#openCount': 'openCount',
        '#probeUntil': 'probeUntil',
      },
      ExpressionAttributeValues: {
        ':target': target,
        ':open': 'open',
        ':active': 'active',
        ':halfOpen': 'half-open',
        ':reason': reason.slice(0, 500),
        ':since': new Date(nowMs).toISOString(),
        ':reopenAt': reopenAt,
        ':zero': 0,
        ':one': 1,
      },
    }),
  );
}

/** An open breaker whose time is up becomes half-open; true when this call made the change. */
export async function halfOpenBreaker(
  doc: DynamoClient,
  tableName: string,
  target: string,
  nowMs: number,
): Promise<boolean> {
  return conditional(() =>
    updateItem(doc, {
      TableName: tableName,
      Key: keys.target(target),
      UpdateExpression: 'SET #state = :halfOpen, #since = :since',
      ConditionExpression: '#state = :open AND #reopenAt <= :now',
      ExpressionAttributeNames: { '#state': 'state', '#since': 'since', '#reopenAt': 'reopenAt' },
      ExpressionAttributeValues: {
        ':halfOpen': 'half-open',
        ':open': 'open',
        ':now': nowMs,
        ':since': new Date(nowMs).toISOString(),
      },
    }),
  );
}

/** Takes the one probe of a half-open breaker for `leaseMs`; false when another invocation holds it. */
export async function takeProbe(
  doc: DynamoClient,
  tableName: string,
  target: string,
  nowMs: number,
  leaseMs: number,
): Promise<boolean> {
  return conditional(() =>
    updateItem(doc, {
      TableName: tableName,
      Key: keys.target(target),
      UpdateExpression: 'SET #probeUntil = :until',
      ConditionExpression: '#state = :halfOpen AND (attribute_not_exists(#probeUntil) OR #probeUntil < :now)',
      ExpressionAttributeNames: { '#state': 'state', '#probeUntil': 'probeUntil' },
      ExpressionAttributeValues: { ':halfOpen': 'half-open', ':now': nowMs, ':until': nowMs + leaseMs },
    }),
  );
}

/** A probe succeeded: the breaker closes, its counts start over. True when this call made the change. */
export async function closeBreaker(
  doc: DynamoClient,
  tableName: string,
  target: string,
  nowMs: number,
): Promise<boolean> {
  return conditional(() =>
    updateItem(doc, {
      TableName: tableName,
      Key: keys.target(target),
      UpdateExpression:
        'SET #state = :active, #since = :since, #consecutive = :zero, #windowAttempts = :zero, #windowFailures = :zero, #windowStart = :now REMOVE #reopenAt, #probeUntil, #openCount, #reason',
      ConditionExpression: '#state = :halfOpen',
      ExpressionAttributeNames: {
        '#state': 'state',
        '#since': 'since',
        '#consecutive': 'consecutiveFailures',
        '#windowAttempts': 'windowAttempts',
        '#windowFailures': 'windowFailures',
        '#windowStart': 'windowStart',
        '#reopenAt': 'reopenAt',
        '#probeUntil': 'probeUntil',
        '#openCount': 'openCount',
        '#reason': 'reason',
      },
      ExpressionAttributeValues: {
        ':active': 'active',
        ':halfOpen': 'half-open',
        ':zero': 0,
        ':now': nowMs,
        ':since': new Date(nowMs).toISOString(),
      },
    }),
  );
}

// ─── rate limit ──────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Takes one delivery from a target's per-second budget, shared by all its concurrent delivery functions: a counter
 * per one-second window (`RATE#<target>`). False when this second's budget is spent. One conditional write per
 * delivery; a new second's first caller starts the window over.
 */
export async function takeRateToken(
  doc: DynamoClient,
  tableName: string,
  target: string,
  limitPerSecond: number,
  nowMs: number,
): Promise<boolean> {
  const second = Math.floor(nowMs / 1000);
  const key = keys.rate(target);
  const names = { '#second': 'second', '#count': 'count' };
  const increment = () =>
    conditional(() =>
      updateItem(doc, {
        TableName: tableName,
        Key: key,
        UpdateExpression: 'SET #count = #count + :one',
        ConditionExpression: '#second = :second AND #count < :limit',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':second': second, ':one': 1, ':limit': limitPerSecond },
      }),
    );
  const startWindow = () =>
    conditional(() =>
      updateItem(doc, {
        TableName: tableName,
        Key: key,
        UpdateExpression: 'SET #second = :second, #count = :one, #ttl = :ttl',
        ConditionExpression: 'attribute_not_exists(#second) OR #second < :second',
        ExpressionAttributeNames: { ...names, '#ttl': TTL },
        ExpressionAttributeValues: { ':second': second, ':one': 1, ':ttl': second + 3600 },
      }),
    );
  // This second's window, one more within the budget; else start this second's window. When another caller
  // started it between the two writes, this second's window exists now: ask it again.
  for (let i = 0; i < 2; i++) {
    if (await increment()) return true;
    if (await startWindow()) return true;
  }
  return false;
}
