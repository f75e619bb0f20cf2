/**
 * The client SDK against the local stack: an agent key made through the management API, events published through
 * it, and the stream kept whole — zero events lost or duplicated at the application level — across a connection
 * closed by the server (@connections DELETE, what a revocation or API Gateway does), the 2-hour cap (shortened),
 * and a restart of the whole stack mid-stream. Every wait is bounded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectLive, type LiveClient, type LiveEvent } from '../../client/index';
import type { RouterConfigInput } from '../../core/config';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack';
import { MATCH_ALL, waitFor } from './support/harness';
import { callApi } from './support/management';

const config: RouterConfigInput = {
  sources: [{ name: 'github', provider: 'github', secret: { secretName: 'e2e/github' } }],
  targets: [],
};
const dirs: string[] = [];
const stacks: LocalStack[] = [];
const clients: LiveClient[] = [];

async function start(options: Partial<LocalStackOptions> = {}): Promise<LocalStack> {
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

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of stacks.splice(0)) await s.stop();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const api = (stack: LocalStack, method: string, p: string, body?: unknown) =>
  callApi(stack.http.url, method, p, body);

async function agentKey(stack: LocalStack, patterns: unknown[] = [MATCH_ALL]): Promise<string> {
  const created = await api(stack, 'POST', '/v1/agents', { name: 'e2e-agent', patterns });
  expect(created.status).toBe(201);
  return created.json.key as string;
}

/** Publishes `n` internal events one by one; their ids, in order. */
async function publish(stack: LocalStack, n: number, type = 'tick'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const answer = await api(stack, 'POST', '/v1/events', { source: 'e2e', type, data: { i } });
    expect(answer.status).toBe(202);
    ids.push(answer.json.events[0].id as string);
  }
  return ids;
}

function stream(stack: LocalStack, key: string, extra: Partial<Parameters<typeof connectLive>[0]> = {}) {
  const received: LiveEvent[] = [];
  const statuses: string[] = [];
  const client = connectLive({
    url: stack.websocketUrl,
    key,
    WebSocket,
    backoff: { initialMs: 50, maxMs: 500 },
    onEvent: (e) => received.push(e),
    onStatus: (s) => statuses.push(s.type),
    ...extra,
  });
  clients.push(client);
  return { client, received, statuses };
}

const openConnections = (stack: LocalStack) => stack.connectionIds();

describe('broadcast only while agents may be connected (the live lease)', () => {
  it('never invokes broadcast without agents; the first agent gets every event published after it opened; the last one leaving stops it again', async () => {
    const stack = await start();
    const broadcast = stack.functions.broadcast!;
    const key = await agentKey(stack);
    await publish(stack, 3);
    await stack.drain();
    expect(broadcast.invocations).toBe(0);

    // The first agent after a quiet spell: its connection opens once publishers mark events for it (~1.5 s).
    const { client, received, statuses } = stream(stack, key);
    await waitFor('the connection', () => statuses.includes('open') || undefined, 10_000);
    const ids = await publish(stack, 3);
    await waitFor('3 events', () => received.length >= 3 || undefined, 15_000);
    expect(received.map((e) => e.id)).toEqual(ids);
    expect(broadcast.invocations).toBeGreaterThan(0);

    await client.close();
    await waitFor('the disconnect', () => openConnections(stack).length === 0 || undefined, 10_000);
    // Publishers stop marking within the lease's grace (1.5 s) plus their refresh (1 s).
    await new Promise((r) => setTimeout(r, 2_600));
    await stack.drain();
    const before = broadcast.invocations;
    await publish(stack, 3);
    await stack.drain();
    expect(broadcast.invocations).toBe(before);
  });
});

describe('client SDK against the local stack', () => {
  it('streams with an agent key, and resumes without loss or duplicates after the server closes the connection', async () => {
    const stack = await start();
    const key = await agentKey(stack);
    const { received, statuses } = stream(stack, key);
    await waitFor('the connection', () => openConnections(stack).length === 1 || undefined, 10_000);
    const first = await publish(stack, 3);
    await waitFor('3 events', () => received.length >= 3 || undefined, 15_000);

    // The server ends the connection (as API Gateway does, or a revocation): @connections DELETE.
    const [id] = openConnections(stack);
    const deleted = await fetch(`${stack.managementUrl}/@connections/${encodeURIComponent(id!)}`, {
      method: 'DELETE',
    });
    expect(deleted.status).toBe(204);
    // Published while the client is away or reconnecting: the resume brings them.
    const second = await publish(stack, 4);
    await waitFor('7 events', () => received.length >= 7 || undefined, 20_000);
    const third = await publish(stack, 2);
    await waitFor('9 events', () => received.length >= 9 || undefined, 20_000);
    await stack.drain();

    expect(received.map((e) => e.id)).toEqual([...first, ...second, ...third]);
    expect(statuses).toContain('reconnecting');
    expect(received[0]?.envelope).toMatchObject({ source: 'internal.e2e', type: 'tick', data: { i: 0 } });
  });

  it('replaces a connection before the 2-hour cap (shortened here) without losing or repeating an event', async () => {
    // The server's cap at 1 s, the client's own replacement at 0.7 s: both happen several times.
    const stack = await start({ websocket: { maxConnectionSeconds: 1 } });
    const key = await agentKey(stack);
    const { received, statuses } = stream(stack, key, { maxConnectionMs: 700 });
    await waitFor('the connection', () => openConnections(stack).length === 1 || undefined, 10_000);
    const published: string[] = [];
    // Bounded: 12 events over several connection lifetimes.
    for (let round = 0; round < 6; round++) {
      published.push(...(await publish(stack, 2)));
      await new Promise((r) => setTimeout(r, 300));
    }
    await waitFor('every event', () => received.length >= published.length || undefined, 30_000);
    await stack.drain();
    expect(received.map((e) => e.id)).toEqual(published);
    // The cap did end connections meanwhile.
    expect(statuses.filter((s) => s === 'open').length).toBeGreaterThan(1);
  });

  it('survives a restart of the whole stack mid-stream (same data and ports): every event once, in order', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'er-live-'));
    dirs.push(dataDir);
    const stack = await start({ dataDir });
    const key = await agentKey(stack);
    const { received } = stream(stack, key);
    await waitFor('the connection', () => openConnections(stack).length === 1 || undefined, 10_000);
    const before = await publish(stack, 3);
    await waitFor('3 events', () => received.length >= 3 || undefined, 15_000);

    const ports = { httpPort: stack.ports.http, wsPort: stack.ports.websocket };
    await stack.stop();
    stacks.splice(stacks.indexOf(stack), 1);
    const again = await start({ dataDir, ...ports });
    // Published before the client is back: the resume brings them; then live ones.
    const after = await publish(again, 3);
    await waitFor('the reconnection', () => openConnections(again).length === 1 || undefined, 20_000);
    const live = await publish(again, 2);
    await waitFor('8 events', () => received.length >= 8 || undefined, 20_000);
    await again.drain();
    expect(received.map((e) => e.id)).toEqual([...before, ...after, ...live]);
  });

  it('a plain WebSocket with ?since= on the URL gets the stored events after it, then resumed', async () => {
    const stack = await start();
    const key = await agentKey(stack);
    const ids = await publish(stack, 3);
    // Their live broadcasts are over before the connection exists: what it gets is the replay.
    await stack.drain();
    const url = `${stack.websocketUrl}?since=${ids[0]}`;
    const messages: { kind: string; id?: string; replay?: boolean; since?: string; more?: boolean }[] = [];
    const ws = new WebSocket(url, ['event-router', key]);
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    await waitFor('the replay', () => messages.some((m) => m.kind === 'resumed') || undefined, 15_000);
    expect(ws.protocol).toBe('event-router');
    ws.close();
    expect(messages.filter((m) => m.replay).map((m) => m.id)).toEqual(ids.slice(1));
    expect(messages.find((m) => m.kind === 'resumed')).toMatchObject({ since: ids[0], more: false });
  });

  it('never logs a key, not even one sent in the query string (the fallback)', async () => {
    const lines: string[] = [];
    const stack = await start({ functionLogs: (_name, line) => lines.push(line), logLevel: 'DEBUG' });
    const key = await agentKey(stack);
    for (const query of [`key=${key}`, `token=${stack.secrets.streamToken}`]) {
      const ws = new WebSocket(`${stack.websocketUrl}?${query}`);
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.close();
    }
    await publish(stack, 1);
    await stack.drain();
    // The functions did log these connections (so the check below looks at real output).
    expect(lines.some((l) => l.includes('websocket route'))).toBe(true);
    const secret = key.slice(-43);
    expect(lines.filter((l) => l.includes(secret) || l.includes(stack.secrets.streamToken))).toEqual([]);
  });

  it('ends the stream with a clear error when the key is revoked, or was never valid', async () => {
    const stack = await start();
    const created = await api(stack, 'POST', '/v1/agents', { name: 'gone', patterns: [MATCH_ALL] });
    const { client } = stream(stack, created.json.key as string);
    await waitFor('the connection', () => openConnections(stack).length === 1 || undefined, 10_000);
    const revoked = await api(stack, 'POST', `/v1/agents/${created.json.agent.id}/revoke`);
    expect(revoked.json.disconnected).toBe(1);
    const iterator = client[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toMatchObject({ code: 'unauthorized', status: 401 });

    const bogus = stream(stack, 'erk_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    await expect(bogus.client[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      message: 'unknown agent key',
    });
  });
});
