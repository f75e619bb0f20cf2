/**
 * WebSocket connection lifecycle: `$connect` authorizes the caller (an agent key, a JWT from the OIDC issuer the
 * config names, or the admin token) before it stores the connection with its subscription (an EventBridge pattern
 * over the bus event, from the `pattern` query parameter; everything the credential allows when absent),
 * `$disconnect` removes it, `subscribe` replaces the pattern (within the allowance), `ping` renews the record's TTL.
 * Receives its clients.
 *
 * The credential travels, in order of preference, in `Authorization: Bearer <key>`, in `Sec-WebSocket-Protocol:
 * event-router, <key>` (browsers cannot set headers on a WebSocket), or as `?key=` / `?token=` (a fallback: query
 * strings end up in URLs and logs; this code never logs it). API Gateway passes the request's headers to the
 * `$connect` integration, and completes the handshake with the subprotocol the integration's response names in
 * `Sec-WebSocket-Protocol` — it must be one the client offered
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-connect-route-subprotocol.html).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AGENT_KEY_PREFIX, allowanceAsPattern, LIVE_SUBPROTOCOL, outsideAllowance } from '../../core/agents';
import { ALL_WEBHOOK_EVENTS } from '../../core/contracts';
import { liveEventMessage, RESUME_BATCH } from '../../core/live-protocol';
import { looksLikeJwt } from '../../core/oidc';
import { parseSubscription } from '../../core/subscription';
import {
  agentConnectionIds,
  deleteAgentConnection,
  putAgentConnection,
  verifyAgentKey,
} from '../shared/agent-keys';
import {
  type ConnectionRecord,
  deleteConnection,
  getConnection,
  putConnection,
  refreshConnection,
  updateSubscription,
} from '../shared/live-store';
import type { OidcVerifier } from './oidc';
import { readAfter, sinceProblem } from './resume';

/** Client → server WebSocket actions (routed by `$request.body.action`). */
export type ClientAction =
  | { action: 'subscribe'; pattern: Record<string, unknown> }
  | { action: 'ping' }
  | { action: 'resume'; since: string };

export function parseClientAction(message: unknown): ClientAction | undefined {
  const m = message as { action?: unknown; pattern?: unknown; since?: unknown } | null;
  if (m?.action === 'ping') return { action: 'ping' };
  if (m?.action === 'resume' && typeof m.since === 'string') return { action: 'resume', since: m.since };
  if (
    m?.action === 'subscribe' &&
    m.pattern !== null &&
    typeof m.pattern === 'object' &&
    !Array.isArray(m.pattern)
  ) {
    return { action: 'subscribe', pattern: m.pattern as Record<string, unknown> };
  }
  return undefined;
}

export interface ConnectionDeps {
  readonly doc: DynamoDBDocumentClient;
  /** Active admin tokens (several during rotation): they connect as agent `admin`, allowed every event. */
  readonly accessTokens: () => Promise<readonly string[]>;
  /** Verifies a JWT from the configured OIDC issuer (lambdas/connections/oidc.ts); absent: no issuer configured. */
  readonly oidc?: OidcVerifier;
  readonly management: ApiGatewayManagementApiClient;
  readonly tableName: string;
  readonly connectionTtlSeconds: number;
  readonly now: () => number;
  /** The event store (resume reads stored events) and its retention in days. */
  readonly eventsTable: string;
  readonly retentionDays: number;
  /**
   * Starts the replay of a connection that asked for `since` on its URL, once its handshake has completed: nothing
   * can be sent on a connection before its `$connect` has answered, so the handler hands it to a fresh invocation
   * (an asynchronous invoke of itself, which runs `resumeAfterConnect`). Absent: `since` on the URL is only checked,
   * and the client sends the `resume` action.
   */
  readonly startResume?: (connectionId: string, since: string) => Promise<void>;
  /**
   * Waits between tries of a post that raced the handshake, and holds the first connection of a live lease until
   * publishers mark events for it. @default setTimeout
   */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface ConnectionEvent {
  readonly routeKey: string;
  readonly connectionId: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Request headers of `$connect` (any case). */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
}

export interface RouteResult {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export { parseSubscription, SUBSCRIPTION_LIMITS } from '../../core/subscription';

/**
 * A connection's lifetime on API Gateway: 2 hours at most, whatever happens
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). A key's record of a connection
 * expires a little after that, so a lost `$disconnect` never holds a connection slot for long.
 */
export const MAX_CONNECTION_SECONDS = 7200 + 300;

export interface PresentedCredential {
  readonly value: string;
  readonly via: 'authorization' | 'subprotocol' | 'query';
}

const header = (headers: ConnectionEvent['headers'], name: string) => {
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === name) return v;
  return undefined;
};

/** The credential a `$connect` request presents: the Authorization header, the subprotocol list, or the query. */
export function presentedCredential(
  event: Pick<ConnectionEvent, 'headers' | 'query'>,
): PresentedCredential | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header(event.headers, 'authorization') ?? '');
  if (bearer?.[1]) return { value: bearer[1], via: 'authorization' };
  const offered = offeredProtocols(event.headers);
  if (offered.includes(LIVE_SUBPROTOCOL)) {
    const key = offered.find((p) => p !== LIVE_SUBPROTOCOL);
    if (key) return { value: key, via: 'subprotocol' };
  }
  const fromQuery = event.query.key ?? event.query.token;
  return fromQuery ? { value: fromQuery, via: 'query' } : undefined;
}

const offeredProtocols = (headers: ConnectionEvent['headers']) =>
  (header(headers, 'sec-websocket-protocol') ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');

/**
 * Who is connecting: an agent key or an OIDC subject (each with its allowance and connection limit, counted under
 * `keyId`), or the admin token.
 */
type Identity =
  | {
      readonly via: 'key' | 'oidc';
      readonly agent: string;
      readonly keyId: string;
      /** What the refusal of one connection too many names: `agent key <id>`, `OIDC subject "<sub>"`. */
      readonly holder: string;
      readonly allowance: Record<string, unknown>[];
      readonly maxConnections: number;
      /** When the credential ends (an OIDC token's `exp`, seconds); absent: an agent key, until revoked. */
      readonly notAfter?: number;
    }
  | {
      readonly via: 'admin';
      readonly agent: 'admin';
      readonly keyId?: undefined;
      readonly allowance?: undefined;
      readonly notAfter?: undefined;
    };

async function identify(
  credential: PresentedCredential | undefined,
  deps: ConnectionDeps,
): Promise<
  { ok: true; identity: Identity } | { ok: false; status?: number; error?: string; reason: string }
> {
  if (!credential)
    return {
      ok: false,
      reason:
        'no credentials: send "Authorization: Bearer <agent key>", the subprotocols "event-router, <agent key>", or ?key=<agent key>',
    };
  if (credential.value.startsWith(AGENT_KEY_PREFIX)) {
    const verified = await verifyAgentKey(deps.doc, deps.tableName, credential.value);
    if (!verified.ok) return verified;
    const { key } = verified;
    return {
      ok: true,
      identity: {
        via: 'key',
        agent: key.name,
        keyId: key.keyId,
        holder: `agent key ${key.keyId}`,
        allowance: key.patterns,
        maxConnections: key.maxConnections,
      },
    };
  }
  // A JWT is the issuer's to vouch for (admin tokens are letters and digits: never one of these).
  if (deps.oidc && looksLikeJwt(credential.value)) {
    const verified = await deps.oidc(credential.value);
    if (!verified.ok) return verified;
    return {
      ok: true,
      identity: {
        via: 'oidc',
        agent: verified.agent,
        keyId: verified.keyId,
        holder: `OIDC subject ${JSON.stringify(verified.subject)}`,
        allowance: verified.allowance,
        maxConnections: verified.maxConnections,
        notAfter: verified.notAfter,
      },
    };
  }
  if (await tokenAccepted(credential.value, deps))
    return { ok: true, identity: { via: 'admin', agent: 'admin' } };
  return {
    ok: false,
    reason: looksLikeJwt(credential.value)
      ? 'a JWT was presented, but this stack accepts none: no OIDC issuer is configured (liveStream.oidc)'
      : 'unknown agent key or admin token',
  };
}

/** Timing-safe comparison of the presented token with every active one. */
async function tokenAccepted(presented: string | undefined, deps: ConnectionDeps): Promise<boolean> {
  if (!presented) return false;
  const given = createHash('sha256').update(presented).digest();
  let ok = false;
  for (const token of await deps.accessTokens()) {
    // Equal-length digests: timingSafeEqual never throws and leaks nothing about the token's length.
    ok = timingSafeEqual(given, createHash('sha256').update(token).digest()) || ok;
  }
  return ok;
}

async function reply(deps: ConnectionDeps, connectionId: string, message: unknown): Promise<void> {
  await deps.management.send(
    new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(message)) }),
  );
}

/** A refused handshake: the status, and a JSON body saying why (clients that can read it, such as `ws`, show it). */
const refuse = (statusCode: number, error: string, message: string): RouteResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ error, message }),
});

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A connection record's expiry: the TTL from now, never past its credential's end (`notAfter`, seconds). */
const expiresAt = (deps: ConnectionDeps, notAfter?: number) =>
  Math.min(Math.floor(deps.now() / 1000) + deps.connectionTtlSeconds, notAfter ?? Number.POSITIVE_INFINITY);

/**
 * Ends a connection at its first action (ping, subscribe, resume) once it may no longer stream: its OIDC token has
 * expired (the SDK pings every 5 minutes), or its record is gone or expired (broadcast no longer pushes to it). It is
 * told why, then closed; its record goes with it. The SDK reconnects — asking its `key` function for a fresh token —
 * and resumes where it was. True when it closed it.
 */
async function closedIfEnded(
  deps: ConnectionDeps,
  connectionId: string,
  connection: ConnectionRecord | undefined,
): Promise<boolean> {
  let why: { error: string; message: string };
  if (connection?.notAfter !== undefined && connection.notAfter * 1000 <= deps.now())
    why = {
      error: 'token_expired',
      message: `the token this connection was opened with expired at ${new Date(connection.notAfter * 1000).toISOString()}; connect again with a fresh one`,
    };
  else if (!connection || connection.expiresAt * 1000 <= deps.now())
    why = {
      error: 'connection_expired',
      message: 'this connection is no longer registered (its record expired); connect again',
    };
  else return false;
  await reply(deps, connectionId, { kind: 'error', ...why }).catch(() => undefined);
  await deleteConnection(deps.doc, deps.tableName, connectionId, deps.now());
  await deps.management
    .send(new DeleteConnectionCommand({ ConnectionId: connectionId }))
    .catch((error: unknown) => {
      if (!isGone(error)) throw error;
    });
  return true;
}

const isGone = (error: unknown) =>
  error instanceof Error &&
  (error.name === 'GoneException' ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410);

/**
 * The replay a `since` on the URL asked for, run after `$connect` answered. API Gateway answers 410 to a post while
 * the handshake is still completing, so the first post is tried again with backoff (for up to about 3 s).
 */
export async function resumeAfterConnect(
  deps: ConnectionDeps,
  connectionId: string,
  since: string,
): Promise<void> {
  const sleep = deps.sleep ?? defaultSleep;
  let first = true;
  const post = async (data: string) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await deps.management.send(
          new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(data) }),
        );
        first = false;
        return;
      } catch (error) {
        if (!first || !isGone(error) || attempt >= 7) throw error;
        await sleep(25 * 2 ** attempt);
      }
    }
  };
  const connection = await getConnection(deps.doc, deps.tableName, connectionId, deps.now());
  if (connection) await resume(deps, connection, since, post);
}

/**
 * Sends the stored events after `since` that match the connection's subscription, in order (each marked
 * `"replay":true`), then `{"kind":"resumed","since","through","more"}`; with `more`, the client resumes again from
 * `through`. At most RESUME_BATCH events per action keep each invocation short.
 */
async function resume(
  deps: ConnectionDeps,
  connection: ConnectionRecord,
  since: string,
  post: (data: string) => Promise<void> = (data) =>
    deps.management
      .send(new PostToConnectionCommand({ ConnectionId: connection.connectionId, Data: Buffer.from(data) }))
      .then(() => undefined),
): Promise<void> {
  const read = await readAfter(
    { doc: deps.doc, eventsTable: deps.eventsTable, retentionDays: deps.retentionDays, now: deps.now },
    since,
    connection.pattern,
    RESUME_BATCH,
  );
  if (!read.ok) {
    await post(JSON.stringify({ kind: 'error', error: read.error, message: read.message }));
    return;
  }
  // One at a time: the client receives them in id order.
  for (const e of read.events) await post(liveEventMessage(e.id, e.json, true));
  await post(JSON.stringify({ kind: 'resumed', since, through: read.through, more: read.more }));
}

export async function handleConnectionEvent(
  event: ConnectionEvent,
  deps: ConnectionDeps,
): Promise<RouteResult> {
  switch (event.routeKey) {
    case '$connect': {
      const credential = presentedCredential(event);
      const who = await identify(credential, deps);
      if (!who.ok) return refuse(who.status ?? 401, who.error ?? 'unauthorized', who.reason);
      const { identity } = who;
      const parsed =
        event.query.pattern === undefined
          ? {
              ok: true as const,
              pattern: identity.allowance ? allowanceAsPattern(identity.allowance) : ALL_WEBHOOK_EVENTS,
            }
          : parseSubscription(event.query.pattern);
      // A non-2xx answer to $connect refuses the handshake: the client learns its pattern was wrong at once.
      if (!parsed.ok) return refuse(400, 'invalid_pattern', parsed.reason);
      // `since` on the URL is checked here, so that an expired one is refused at once; the replay runs once the
      // handshake is complete (startResume).
      const since = event.query.since === undefined ? undefined : sinceProblem(event.query.since, deps);
      if (since) return refuse(since.error === 'since_expired' ? 410 : 400, since.error, since.message);
      const outside = identity.allowance && outsideAllowance(parsed.pattern, identity.allowance);
      if (outside) return refuse(403, 'pattern_not_allowed', outside);
      if (identity.keyId !== undefined) {
        const open = await agentConnectionIds(deps.doc, deps.tableName, identity.keyId, deps.now());
        if (open.length >= identity.maxConnections)
          return refuse(
            429,
            'too_many_connections',
            `${identity.holder} already has ${open.length} live connections; it allows ${identity.maxConnections}`,
          );
        await putAgentConnection(
          deps.doc,
          deps.tableName,
          identity.keyId,
          event.connectionId,
          Math.floor(deps.now() / 1000) + MAX_CONNECTION_SECONDS,
        );
      }
      const { openAt } = await putConnection(
        deps.doc,
        deps.tableName,
        {
          connectionId: event.connectionId,
          pattern: parsed.pattern,
          connectedAt: new Date(deps.now()).toISOString(),
          expiresAt: expiresAt(deps, identity.notAfter),
          agent: identity.agent,
          ...(identity.keyId !== undefined ? { keyId: identity.keyId, allowance: identity.allowance } : {}),
          ...(identity.notAfter !== undefined ? { notAfter: identity.notAfter } : {}),
        },
        deps.now,
      );
      if (identity.via === 'key' && credential) {
        // A revocation that ran between the check above and these writes found no connection to close: look again.
        const still = await verifyAgentKey(deps.doc, deps.tableName, credential.value);
        if (!still.ok) {
          await deleteConnection(deps.doc, deps.tableName, event.connectionId, deps.now());
          await deleteAgentConnection(deps.doc, deps.tableName, identity.keyId, event.connectionId);
          return refuse(401, 'unauthorized', still.reason);
        }
      }
      // The first agent after a quiet spell waits until every publisher marks events for the broadcast rule
      // (LIVE_LEASE.settleMs, about 1.5 s): an event published once the connection is open always reaches it.
      const wait = openAt - deps.now();
      if (wait > 0) await (deps.sleep ?? defaultSleep)(wait);
      if (event.query.since !== undefined && deps.startResume)
        await deps.startResume(event.connectionId, event.query.since);
      // The handshake completes with the subprotocol the client offered (and browsers require it echoed).
      return offeredProtocols(event.headers).includes(LIVE_SUBPROTOCOL)
        ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': LIVE_SUBPROTOCOL } }
        : { statusCode: 200 };
    }
    case '$disconnect':
      await deleteConnection(deps.doc, deps.tableName, event.connectionId, deps.now());
      return { statusCode: 200 };
    default: {
      let message: unknown;
      try {
        message = JSON.parse(event.body ?? '');
      } catch {
        await reply(deps, event.connectionId, {
          kind: 'error',
          error: 'invalid_json',
          message: 'messages are JSON',
        });
        return { statusCode: 200 };
      }
      const action = parseClientAction(message);
      if (!action) {
        await reply(deps, event.connectionId, {
          kind: 'error',
          error: 'unknown_action',
          message:
            'send {"action":"subscribe","pattern":{…}}, {"action":"resume","since":"<event id>"} or {"action":"ping"}',
        });
        return { statusCode: 200 };
      }
      if (action.action === 'resume') {
        const connection = await getConnection(deps.doc, deps.tableName, event.connectionId);
        if ((await closedIfEnded(deps, event.connectionId, connection)) || !connection)
          return { statusCode: 200 };
        await resume(deps, connection, action.since);
        return { statusCode: 200 };
      }
      if (action.action === 'ping') {
        const connection = await getConnection(deps.doc, deps.tableName, event.connectionId);
        if (await closedIfEnded(deps, event.connectionId, connection)) return { statusCode: 200 };
        await refreshConnection(
          deps.doc,
          deps.tableName,
          event.connectionId,
          expiresAt(deps, connection?.notAfter),
          deps.now(),
        );
        await reply(deps, event.connectionId, { kind: 'pong' });
        return { statusCode: 200 };
      }
      const parsed = parseSubscription(action.pattern);
      if (!parsed.ok) {
        await reply(deps, event.connectionId, {
          kind: 'error',
          error: 'invalid_pattern',
          message: parsed.reason,
        });
        return { statusCode: 200 };
      }
      const connection = await getConnection(deps.doc, deps.tableName, event.connectionId);
      if (await closedIfEnded(deps, event.connectionId, connection)) return { statusCode: 200 };
      const outside = connection?.allowance && outsideAllowance(parsed.pattern, connection.allowance);
      if (outside) {
        await reply(deps, event.connectionId, {
          kind: 'error',
          error: 'pattern_not_allowed',
          message: outside,
        });
        return { statusCode: 200 };
      }
      await updateSubscription(
        deps.doc,
        deps.tableName,
        event.connectionId,
        parsed.pattern,
        expiresAt(deps, connection?.notAfter),
        deps.now(),
      );
      await reply(deps, event.connectionId, { kind: 'subscribed', pattern: parsed.pattern });
      return { statusCode: 200 };
    }
  }
}
