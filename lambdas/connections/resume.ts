/**
 * Resume: the stored events after an id that match a subscription, in id order, read from the event store's day
 * partitions (`EVENT#<day>#<shard>`, sorted by id: core/contracts.ts). At most `limit` events are read per call;
 * `more` says there are others and `through` is the id to continue after. Together with the live subscription
 * (which the connection holds from `$connect`, before any read) nothing is missed: an event is stored before it is
 * published, so one published after the subscription arrives live and one published before is in the store (read
 * consistently). The same event may come both ways at the switch; the client drops the second (it has the id).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  dayOf,
  type Envelope,
  EVENT_SHARDS,
  eventBridgeSource,
  keys,
  ULID_RE,
  ulidTime,
} from '../../core/contracts';
import { compilePattern } from '../../core/pattern';
import { eventFromItem } from '../shared/event-store';

const DAY_MS = 86_400_000;

export interface ResumeDeps {
  readonly doc: DynamoDBDocumentClient;
  /** The event store. */
  readonly eventsTable: string;
  /** Days an event is kept: a `since` older than that may have lost events, and is refused. */
  readonly retentionDays: number;
  readonly now: () => number;
}

export type ResumeRead =
  | {
      readonly ok: true;
      /** Matching events, in id order: the id and the envelope's stored JSON text. */
      readonly events: { readonly id: string; readonly json: string }[];
      /** The last id read (matching or not); `since` when nothing was. */
      readonly through: string;
      readonly more: boolean;
    }
  | { readonly ok: false; readonly error: 'invalid_since' | 'since_expired'; readonly message: string };

/** Why `since` cannot be resumed from, or undefined when it can. */
export function sinceProblem(
  since: string,
  deps: Pick<ResumeDeps, 'retentionDays' | 'now'>,
): { error: 'invalid_since' | 'since_expired'; message: string } | undefined {
  if (!ULID_RE.test(since))
    return { error: 'invalid_since', message: 'since must be an event id (a ULID), as sent in each message' };
  const oldest = deps.now() - deps.retentionDays * DAY_MS;
  if (ulidTime(since) < oldest)
    return {
      error: 'since_expired',
      message:
        `since ${since} is from ${new Date(ulidTime(since)).toISOString()}, older than the ${deps.retentionDays}-day ` +
        `retention: events before ${new Date(oldest).toISOString()} may be gone. Connect without since, and read ` +
        'what you need with the management API (GET /v1/events)',
    };
  return undefined;
}

/** The bus event a stored envelope was published as (what subscriptions match). */
const busShape = (envelope: Envelope) => ({
  version: '0',
  id: envelope.id,
  'detail-type': envelope.type,
  source: eventBridgeSource(envelope.source),
  time: envelope.receivedAt,
  resources: [],
  detail: envelope,
});

interface ShardPage {
  readonly items: Record<string, unknown>[];
  readonly truncated: boolean;
}

async function readShard(
  deps: ResumeDeps,
  day: string,
  shard: number,
  after: string,
  limit: number,
): Promise<ShardPage> {
  const out = await deps.doc.send(
    new QueryCommand({
      TableName: deps.eventsTable,
      KeyConditionExpression: 'pk = :pk AND sk > :after',
      ExpressionAttributeValues: { ':pk': keys.eventPartition(day, shard), ':after': after },
      ConsistentRead: true,
      Limit: limit,
    }),
  );
  return { items: out.Items ?? [], truncated: out.LastEvaluatedKey !== undefined };
}

/** Reads up to `limit` stored events after `since` (in id order) and keeps those the pattern matches. */
export async function readAfter(
  deps: ResumeDeps,
  since: string,
  pattern: Record<string, unknown>,
  limit: number,
): Promise<ResumeRead> {
  const problem = sinceProblem(since, deps);
  if (problem) return { ok: false, ...problem };
  const subscription = compilePattern(pattern);
  const events: { id: string; json: string }[] = [];
  let through = since;
  let budget = limit;
  const now = deps.now();
  for (let dayMs = ulidTime(since); dayOf(dayMs) <= dayOf(now) && budget > 0; dayMs += DAY_MS) {
    const day = dayOf(dayMs);
    const pages = await Promise.all(
      Array.from({ length: EVENT_SHARDS }, (_, shard) => readShard(deps, day, shard, through, budget)),
    );
    // A truncated shard may hold ids below others' last ones: keep only what is certainly complete.
    let cutoff: string | undefined;
    for (const page of pages) {
      const last = page.items.at(-1)?.sk;
      if (page.truncated && typeof last === 'string' && (cutoff === undefined || last < cutoff))
        cutoff = last;
    }
    const merged = pages
      .flatMap((p) => p.items)
      .filter((item) => cutoff === undefined || String(item.sk) <= cutoff)
      .sort((a, b) => (String(a.sk) < String(b.sk) ? -1 : 1));
    const taken = merged.slice(0, budget);
    for (const item of taken) {
      const { envelope, json } = eventFromItem(item);
      through = envelope.id;
      if (subscription.matches(busShape(envelope))) events.push({ id: envelope.id, json });
    }
    budget -= taken.length;
    if (cutoff !== undefined || merged.length > taken.length)
      return { ok: true, events, through, more: true };
  }
  // Out of budget exactly at a day's end: the next call finds out whether there is more.
  return { ok: true, events, through, more: budget === 0 };
}
