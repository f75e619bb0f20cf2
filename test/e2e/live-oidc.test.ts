/**
 * OIDC tokens against the local stack: a config whose `liveStream.oidc` names a local issuer (discovery and JWKS on
 * 127.0.0.1, over http — accepted for a loopback address only), the client SDK connecting with a JWT as its key (a
 * fresh one per connection), events within the token's allowance streamed and the others not; a refused token
 * ending the stream with the reason; no token in any log line. Every wait is bounded.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectLive, type LiveClient, type LiveEvent, type WebSocketConstructor } from '../../client/index';
import type { RouterConfigInput } from '../../core/config';
import { getConnection } from '../../lambdas/shared/live-store';
import { LOCAL_NAMES, type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack';
import { AUDIENCE, type LocalIssuer, startLocalIssuer } from '../support/oidc-issuer';
import { waitFor } from './support/harness';
import { callApi } from './support/management';

let issuer: LocalIssuer;
const stacks: LocalStack[] = [];
const clients: LiveClient[] = [];

beforeAll(async () => {
  issuer = await startLocalIssuer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of stacks.splice(0)) await s.stop();
});
afterAll(async () => {
  await issuer.stop();
});

async function start(options: Partial<LocalStackOptions> = {}): Promise<LocalStack> {
  const config: RouterConfigInput = {
    sources: [{ name: 'github', provider: 'github', secret: { secretName: 'e2e/github' } }],
    targets: [],
    liveStream: { oidc: { issuer: issuer.issuer, audience: AUDIENCE, nameClaim: 'name' } },
  };
  const stack = await startLocalStack({
    config,
    sweepIntervalSeconds: null,
    pollWaitSeconds: 1,
    functionLogs: false,
    log: () => {},
    ...options,
  });
  stacks.push(stack);
  return stack;
}

async function publish(stack: LocalStack, type: string): Promise<string> {
  const answer = await callApi(stack.http.url, 'POST', '/v1/events', { source: 'e2e', type, data: {} });
  expect(answer.status).toBe(202);
  return answer.json.events[0].id as string;
}

function stream(stack: LocalStack, key: Parameters<typeof connectLive>[0]['key']) {
  const received: LiveEvent[] = [];
  const client = connectLive({
    url: stack.websocketUrl,
    key,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    backoff: { initialMs: 50, maxMs: 500 },
    onEvent: (e) => received.push(e),
  });
  clients.push(client);
  return { client, received };
}

const ALLOWED = { 'detail-type': ['tick'] };

describe('OIDC tokens on the local stack', () => {
  it('streams to the client SDK with a JWT as its key, within the token’s allowance; the token is never logged', async () => {
    const lines: string[] = [];
    const stack = await start({ functionLogs: (_name, line) => lines.push(line), logLevel: 'DEBUG' });
    const tokens: string[] = [];
    const { received } = stream(stack, async () => {
      const token = await issuer.sign({ event_router_patterns: [ALLOWED], name: 'e2e-bot' });
      tokens.push(token);
      return token;
    });
    await waitFor('the connection', () => stack.connectionIds().length === 1 || undefined, 15_000);
    // Stored under the agent the token names, its allowance from the claim, counted under its subject.
    const doc = DynamoDBDocumentClient.from(stack.dynamodb.client);
    expect(await getConnection(doc, LOCAL_NAMES.liveTable, stack.connectionIds()[0]!)).toMatchObject({
      agent: 'e2e-bot',
      keyId: expect.stringMatching(/^oidc:[0-9a-f]{32}$/),
      allowance: [ALLOWED],
      pattern: ALLOWED,
    });
    const outside = await publish(stack, 'tock');
    const inside = await publish(stack, 'tick');
    await waitFor('the allowed event', () => received.length >= 1 || undefined, 15_000);
    await stack.drain();
    expect(received.map((e) => e.id)).toEqual([inside]);
    expect(received.map((e) => e.id)).not.toContain(outside);

    // A refused token (another audience), sent in the query string: the stack says why, and logs neither token.
    const wrong = await issuer.sign({ event_router_patterns: [ALLOWED] }, { audience: 'elsewhere' });
    const refused = stream(stack, wrong);
    await expect(refused.client[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'unauthorized',
      status: 401,
      message: expect.stringMatching(/audience "elsewhere" is not this stack's/),
    });
    const query = new WebSocket(`${stack.websocketUrl}?key=${tokens[0]}`);
    await new Promise((resolve, reject) => {
      query.once('open', resolve);
      query.once('error', reject);
    });
    query.close();
    await stack.drain();
    expect(lines.some((l) => l.includes('websocket route'))).toBe(true);
    const signatures = [...tokens, wrong].map((t) => t.split('.')[2]!);
    expect(lines.filter((l) => signatures.some((s) => l.includes(s)))).toEqual([]);
    // The refusal is logged with its reason.
    expect(lines.some((l) => l.includes('"statusCode":401') && l.includes('audience'))).toBe(true);
  });

  it('ends the stream with the reason when the token allows no events', async () => {
    const stack = await start();
    const { client } = stream(stack, await issuer.sign({}));
    await expect(client[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'no_events_allowed',
      status: 403,
    });
  });
});
