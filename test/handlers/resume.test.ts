/**
 * Resume: stored events after an id, in order, matching the subscription — read from the event store (readAfter),
 * and sent over a real WebSocket by the `resume` action, then `resumed`; live events continue after. A `since`
 * older than retention is refused with a clear error, at `$connect` and on the action.
 */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { monotonicFactory, ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Envelope } from '../../core/contracts';
import { parseLiveMessage } from '../../core/live-protocol';
import { type ConnectionDeps, resumeAfterConnect } from '../../lambdas/connections/connections';
import { type ResumeDeps, readAfter } from '../../lambdas/connections/resume';
import { putEvent } from '../../lambdas/shared/event-store';
import type { LocalWebSocketApi } from '../../local/services/websocket-api';
import { type LocalAws, startLocalAws } from '../support/aws-local';
import { startConnectionsApi } from '../support/live-socket';

const TOKEN = 'admin-token';
const DAY_MS = 86_400_000;
let aws: LocalAws;
let api: LocalWebSocketApi;
let resumeDeps: ResumeDeps;
const newId = monotonicFactory();
/** Ids of the stored events, oldest first: two days ago, yesterday (across shards), today. */
const stored: { id: string; type: string }[] = [];

async function store(type: string, atMs: number, extra = '') {
  const id = newId(atMs);
  const envelope: Envelope = {
    id,
    source: 'github',
    provider: 'github',
    type,
    deliveryId: null,
    providerTime: null,
    receivedAt: new Date(atMs).toISOString(),
    subject: null,
    headers: {},
    data: {},
  };
  // The stored text keeps its digits: a resume sends it verbatim.
  const json = JSON.stringify(envelope).replace('"data":{}', `"data":{"n":9007199254740993${extra}}`);
  await putEvent(aws.doc, aws.tableName, { envelope, json }, Math.floor(atMs / 1000) + 7 * 86_400);
  stored.push({ id, type });
}

beforeAll(async () => {
  aws = await startLocalAws();
  const now = Date.now();
  await store('issues.opened', now - 2 * DAY_MS);
  for (let i = 0; i < 12; i++)
    await store(i % 3 === 0 ? 'issues.opened' : 'pull_request.opened', now - DAY_MS + i * 1000);
  await store('pull_request.closed', now - 60_000);
  resumeDeps = { doc: aws.doc, eventsTable: aws.tableName, retentionDays: 7, now: Date.now };

  let deps: ConnectionDeps | undefined;
  let management: ApiGatewayManagementApiClient;
  ({ api, management } = await startConnectionsApi(() => deps!));
  deps = {
    doc: aws.doc,
    accessTokens: async () => [TOKEN],
    management,
    tableName: aws.liveTableName,
    connectionTtlSeconds: 7200,
    now: Date.now,
    eventsTable: aws.tableName,
    retentionDays: 7,
    // As the handler does with an asynchronous invoke: after $connect has answered (here: on a later tick).
    startResume: async (connectionId, since) => {
      setImmediate(() => void resumeAfterConnect(deps!, connectionId, since));
    },
  };
});
afterAll(async () => {
  await api.stop();
  await aws.stop();
});

const ALL = { source: [{ prefix: 'webhook.' }] };

describe('readAfter', () => {
  it('reads every stored event after the id, across days and shards, in id order', async () => {
    const first = stored[0]!.id;
    const read = await readAfter(resumeDeps, first, ALL, 100);
    expect(read.ok && read.events.map((e) => e.id)).toEqual(stored.slice(1).map((s) => s.id));
    expect(read).toMatchObject({ more: false, through: stored.at(-1)!.id });
  });

  it('pages: `more` and `through` continue exactly where the last page stopped', async () => {
    const ids: string[] = [];
    let since = stored[0]!.id;
    for (let page = 0; page < 20; page++) {
      const read = await readAfter(resumeDeps, since, ALL, 5);
      if (!read.ok) throw new Error(read.message);
      ids.push(...read.events.map((e) => e.id));
      since = read.through;
      if (!read.more) break;
    }
    expect(ids).toEqual(stored.slice(1).map((s) => s.id));
  });

  it('keeps only the events the subscription matches, with their stored text', async () => {
    const read = await readAfter(resumeDeps, stored[0]!.id, { 'detail-type': ['issues.opened'] }, 100);
    if (!read.ok) throw new Error(read.message);
    expect(read.events.map((e) => e.id)).toEqual(
      stored
        .slice(1)
        .filter((s) => s.type === 'issues.opened')
        .map((s) => s.id),
    );
    expect(read.events[0]?.json).toContain('"n":9007199254740993');
  });

  it('refuses a since older than retention, or not an id, and says why', async () => {
    const old = ulid(Date.now() - 8 * DAY_MS);
    expect(await readAfter(resumeDeps, old, ALL, 10)).toMatchObject({
      ok: false,
      error: 'since_expired',
      message: expect.stringMatching(/older than the 7-day retention/),
    });
    expect(await readAfter(resumeDeps, 'nope', ALL, 10)).toMatchObject({ ok: false, error: 'invalid_since' });
  });
});

function open(query: Record<string, string>): Promise<{ ws: WebSocket; texts: () => Promise<string> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${api.url}?${new URLSearchParams(query)}`);
    const queue: string[] = [];
    const waiters: ((t: string) => void)[] = [];
    ws.on('message', (data) => {
      const waiter = waiters.shift();
      if (waiter) waiter(String(data));
      else queue.push(String(data));
    });
    ws.once('open', () =>
      resolve({
        ws,
        texts: () =>
          queue.length > 0
            ? Promise.resolve(queue.shift()!)
            : new Promise((res) => {
                waiters.push(res);
              }),
      }),
    );
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      res.on('end', () => reject(new Error(`${res.statusCode} ${body}`)));
    });
    ws.once('error', reject);
  });
}

describe('the resume action over a WebSocket', () => {
  it('sends the matching stored events in order, each with its id and its stored text, then resumed', async () => {
    const pattern = { 'detail-type': [{ prefix: 'pull_request.' }] };
    const client = await open({ token: TOKEN, pattern: JSON.stringify(pattern) });
    client.ws.send(JSON.stringify({ action: 'resume', since: stored[0]!.id }));
    const expected = stored.slice(1).filter((s) => s.type.startsWith('pull_request.'));
    for (const e of expected) {
      const text = await client.texts();
      const message = parseLiveMessage(text);
      expect(message).toMatchObject({ kind: 'event', id: e.id, replay: true });
      expect(text).toContain('"n":9007199254740993');
    }
    expect(JSON.parse(await client.texts())).toEqual({
      kind: 'resumed',
      since: stored[0]!.id,
      through: stored.at(-1)!.id,
      more: false,
    });
    client.ws.close();
  });

  it('replays on its own when since is on the URL, once the handshake has completed', async () => {
    const client = await open({ token: TOKEN, since: stored.at(-3)!.id });
    for (const e of stored.slice(-2))
      expect(parseLiveMessage(await client.texts())).toMatchObject({ id: e.id });
    expect(JSON.parse(await client.texts())).toMatchObject({ kind: 'resumed', more: false });
    client.ws.close();
  });

  it('refuses an expired since at $connect (410) and on the action', async () => {
    const old = ulid(Date.now() - 30 * DAY_MS);
    await expect(open({ token: TOKEN, since: old })).rejects.toThrow(/^410 .*since_expired/);
    await expect(open({ token: TOKEN, since: 'x' })).rejects.toThrow(/^400 .*invalid_since/);
    const client = await open({ token: TOKEN });
    client.ws.send(JSON.stringify({ action: 'resume', since: old }));
    expect(JSON.parse(await client.texts())).toMatchObject({ kind: 'error', error: 'since_expired' });
    client.ws.close();
  });
});
