/**
 * Broadcast: push one bus event to every live connection whose subscription matches, through `@connections`.
 * Subscriptions are compiled once and kept in an index across invocations; a connection that answers 410 (Gone) is
 * deleted — exactly that connection, nothing else. Receives its clients.
 */
import {
  type ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BusEvent } from '../../core/contracts';
import { liveEventMessage } from '../../core/live-protocol';
import { PatternIndex } from '../../core/pattern';
import { deleteGoneConnection, listConnections, subscriptionsVersion } from '../shared/live-store';

export interface BroadcastDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly management: ApiGatewayManagementApiClient;
  readonly tableName: string;
  readonly now: () => number;
  /** Most `@connections` calls in flight at once (the account's API Gateway throttle is shared). */
  readonly concurrency: number;
  readonly subscriptions: SubscriptionIndex;
  /**
   * Most connections one invocation pushes an event to; the rest are handed over, in parts of this size, as
   * messages on the broadcast queue (`handOff`), so that a large fan-out spreads over invocations.
   * @default 2000
   */
  readonly maxPushesPerInvocation?: number;
  /** Sends a fan-out continuation (fanoutMessage) to the broadcast queue. Absent: one invocation pushes to all. */
  readonly handOff?: (message: string) => Promise<void>;
  /** Waits between tries of a throttled push. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

/** Tries of a push that API Gateway throttles (LimitExceededException), with backoff and full jitter between. */
export const THROTTLE_TRIES = 5;

/**
 * A 410 from a connection younger than this may be a handshake still in progress (the record is written by
 * `$connect` just before API Gateway completes it): its record is kept until a later push.
 */
export const HANDSHAKE_GRACE_MS = 3_000;

/**
 * A fan-out continuation: the connections still to push to, and the event's detail text verbatim (the same digits).
 * Ids are API Gateway connection ids; at 2,000 of them and an inline envelope (at most 100 KB) a message stays under
 * SQS's 256 KB.
 */
export const fanoutMessage = (connectionIds: readonly string[], detailJson: string) =>
  `{"fanout":${JSON.stringify(connectionIds)},"detail":${detailJson}}`;

export interface BroadcastResult {
  readonly matched: number;
  readonly sent: number;
  readonly gone: number;
  readonly failed: number;
  /** Throttled tries that were tried again. */
  readonly throttled?: number;
  /** Connections handed over to other invocations (a large fan-out). */
  readonly handedOff?: number;
}

/** Compiled subscriptions, refreshed from the table on each invocation; patterns only recompiled when changed. */
export class SubscriptionIndex {
  private readonly index = new PatternIndex<string>();
  private readonly patterns = new Map<string, string>();
  /** The connections' version the index reflects (undefined: never read). */
  version: number | undefined;

  /** Brings the index in line with the current connections. */
  sync(connections: Iterable<{ connectionId: string; pattern: Record<string, unknown> }>): void {
    const seen = new Set<string>();
    for (const { connectionId, pattern } of connections) {
      seen.add(connectionId);
      const text = JSON.stringify(pattern);
      if (this.patterns.get(connectionId) === text) continue;
      try {
        this.index.add(connectionId, pattern);
        this.patterns.set(connectionId, text);
      } catch {
        // Stored patterns were validated at subscribe time; one that no longer compiles matches nothing.
        this.remove(connectionId);
      }
    }
    for (const id of [...this.patterns.keys()]) if (!seen.has(id)) this.remove(id);
  }

  remove(connectionId: string): void {
    this.index.remove(connectionId);
    this.patterns.delete(connectionId);
  }

  match(event: unknown): string[] {
    return this.index.match(event);
  }

  get size(): number {
    return this.patterns.size;
  }
}

/**
 * `@connections` answers LimitExceededException (429) when the account's rate is exceeded or the client's buffer is
 * full (https://docs.aws.amazon.com/AWSJavaSDK/latest/javadoc/com/amazonaws/services/apigatewaymanagementapi/model/package-summary.html).
 */
const isThrottled = (error: unknown) =>
  error instanceof Error &&
  (error.name === 'LimitExceededException' ||
    error.name === 'TooManyRequestsException' ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 429);

const isGone = (error: unknown) =>
  error instanceof Error &&
  (error.name === 'GoneException' ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410);

/**
 * Brings the subscription index in line with the live connections. In steady state this is one small read (the
 * connections' version) per batch of events; the connections themselves are read only when they changed.
 * Resolves true when it re-read them.
 */
export async function syncSubscriptions(deps: BroadcastDeps): Promise<boolean> {
  const version = await subscriptionsVersion(deps.doc, deps.tableName);
  if (deps.subscriptions.version === version) return false;
  const connections = [];
  for await (const connection of listConnections(deps.doc, deps.tableName, deps.now()))
    connections.push(connection);
  deps.subscriptions.sync(connections);
  deps.subscriptions.version = version;
  return true;
}

/**
 * The message pushed to a client (core/live-protocol.ts): `{"kind":"event","id":…,"deliveryId":…,"event":<the
 * envelope>}`, the envelope being the `detail` text exactly as it travelled — the same digits an HTTP target
 * receives. The ids are the event's correlation, as an HTTP target gets them in its delivery headers, and `id` is
 * where a client resumes from.
 */
export const liveMessage = (
  detailJson: string,
  correlation: { readonly eventId: string; readonly deliveryId: string | null },
): string => liveEventMessage(correlation.eventId, detailJson, false, correlation.deliveryId);

/** The correlation of a bus event: its envelope's id and the provider's delivery id. */
export function correlationOf(event: BusEvent<unknown>): { eventId: string; deliveryId: string | null } {
  const detail = (event.detail ?? {}) as { id?: unknown; deliveryId?: unknown };
  return {
    eventId: typeof detail.id === 'string' ? detail.id : event.id,
    deliveryId: typeof detail.deliveryId === 'string' ? detail.deliveryId : null,
  };
}

/** Pushes one bus event to every connection whose subscription matches (call syncSubscriptions first). */
export async function broadcastEvent(
  event: BusEvent<unknown>,
  detailJson: string,
  deps: BroadcastDeps,
  onError: (connectionId: string, error: unknown) => void = () => {},
  /** A continuation: exactly these connections (already matched by the invocation that handed them over). */
  only?: readonly string[],
): Promise<BroadcastResult> {
  const matched = only ? [...only] : deps.subscriptions.match(event);
  if (matched.length === 0) return { matched: 0, sent: 0, gone: 0, failed: 0 };
  const share = deps.maxPushesPerInvocation ?? 2000;
  let targets = matched;
  let handedOff = 0;
  if (deps.handOff && matched.length > share) {
    targets = matched.slice(0, share);
    for (let from = share; from < matched.length; from += share) {
      const part = matched.slice(from, from + share);
      await deps.handOff(fanoutMessage(part, detailJson));
      handedOff += part.length;
    }
  }

  const connectedBefore = new Date(deps.now() - HANDSHAKE_GRACE_MS).toISOString();
  const data = Buffer.from(liveMessage(detailJson, correlationOf(event)));
  let sent = 0;
  let gone = 0;
  let failed = 0;
  let throttled = 0;
  let next = 0;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = deps.random ?? Math.random;
  const worker = async () => {
    while (next < targets.length) {
      const connectionId = targets[next++]!;
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            await deps.management.send(
              new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }),
            );
            break;
          } catch (error) {
            if (!isThrottled(error) || attempt >= THROTTLE_TRIES) throw error;
            throttled++;
            await sleep(Math.floor(random() * 50 * 2 ** attempt));
          }
        }
        sent++;
      } catch (error) {
        if (isGone(error)) {
          gone++;
          // Out of the index only once its record is deleted: a 410 within the handshake grace keeps both (the index
          // is not re-read until the connections change).
          const deleted = await deleteGoneConnection(
            deps.doc,
            deps.tableName,
            connectionId,
            connectedBefore,
          ).catch((e: unknown) => {
            onError(connectionId, e);
            return false;
          });
          if (deleted) deps.subscriptions.remove(connectionId);
        } else {
          failed++;
          onError(connectionId, error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.concurrency, targets.length) }, worker));
  return { matched: matched.length, sent, gone, failed, throttled, handedOff };
}
