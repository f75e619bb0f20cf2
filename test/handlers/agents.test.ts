/**
 * Agent keys over a real WebSocket (the local API Gateway emulator invoking the connection domain): the key in
 * `Authorization: Bearer`, in `Sec-WebSocket-Protocol`, or in the query; allowances; connection limits; revocation
 * closing live connections.
 */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_SUBPROTOCOL } from '../../core/agents';
import type { Envelope } from '../../core/contracts';
import {
  type BroadcastDeps,
  broadcastEvent,
  SubscriptionIndex,
  syncSubscriptions,
} from '../../lambdas/broadcast/broadcast';
import type { ConnectionDeps } from '../../lambdas/connections/connections';
import { type AgentDeps, createAgent, listAgents, revokeAgent } from '../../lambdas/management/agents';
import { ApiProblem } from '../../lambdas/management/problem';
import type { LocalWebSocketApi } from '../../local/services/websocket-api';
import { type LocalAws, startLocalAws } from '../support/aws-local';
import {
  busEvent,
  type ConnectOptions,
  close,
  connect as connectTo,
  isClient,
  open as openTo,
  refused as refusedTo,
  startConnectionsApi,
} from '../support/live-socket';

const ADMIN = 'admin-token-123';
let aws: LocalAws;
let api: LocalWebSocketApi;
let agents: AgentDeps;
let broadcastDeps: BroadcastDeps;

beforeAll(async () => {
  aws = await startLocalAws();
  let connectionDeps: ConnectionDeps | undefined;
  let management: ApiGatewayManagementApiClient;
  ({ api, management } = await startConnectionsApi(() => connectionDeps!));
  connectionDeps = {
    doc: aws.doc,
    accessTokens: async () => [ADMIN],
    management,
    tableName: aws.liveTableName,
    connectionTtlSeconds: 7200,
    eventsTable: aws.tableName,
    retentionDays: 7,
    now: Date.now,
  };
  agents = { doc: aws.doc, tableName: aws.liveTableName, management, now: Date.now };
  broadcastDeps = {
    doc: aws.doc,
    management,
    tableName: aws.liveTableName,
    now: Date.now,
    concurrency: 4,
    subscriptions: new SubscriptionIndex(),
  };
});
afterAll(async () => {
  await api.stop();
  await aws.stop();
});

const connect = (options?: ConnectOptions) => connectTo(api.url, options);
const open = (options?: ConnectOptions) => openTo(api.url, options);
const refused = (options?: ConnectOptions) => refusedTo(api.url, options);

const PRS = { 'detail-type': [{ prefix: 'pull_request.' }] };

describe('agent keys', () => {
  it('creates a key shown once (stored hashed) and lists it without the key', async () => {
    const { agent, key } = await createAgent(agents, { name: 'lister', patterns: [PRS] });
    expect(key).toMatch(new RegExp(`^erk_${agent.id}_[A-Za-z0-9_-]{43}$`));
    const { agents: listed } = await listAgents(agents);
    const mine = listed.find((a) => a.id === agent.id);
    expect(mine).toMatchObject({ name: 'lister', patterns: [PRS], revokedAt: null, connections: 0 });
    expect(JSON.stringify(listed)).not.toContain(key.slice(-43));
  });

  it('refuses a key pattern that is not a valid subscription, naming the field', async () => {
    const error = await createAgent(agents, {
      name: 'bad',
      patterns: [PRS, { 'detail-type': 'not-an-array' }],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiProblem);
    expect((error as ApiProblem).status).toBe(400);
    expect((error as ApiProblem).errors?.[0]?.path).toBe('patterns[1]');
  });

  it('accepts the key in Authorization: Bearer, in Sec-WebSocket-Protocol (echoing event-router), or in ?key=', async () => {
    const { key } = await createAgent(agents, { name: 'carrier', patterns: [PRS] });
    const bearer = await open({ headers: { Authorization: `Bearer ${key}` } });
    const browser = await open({ protocols: [LIVE_SUBPROTOCOL, key] });
    expect(browser.ws.protocol).toBe(LIVE_SUBPROTOCOL);
    const query = await open({ query: { key } });
    for (const c of [bearer, browser, query]) await close(c);
  });

  it('refuses a missing, unknown or malformed credential with 401 and says why', async () => {
    const none = await refused({});
    expect(none.status).toBe(401);
    expect(none.body.message).toMatch(/Authorization: Bearer/);
    const { key } = await createAgent(agents, { name: 'forged', patterns: [PRS] });
    const wrong = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect((await refused({ headers: { Authorization: `Bearer ${wrong}` } })).body).toMatchObject({
      error: 'unauthorized',
      message: 'unknown agent key',
    });
    expect((await refused({ query: { token: 'nope' } })).status).toBe(401);
  });

  it('keeps the shared token as an admin key allowed every event', async () => {
    const admin = await open({ headers: { Authorization: `Bearer ${ADMIN}` } });
    admin.ws.send(JSON.stringify({ action: 'subscribe', pattern: { source: ['webhook.stripe'] } }));
    expect(await admin.next()).toMatchObject({ kind: 'subscribed' });
    await close(admin);
  });

  it('refuses a subscription outside the allowance, at connect (403) and on subscribe, naming the field', async () => {
    const { key } = await createAgent(agents, { name: 'narrow', patterns: [PRS] });
    const wide = await refused({
      headers: { Authorization: `Bearer ${key}` },
      query: { pattern: JSON.stringify({ 'detail-type': [{ prefix: 'issues.' }] }) },
    });
    expect(wide.status).toBe(403);
    expect(wide.body).toMatchObject({ error: 'pattern_not_allowed' });
    expect(wide.body.message).toMatch(/detail-type/);

    const client = await open({ headers: { Authorization: `Bearer ${key}` } });
    client.ws.send(JSON.stringify({ action: 'subscribe', pattern: { source: ['webhook.github'] } }));
    expect(await client.next()).toMatchObject({ kind: 'error', error: 'pattern_not_allowed' });
    const narrower = { 'detail-type': ['pull_request.opened'], source: ['webhook.github'] };
    client.ws.send(JSON.stringify({ action: 'subscribe', pattern: narrower }));
    expect(await client.next()).toMatchObject({ kind: 'subscribed', pattern: narrower });
    await close(client);
  });

  it('subscribes a connection that names no pattern to everything its key allows, and nothing else', async () => {
    const { key } = await createAgent(agents, {
      name: 'two',
      patterns: [PRS, { source: ['webhook.stripe'] }],
    });
    const client = await open({ headers: { Authorization: `Bearer ${key}` } });
    await syncSubscriptions(broadcastDeps);
    const pushes = [
      busEvent('issues.opened'),
      busEvent('pull_request.closed'),
      busEvent('invoice.paid', 'stripe'),
    ];
    const results = [];
    for (const { bus, detail } of pushes) results.push(await broadcastEvent(bus, detail, broadcastDeps));
    // Other tests' connections may match too; this client's two events arrive in order.
    expect(((await client.next()).event as Envelope).type).toBe('pull_request.closed');
    expect(((await client.next()).event as Envelope).type).toBe('invoice.paid');
    await close(client);
  });

  it('limits the live connections of a key (429 naming the limit)', async () => {
    const { key } = await createAgent(agents, { name: 'single', patterns: [PRS], maxConnections: 1 });
    const first = await open({ headers: { Authorization: `Bearer ${key}` } });
    const second = await refused({ headers: { Authorization: `Bearer ${key}` } });
    expect(second.status).toBe(429);
    expect(second.body).toMatchObject({ error: 'too_many_connections' });
    expect(second.body.message).toMatch(/allows 1/);
    await close(first);
    // $disconnect frees the slot.
    let again = await connect({ headers: { Authorization: `Bearer ${key}` } });
    for (let i = 0; i < 50 && !isClient(again); i++) {
      await new Promise((r) => setTimeout(r, 20));
      again = await connect({ headers: { Authorization: `Bearer ${key}` } });
    }
    expect(isClient(again)).toBe(true);
    if (isClient(again)) await close(again);
  });

  it('revocation closes the key’s live connections and refuses new ones', async () => {
    const { agent, key } = await createAgent(agents, { name: 'revoked', patterns: [PRS] });
    const a = await open({ headers: { Authorization: `Bearer ${key}` } });
    const b = await open({ protocols: [LIVE_SUBPROTOCOL, key] });
    expect((await listAgents(agents)).agents.find((x) => x.id === agent.id)?.connections).toBe(2);

    const result = await revokeAgent(agents, agent.id);
    expect(result.disconnected).toBe(2);
    expect(result.agent.revokedAt).not.toBeNull();
    // Both sockets are closed by the server (the close events arrive: no waiting on a clock).
    await Promise.all([a.closed, b.closed]);

    const after = await refused({ headers: { Authorization: `Bearer ${key}` } });
    expect(after.status).toBe(401);
    expect(after.body.message).toMatch(/revoked/);
    await expect(revokeAgent(agents, '0000000000000000')).rejects.toMatchObject({ status: 404 });
  });
});
