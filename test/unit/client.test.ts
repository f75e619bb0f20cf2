/**
 * The client SDK's own logic against a scripted WebSocket (no network): the key as a subprotocol, resume after a
 * reconnect, live events held until the replay ends and duplicates dropped, backoff with full jitter, fatal errors.
 */
import { describe, expect, it } from 'vitest';
import { connectLive, type LiveEvent, LiveStreamError, type WebSocketLike } from '../../client/index';
import { liveEventMessage } from '../../core/live-protocol';

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(text: string) {
    this.onmessage?.({ data: text });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: '' });
  }
}

const ID = (n: number) => `01JDH8ZQ2K${String(n).padStart(16, '0')}`;
const event = (n: number, replay = false) =>
  liveEventMessage(ID(n), JSON.stringify({ id: ID(n), source: 's', type: 't' }), replay);

/** Runs pending timers of zero delay (the SDK schedules reconnects with setTimeout). */
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function setup(extra: Partial<Parameters<typeof connectLive>[0]> = {}) {
  FakeSocket.all = [];
  const received: LiveEvent[] = [];
  const delays: number[] = [];
  const client = connectLive({
    url: 'ws://127.0.0.1:1/live',
    key: 'erk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    WebSocket: FakeSocket,
    backoff: { initialMs: 1, maxMs: 4 },
    random: () => 0.999,
    onEvent: (e) => received.push(e),
    onStatus: (s) => {
      if (s.type === 'reconnecting') delays.push(s.inMs);
    },
    ...extra,
  });
  return { client, received, delays, socket: (i: number) => FakeSocket.all[i]! };
}

describe('client SDK', () => {
  it('offers the key as a subprotocol beside event-router, never in the URL', async () => {
    const { client, socket } = setup({ pattern: { source: ['webhook.github'] } });
    expect(socket(0).protocols).toEqual(['event-router', expect.stringMatching(/^erk_/)]);
    expect(socket(0).url).not.toContain('erk_');
    expect(new URL(socket(0).url).searchParams.get('pattern')).toBe('{"source":["webhook.github"]}');
    await client.close();
  });

  it('resumes from the last id after a drop; live events wait for the replay; each event once, in order', async () => {
    const { client, received, socket } = setup();
    socket(0).open();
    socket(0).receive(event(1));
    socket(0).receive(event(2));
    socket(0).drop();
    await tick(10);
    const second = socket(1);
    second.open();
    expect(JSON.parse(second.sent[0]!)).toEqual({ action: 'resume', since: ID(2) });
    // A live event arrives before the replay: held. The replay repeats 2 (dropped) and brings 3 and 4.
    second.receive(event(5));
    second.receive(event(3, true));
    second.receive(event(4, true));
    second.receive(event(5, true));
    second.receive(JSON.stringify({ kind: 'resumed', since: ID(2), through: ID(5), more: false }));
    second.receive(event(5));
    second.receive(event(6));
    expect(received.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6].map(ID));
    expect(client.lastId).toBe(ID(6));
    await client.close();
  });

  it('asks again while the stack says there is more', async () => {
    const { client, socket } = setup({ since: ID(0) });
    socket(0).open();
    socket(0).receive(JSON.stringify({ kind: 'resumed', since: ID(0), through: ID(9), more: true }));
    expect(socket(0).sent.map((s) => JSON.parse(s).since)).toEqual([ID(0), ID(9)]);
    await client.close();
  });

  it('backs off with full jitter under an exponential ceiling', async () => {
    const { client, delays, socket } = setup();
    socket(0).drop();
    await tick(10);
    socket(1).drop();
    await tick(10);
    socket(2).drop();
    await tick(10);
    socket(3).drop();
    expect(delays).toEqual([0, 1, 3, 3]);
    await client.close();
  });

  it('ends iteration with a LiveStreamError on a fatal error from the stack', async () => {
    const { client, socket } = setup({ since: ID(1) });
    socket(0).open();
    socket(0).receive(JSON.stringify({ kind: 'error', error: 'since_expired', message: 'too old' }));
    const iterator = client[Symbol.asyncIterator]();
    const error = await iterator.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LiveStreamError);
    expect(error).toMatchObject({ code: 'since_expired', message: 'too old' });
  });

  it('replaces a connection before the 2-hour cap at once, and resumes on the new one', async () => {
    const { client, delays, received, socket } = setup({ maxConnectionMs: 5 });
    socket(0).open();
    socket(0).receive(event(1));
    await tick(20);
    expect(delays[0]).toBe(0);
    socket(1).open();
    expect(JSON.parse(socket(1).sent[0]!)).toEqual({ action: 'resume', since: ID(1) });
    expect(received).toHaveLength(1);
    await client.close();
  });
  it('asks a key function for a fresh key (a short-lived token) for every connection, and retries when it fails', async () => {
    const issued = ['eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIyIn0.c2ln'];
    let calls = 0;
    const reasons: string[] = [];
    const { client, socket } = setup({
      key: async () => {
        calls++;
        if (calls === 2) throw new Error('issuer down');
        return issued.shift()!;
      },
      onStatus: (s) => {
        if (s.type === 'reconnecting') reasons.push(s.reason);
      },
    });
    await tick();
    // A JWT is a valid subprotocol token: it travels beside event-router, not in the URL.
    expect(socket(0).protocols).toEqual(['event-router', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln']);
    expect(socket(0).url).not.toContain('eyJ');
    socket(0).open();
    socket(0).drop();
    // The second call fails: no connection is made, and the SDK backs off and asks again.
    await tick(20);
    expect(reasons).toEqual(['', 'no key: issuer down']);
    expect(calls).toBe(3);
    expect(socket(1).protocols).toEqual(['event-router', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIyIn0.c2ln']);
    expect(FakeSocket.all).toHaveLength(2);
    await client.close();
  });

  it('closes cleanly while a key function is still answering', async () => {
    let answer: (key: string) => void = () => {};
    const { client } = setup({ key: () => new Promise<string>((r) => (answer = r)) });
    await client.close();
    answer('late');
    await tick();
    expect(FakeSocket.all).toHaveLength(0);
  });
});
