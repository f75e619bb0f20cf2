/**
 * OIDC tokens over a real WebSocket (the local API Gateway emulator invoking the connection domain), verified against
 * a local issuer (discovery and JWKS on 127.0.0.1) with jose: a valid token connects with the allowance its claim
 * holds; a wrong audience or issuer, an expired or not-yet-valid token, a bad signature, an unknown key id and
 * `alg: none` are refused (401) with the reason; a token that allows nothing is refused (403); connections are
 * limited per subject; an unreachable issuer is a 503.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LIVE_SUBPROTOCOL } from '../../core/agents';
import type { Envelope } from '../../core/contracts';
import { OIDC_DEFAULTS } from '../../core/oidc';
import type { OidcRuntime } from '../../core/runtime-config';
import {
  type BroadcastDeps,
  broadcastEvent,
  SubscriptionIndex,
  syncSubscriptions,
} from '../../lambdas/broadcast/broadcast';
import type { ConnectionDeps } from '../../lambdas/connections/connections';
import { createOidcVerifier, type OidcVerifierOptions, oidcKeyId } from '../../lambdas/connections/oidc';
import { agentConnectionIds } from '../../lambdas/shared/agent-keys';
import { getConnection } from '../../lambdas/shared/live-store';
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
import { AUDIENCE, type LocalIssuer, startLocalIssuer, unsecuredToken } from '../support/oidc-issuer';

const PRS = { 'detail-type': [{ prefix: 'pull_request.' }] };
const STRIPE = { source: ['webhook.stripe'] };

let aws: LocalAws;
let api: LocalWebSocketApi;
let issuer: LocalIssuer;
let base: ConnectionDeps;
let deps: ConnectionDeps;
let broadcastDeps: BroadcastDeps;

const settings = (overrides: Partial<OidcRuntime> = {}): OidcRuntime => ({
  issuer: issuer.issuer,
  audience: [AUDIENCE],
  patternsClaim: OIDC_DEFAULTS.patternsClaim,
  nameClaim: OIDC_DEFAULTS.nameClaim,
  maxConnections: 10,
  algorithms: [...OIDC_DEFAULTS.algorithms],
  clockToleranceSeconds: OIDC_DEFAULTS.clockToleranceSeconds,
  ...overrides,
});
/** The connection domain with a fresh verifier (its own key cache) for these settings. */
const useOidc = (overrides: Partial<OidcRuntime> = {}, options: OidcVerifierOptions = {}) => {
  deps = { ...base, oidc: createOidcVerifier(settings(overrides), options) };
};

beforeAll(async () => {
  aws = await startLocalAws();
  issuer = await startLocalIssuer();
  let management: ApiGatewayManagementApiClient;
  ({ api, management } = await startConnectionsApi(() => deps));
  base = {
    doc: aws.doc,
    accessTokens: async () => ['admin-token-123'],
    management,
    tableName: aws.liveTableName,
    connectionTtlSeconds: 7200,
    eventsTable: aws.tableName,
    retentionDays: 7,
    now: Date.now,
  };
  broadcastDeps = {
    doc: aws.doc,
    management,
    tableName: aws.liveTableName,
    now: Date.now,
    concurrency: 4,
    subscriptions: new SubscriptionIndex(),
  };
});
beforeEach(() => {
  issuer.mode = 'ok';
  useOidc();
});
afterAll(async () => {
  await api.stop();
  await issuer.stop();
  await aws.stop();
});

const connect = (options?: ConnectOptions) => connectTo(api.url, options);
const open = (options?: ConnectOptions) => openTo(api.url, options);
const refused = (options?: ConnectOptions) => refusedTo(api.url, options);

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
describe('OIDC tokens on the live stream', () => {
  it('connects a valid token with the allowance its claim holds, and streams what it allows', async () => {
    const token = await issuer.sign(
      { event_router_patterns: [PRS, STRIPE], name: 'triage-bot' },
      { subject: 'client-42' },
    );
    useOidc({ nameClaim: 'name' });
    const client = await open(bearer(token));
    await syncSubscriptions(broadcastDeps);
    for (const { bus, detail } of [
      busEvent('issues.opened'),
      busEvent('pull_request.closed'),
      busEvent('invoice.paid', 'stripe'),
    ])
      await broadcastEvent(bus, detail, broadcastDeps);
    // Other tests' connections may match too; this client gets its two events, in order.
    expect(((await client.next()).event as Envelope).type).toBe('pull_request.closed');
    expect(((await client.next()).event as Envelope).type).toBe('invoice.paid');
    // Counted under the subject, for its connection limit.
    const keyId = oidcKeyId(issuer.issuer, 'client-42');
    expect(keyId).toMatch(/^oidc:[0-9a-f]{32}$/);
    expect(await agentConnectionIds(aws.doc, aws.liveTableName, keyId, Date.now())).toHaveLength(1);
    // A subscription stays within the allowance.
    client.ws.send(JSON.stringify({ action: 'subscribe', pattern: { source: ['webhook.github'] } }));
    expect(await client.next()).toMatchObject({ kind: 'error', error: 'pattern_not_allowed' });
    await close(client);
  });

  it('ends a connection whose token expired at its next action: told why, closed, its record gone', async () => {
    const token = await issuer.sign(
      { event_router_patterns: [PRS] },
      { subject: 'short-lived', expiresIn: 120 },
    );
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
    const client = await open(bearer(token));
    const [connectionId] = await agentConnectionIds(
      aws.doc,
      aws.liveTableName,
      oidcKeyId(issuer.issuer, 'short-lived'),
      Date.now(),
    );
    // The record expires with the token (plus the clock tolerance), not after the 2-hour TTL.
    const record = await getConnection(aws.doc, aws.liveTableName, connectionId!);
    expect(record?.expiresAt).toBe(exp + OIDC_DEFAULTS.clockToleranceSeconds);
    // Before the end, a ping keeps it (without renewing it past the token).
    client.ws.send('{"action":"ping"}');
    expect(await client.next()).toEqual({ kind: 'pong' });
    expect((await getConnection(aws.doc, aws.liveTableName, connectionId!))?.expiresAt).toBe(
      exp + OIDC_DEFAULTS.clockToleranceSeconds,
    );
    // Past it, the next ping closes the connection.
    const live = deps;
    deps = { ...live, now: () => (exp + OIDC_DEFAULTS.clockToleranceSeconds + 1) * 1000 };
    try {
      client.ws.send('{"action":"ping"}');
      expect(await client.next()).toMatchObject({ kind: 'error', error: 'token_expired' });
      await client.closed;
      expect(await getConnection(aws.doc, aws.liveTableName, connectionId!)).toBeUndefined();
    } finally {
      deps = live;
    }
  });

  it('takes the token where it takes keys: Sec-WebSocket-Protocol (echoing event-router) and ?key=; ES256 and a claim that is a JSON string', async () => {
    const token = await issuer.sign({ event_router_patterns: JSON.stringify(PRS) }, { alg: 'ES256' });
    const browser = await open({ protocols: [LIVE_SUBPROTOCOL, token] });
    expect(browser.ws.protocol).toBe(LIVE_SUBPROTOCOL);
    const query = await open({ query: { key: token } });
    for (const c of [browser, query]) await close(c);
  });

  it('refuses a subscription outside the token’s allowance at connect (403), naming the field', async () => {
    const token = await issuer.sign({ event_router_patterns: [PRS] });
    const wide = await refused({
      ...bearer(token),
      query: { pattern: JSON.stringify({ 'detail-type': [{ prefix: 'issues.' }] }) },
    });
    expect(wide.status).toBe(403);
    expect(wide.body).toMatchObject({ error: 'pattern_not_allowed' });
    expect(wide.body.message).toMatch(/detail-type/);
  });

  it.each<[string, () => Promise<string>, RegExp]>([
    [
      'a wrong audience',
      () => issuer.sign({ event_router_patterns: [PRS] }, { audience: 'someone-else' }),
      /audience "someone-else" is not this stack's \(event-router-test\)/,
    ],
    [
      'a wrong issuer',
      () => issuer.sign({ event_router_patterns: [PRS] }, { issuer: 'https://evil.example.com' }),
      /issuer "https:\/\/evil\.example\.com" is not this stack's issuer/,
    ],
    [
      'an expired token (beyond the clock tolerance)',
      () => issuer.sign({ event_router_patterns: [PRS] }, { expiresIn: -120 }),
      /the token expired at \d{4}-\d\d-\d\dT/,
    ],
    [
      'a token not valid yet',
      () => issuer.sign({ event_router_patterns: [PRS] }, { notBefore: 600 }),
      /not valid before/,
    ],
    [
      'a bad signature (a key the issuer does not publish, under its key id)',
      () => issuer.sign({ event_router_patterns: [PRS] }, { foreignKey: true }),
      /signature does not verify/,
    ],
    [
      'an unknown key id',
      () => issuer.sign({ event_router_patterns: [PRS] }, { kid: 'nope' }),
      /no key with the token's key id "nope"/,
    ],
    [
      'alg: none',
      async () => unsecuredToken({ iss: issuer.issuer, aud: AUDIENCE, sub: 'x', exp: 9_999_999_999 }),
      /algorithm "none" is not allowed \(RS256, ES256\)/,
    ],
    [
      'an algorithm off the allow-list (PS256)',
      () => issuer.sign({ event_router_patterns: [PRS] }, { alg: 'PS256' }),
      /algorithm "PS256" is not allowed/,
    ],
    [
      'a token without exp (it would never end)',
      () => issuer.sign({ event_router_patterns: [PRS] }, { expiresIn: null }),
      /no "exp" claim/,
    ],
    [
      'a token without sub',
      () => issuer.sign({ event_router_patterns: [PRS] }, { subject: null }),
      /no "sub" claim/,
    ],
  ])('refuses %s with 401 and says why', async (_, token, reason) => {
    const refusal = await refused(bearer(await token()));
    expect(refusal.status).toBe(401);
    expect(refusal.body.error).toBe('unauthorized');
    expect(refusal.body.message).toMatch(reason);
  });

  it('accepts a token expired for less than the clock tolerance', async () => {
    const token = await issuer.sign({ event_router_patterns: [PRS] }, { expiresIn: -10 });
    await close(await open(bearer(token)));
  });

  it('refuses a token that allows no events (403), unless the config grants defaults; and a malformed claim', async () => {
    const bare = await issuer.sign({});
    const none = await refused(bearer(bare));
    expect(none.status).toBe(403);
    expect(none.body).toMatchObject({ error: 'no_events_allowed' });
    expect(none.body.message).toMatch(/the token allows no events: it has no "event_router_patterns" claim/);

    const bad = await refused(bearer(await issuer.sign({ event_router_patterns: [{ source: 'x' }] })));
    expect(bad.status).toBe(403);
    expect(bad.body).toMatchObject({ error: 'invalid_allowance' });
    expect(bad.body.message).toMatch(/"event_router_patterns" claim .*\[0\]: invalid pattern: source/);

    useOidc({ defaultPatterns: [STRIPE], patternsClaim: 'https://example.com/patterns' });
    const client = await open(bearer(bare));
    client.ws.send(JSON.stringify({ action: 'subscribe', pattern: PRS }));
    expect(await client.next()).toMatchObject({ kind: 'error', error: 'pattern_not_allowed' });
    await close(client);
    // A namespaced claim (an URL, as some issuers require) holds the allowance.
    const namespaced = await issuer.sign({ 'https://example.com/patterns': [PRS] });
    await close(await open(bearer(namespaced)));
  });

  it('limits the live connections of a subject (429), whatever tokens it presents; other subjects are counted apart', async () => {
    useOidc({ maxConnections: 2 });
    const first = await open(
      bearer(await issuer.sign({ event_router_patterns: [PRS] }, { subject: 'busy' })),
    );
    const second = await open(
      bearer(await issuer.sign({ event_router_patterns: [PRS] }, { subject: 'busy', alg: 'ES256' })),
    );
    const third = await refused(
      bearer(await issuer.sign({ event_router_patterns: [PRS] }, { subject: 'busy' })),
    );
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ error: 'too_many_connections' });
    expect(third.body.message).toMatch(/OIDC subject "busy" already has 2 live connections; it allows 2/);
    const other = await open(
      bearer(await issuer.sign({ event_router_patterns: [PRS] }, { subject: 'calm' })),
    );
    await close(first);
    // $disconnect frees the slot.
    const token = await issuer.sign({ event_router_patterns: [PRS] }, { subject: 'busy' });
    let again = await connect(bearer(token));
    for (let i = 0; i < 50 && !isClient(again); i++) {
      await new Promise((r) => setTimeout(r, 20));
      again = await connect(bearer(token));
    }
    expect(isClient(again)).toBe(true);
    for (const c of [second, other, ...(isClient(again) ? [again] : [])]) await close(c);
  });

  it('fetches the discovery document and the keys once, not per connection; a new key id fetches the keys again', async () => {
    useOidc({}, { cooldownMs: 0 });
    const before = {
      discovery: issuer.hits.get('/.well-known/openid-configuration') ?? 0,
      jwks: issuer.hits.get('/jwks') ?? 0,
    };
    const token = await issuer.sign({ event_router_patterns: [PRS] });
    for (let i = 0; i < 3; i++) await close(await open(bearer(token)));
    expect(issuer.hits.get('/.well-known/openid-configuration')! - before.discovery).toBe(1);
    expect(issuer.hits.get('/jwks')! - before.jwks).toBe(1);
    // The issuer rotates its key: the first token naming the new key id has it fetched.
    const kid = await issuer.rotate();
    const rotated = await issuer.sign({ event_router_patterns: [PRS] });
    expect(JSON.parse(Buffer.from(rotated.split('.')[0]!, 'base64url').toString()).kid).toBe(kid);
    await close(await open(bearer(rotated)));
    expect(issuer.hits.get('/jwks')! - before.jwks).toBe(2);
  });

  it('uses jwksUri when given, without discovery', async () => {
    useOidc({ jwksUri: issuer.jwksUri });
    const before = issuer.hits.get('/.well-known/openid-configuration') ?? 0;
    await close(await open(bearer(await issuer.sign({ event_router_patterns: [PRS] }))));
    expect(issuer.hits.get('/.well-known/openid-configuration') ?? 0).toBe(before);
  });

  it('answers 503 while the issuer cannot be reached (an error, a timeout, nothing listening), and connects once it is back', async () => {
    const token = await issuer.sign({ event_router_patterns: [PRS] });
    issuer.mode = 'error';
    const down = await refused(bearer(token));
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ error: 'issuer_unavailable' });
    expect(down.body.message).toMatch(/openid-configuration could not be read: it answered 500; try again/);

    useOidc({ jwksUri: issuer.jwksUri }, { timeoutMs: 200 });
    issuer.mode = 'hang';
    const slow = await refused(bearer(token));
    expect(slow.status).toBe(503);
    expect(slow.body.message).toMatch(/the issuer's keys could not be fetched: timed out/);

    useOidc({ jwksUri: `http://127.0.0.1:${await closedPort()}/jwks` });
    const nobody = await refused(bearer(token));
    expect(nobody.status).toBe(503);
    expect(nobody.body.message).toMatch(/ECONNREFUSED/);

    // The same verifier tries again: the failure was not cached.
    useOidc();
    issuer.mode = 'error';
    expect((await refused(bearer(token))).status).toBe(503);
    issuer.mode = 'ok';
    await close(await open(bearer(token)));
  });

  it('refuses a discovery document that names another issuer (503: the stack is misconfigured, not the token)', async () => {
    useOidc({ issuer: `${issuer.issuer}/` });
    const token = await issuer.sign({ event_router_patterns: [PRS] }, { issuer: `${issuer.issuer}/` });
    const refusal = await refused(bearer(token));
    expect(refusal.status).toBe(503);
    expect(refusal.body.message).toMatch(
      /names the issuer "http:\/\/127\.0\.0\.1:\d+", not http:\/\/127\.0\.0\.1:\d+\//,
    );
  });

  it('says so when a JWT reaches a stack with no issuer configured; agent keys and the admin token still work with one', async () => {
    deps = base;
    const token = await issuer.sign({ event_router_patterns: [PRS] });
    const refusal = await refused(bearer(token));
    expect(refusal.status).toBe(401);
    expect(refusal.body.message).toMatch(/a JWT was presented, but this stack accepts none/);
    useOidc();
    await close(await open(bearer('admin-token-123')));
    expect((await refused(bearer('not-a-token'))).body.message).toBe('unknown agent key or admin token');
  });
});
