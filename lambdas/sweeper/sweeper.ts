/**
 * Sweeper: publishes accepted events whose publish failed or is in doubt (they carry a pending marker). It runs on a
 * schedule and works until its time budget is spent or nothing is due.
 *
 * - A transient failure (throttling, EventBridge unavailable, a timeout, a permission error being fixed) never
 *   gives up: the event is tried again with exponential backoff for as long as it is retained.
 * - A permanent per-entry error (EventBridge refuses the event itself) sets the event aside as poisoned, counted and
 *   logged; an operator republishes it once the cause is fixed.
 * - The sweeper respects the publish claim of an ingest that may still be publishing, and drops markers of events
 *   that were published meanwhile.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ulidTime } from '../../core/contracts';
import { SWEEP_BACKOFF } from '../../core/retry';
import type { DynamoClient } from '../shared/dynamo';
import {
  deletePending,
  getDedupe,
  getEvent,
  listDuePending,
  markPublished,
  type PendingMarker,
  poison,
  releaseClaim,
  reschedulePending,
  type SerializedEvent,
  takeClaim,
} from '../shared/event-store';
import type { LiveGate } from '../shared/live-gate';
import type { OrderedSender } from '../shared/ordered';
import { publishAll } from '../shared/publish';

export interface SweeperDeps {
  readonly doc: DynamoClient;
  readonly eventBridge: EventBridgeClient;
  readonly tableName: string;
  readonly busName: string;
  /** Sends each published event to the ordered targets' FIFO queues (absent when no target is ordered). */
  readonly ordered?: OrderedSender;
  /** Whether live agents may be connected: republished events are marked for the broadcast rule then. */
  readonly live?: LiveGate;
  readonly now: () => number;
  /** Markers read per round. */
  readonly batchSize: number;
  /** @default Math.random (tests pin it) */
  readonly random?: () => number;
  /** Backoff between publish attempts of one event. @default SWEEP_BACKOFF */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly observe?: SweeperObserver;
}

export interface SweeperObserver {
  poisoned(marker: PendingMarker, error: string): void;
  /** The event is gone (it expired before it could be published). */
  abandoned(marker: PendingMarker): void;
  /** A store write after a publish failed; the sweep goes on (the event may be published again: at least once). */
  bookkeepingFailed(error: unknown): void;
}

export interface SweepResult {
  readonly republished: number;
  /** Transient failures, rescheduled with backoff. */
  readonly retrying: number;
  readonly poisoned: number;
  readonly abandoned: number;
  /** Markers dropped because their event was published meanwhile. */
  readonly alreadyPublished: number;
  /** Age of the oldest event still waiting to be published after this sweep (ms), or 0. */
  readonly oldestPendingAgeMs: number;
}

export { SWEEP_BACKOFF };

/** How long the sweeper holds an event's publish claim (a run lasts at most a minute). */
const SWEEP_CLAIM_MS = 90_000;

export function sweepBackoffMs(
  attempts: number,
  random: () => number = Math.random,
  backoff: { readonly initialMs: number; readonly maxMs: number } = SWEEP_BACKOFF,
): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(Math.max(0, attempts - 1), 20));
  return Math.max(Math.min(1_000, backoff.initialMs), Math.ceil(random() * base));
}

/** Sweeps until `deadline` (epoch ms) or until nothing is due. */
export async function sweepPending(deps: SweeperDeps, deadline: number): Promise<SweepResult> {
  const result = {
    republished: 0,
    retrying: 0,
    poisoned: 0,
    abandoned: 0,
    alreadyPublished: 0,
    oldestPendingAgeMs: 0,
  };
  const random = deps.random ?? Math.random;
  // Each round takes markers that are due now; a marker handled in a round is never due again in the same run
  // (it was deleted or rescheduled into the future), so the loop ends.
  for (let round = 0; round < 1000 && deps.now() < deadline; round++) {
    const due = await listDuePending(deps.doc, deps.tableName, deps.now(), deps.batchSize);
    if (due.length === 0) break;
    const ready: { marker: PendingMarker; event: SerializedEvent; claimed: boolean }[] = [];
    for (const marker of due) {
      const prepared = await prepare(marker, deps);
      if (prepared === 'abandoned') {
        result.abandoned++;
        deps.observe?.abandoned(marker);
      } else if (prepared === 'published') result.alreadyPublished++;
      else if (prepared !== 'waiting') ready.push({ marker, ...prepared });
    }
    const { published, failed } = await publishAll(
      deps,
      ready.map((r) => ({ ...r.event, ready: r })),
    );
    for (const { ready: r } of published) {
      result.republished++;
      // If these writes fail the marker stays and the event is published again later: at least once, never lost.
      await settle(deps, async () => {
        if (r.claimed) await markPublished(deps.doc, deps.tableName, r.marker, r.marker.eventId);
        await deletePending(deps.doc, deps.tableName, r.marker.eventId);
      });
    }
    let unavailable = false;
    for (const { event, error, transient } of failed) {
      const { marker } = event.ready;
      if (transient) {
        const attempts = marker.attempts + 1;
        result.retrying++;
        unavailable = true;
        await settle(deps, async () => {
          await reschedulePending(deps.doc, deps.tableName, marker.eventId, {
            attempts,
            nextAttemptAt: deps.now() + sweepBackoffMs(attempts, random, deps.backoff),
            lastError: error,
          });
          // The claim taken for this attempt goes back: the next run must not wait for it to expire.
          if (event.ready.claimed) await releaseClaim(deps.doc, deps.tableName, marker, marker.eventId);
        });
      } else {
        result.poisoned++;
        deps.observe?.poisoned(marker, error);
        await settle(deps, async () => {
          await poison(deps.doc, deps.tableName, marker, error, deps.now());
          if (event.ready.claimed) await releaseClaim(deps.doc, deps.tableName, marker, marker.eventId);
        });
      }
    }
    // EventBridge is failing: leave the rest for the next run instead of hammering it.
    if (unavailable) break;
  }
  const oldest = await listDuePending(deps.doc, deps.tableName, Number.MAX_SAFE_INTEGER, 1);
  result.oldestPendingAgeMs = oldest[0] ? Math.max(0, deps.now() - ulidTime(oldest[0].eventId)) : 0;
  return result;
}

/**
 * What to do with a due marker: publish its event (holding the claim when the dedupe record is still the event's),
 * or drop it (published meanwhile, event gone), or wait (an ingest holds the claim).
 */
async function prepare(
  marker: PendingMarker,
  deps: SweeperDeps,
): Promise<'abandoned' | 'published' | 'waiting' | { event: SerializedEvent; claimed: boolean }> {
  const event = await getEvent(deps.doc, deps.tableName, marker.eventId);
  if (!event) {
    await deletePending(deps.doc, deps.tableName, marker.eventId);
    return 'abandoned';
  }
  const now = deps.now();
  const dedupe = await getDedupe(deps.doc, deps.tableName, marker, now);
  // The key's window passed (or it moved on to a newer event): nobody else can publish this one, so publish.
  if (!dedupe || dedupe.eventId !== marker.eventId) return { event, claimed: false };
  if (dedupe.published) {
    await deletePending(deps.doc, deps.tableName, marker.eventId);
    return 'published';
  }
  if (await takeClaim(deps.doc, deps.tableName, marker, marker.eventId, now, now + SWEEP_CLAIM_MS)) {
    return { event, claimed: true };
  }
  const current = await getDedupe(deps.doc, deps.tableName, marker, now);
  if (current?.published) {
    await deletePending(deps.doc, deps.tableName, marker.eventId);
    return 'published';
  }
  // An ingest holds the claim: look again when it has expired.
  await reschedulePending(deps.doc, deps.tableName, marker.eventId, {
    attempts: marker.attempts,
    nextAttemptAt: Math.max(now + 1_000, current?.claimUntil ?? now),
    lastError: marker.lastError ?? 'waiting for an ingest that holds the publish claim',
  });
  return 'waiting';
}

/** Bookkeeping after a publish: a failure is reported, never allowed to stop the sweep. */
async function settle(deps: SweeperDeps, write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    deps.observe?.bookkeepingFailed(error);
  }
}
