/**
 * `event-router/client`: the live stream for agents. ESM, typed, no AWS SDK; runs in browsers and in Node ≥ 20
 * (pass `WebSocket` from the `ws` package where there is no global one).
 *
 *   const stream = connectLive({ url, key, pattern: { 'detail-type': [{ prefix: 'pull_request.' }] } });
 *   for await (const { id, envelope } of stream) { … }
 *
 * It keeps the stream whole across whatever ends a connection: API Gateway's 10-minute idle limit (a ping every
 * 5 minutes), its 2-hour cap (a fresh connection before it), a 410 or a network loss (reconnect with exponential
 * backoff and full jitter). Each new connection resumes from the last event id seen: the stack replays the stored
 * events after it that match the subscription, in order, while live events wait; an event that comes both ways at
 * the switch is delivered once.
 */
import { LIVE_SUBPROTOCOL } from '../core/agents';
import type { Envelope } from '../core/contracts';
import { parseLiveMessage } from '../core/live-protocol';

export type { Envelope } from '../core/contracts';

/**
 * A handler the client assigns, its parameter checked as a method's is (both ways): a socket whose handlers take a
 * richer event (`ws`'s MessageEvent, the DOM's) fits as it is.
 */
type Handler<E> = { handle(event: E): void }['handle'];

/** The subset of the WHATWG WebSocket both browsers and `ws` provide. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface LiveEvent {
  /** The event id: what a resume starts after. */
  readonly id: string;
  readonly envelope: Envelope;
  /** The envelope's JSON text as stored (parse it with a lossless parser to keep integers beyond 2^53). */
  readonly text: string;
}

export type LiveStatus =
  | { readonly type: 'connecting'; readonly attempt: number }
  | { readonly type: 'open' }
  | { readonly type: 'resumed'; readonly since: string; readonly through: string }
  | { readonly type: 'reconnecting'; readonly inMs: number; readonly reason: string }
  | { readonly type: 'closed' };

export interface LiveOptions {
  /** `wss://…/live` (the stack's WebSocket URL). */
  readonly url: string;
  /**
   * An agent key (`erk_…`), a JWT from the stack's OIDC issuer, or the admin token. A function is asked again for
   * every connection (each reconnect, each replacement before the 2-hour cap): the way to present a fresh short-lived
   * token. Should it fail, the SDK tries again with backoff.
   */
  readonly key: string | (() => string | Promise<string>);
  /** EventBridge pattern over the bus event; default: everything the key allows. */
  readonly pattern?: Record<string, unknown>;
  /** Resume after this event id (e.g. the last one a previous run handled). */
  readonly since?: string;
  /** @default globalThis.WebSocket */
  readonly WebSocket?: WebSocketConstructor;
  /** A ping this often keeps the connection inside API Gateway's 10-minute idle limit. @default 300_000 */
  readonly keepaliveMs?: number;
  /** A connection is replaced after this long, before API Gateway's 2-hour cap ends it. @default 6_600_000 */
  readonly maxConnectionMs?: number;
  /** Reconnect delays: full jitter over an exponential ceiling. @default { initialMs: 500, maxMs: 30_000 } */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly onEvent?: (event: LiveEvent) => void;
  readonly onStatus?: (status: LiveStatus) => void;
  /** @default Math.random */
  readonly random?: () => number;
}

/**
 * The stack refused the stream for good (a wrong or revoked key, an invalid or expired token, a pattern outside the
 * allowance, an expired since).
 */
export class LiveStreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'LiveStreamError';
  }
}

/** Ids remembered to drop the duplicates of a resume's switch to live. */
const SEEN_LIMIT = 10_000;
/** Handshake answers that are final: retrying cannot help. */
const FATAL_STATUS = new Set([400, 401, 403, 404, 410]);
/** Server errors (messages) that end the stream. */
const FATAL_ERRORS = new Set(['since_expired', 'invalid_since', 'pattern_not_allowed', 'invalid_pattern']);
/** A subprotocol token (RFC 7230 tchar): the key can travel in Sec-WebSocket-Protocol. */
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export class LiveClient implements AsyncIterable<LiveEvent> {
  private socket: WebSocketLike | undefined;
  private cursor: string | undefined;
  private resuming = false;
  private readonly held: LiveEvent[] = [];
  private readonly seen = new Set<string>();
  private readonly queue: LiveEvent[] = [];
  private readonly waiters: ((r: IteratorResult<LiveEvent>) => void)[] = [];
  private failure: Error | undefined;
  private closing = false;
  private attempt = 0;
  private timers: ReturnType<typeof setTimeout>[] = [];
  private closedResolve: (() => void) | undefined;
  readonly closed: Promise<void>;

  constructor(private readonly options: LiveOptions) {
    this.cursor = options.since;
    this.closed = new Promise((resolve) => {
      this.closedResolve = resolve;
    });
    this.open();
  }

  /** The id to resume from: the last event delivered in order. */
  get lastId(): string | undefined {
    return this.cursor;
  }

  /** Closes the stream: no reconnect; iteration ends once delivered events are consumed. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.clearTimers();
      const s = this.socket;
      if (s && s.readyState <= 1) s.close(1000, 'client closed');
      else this.finish();
    }
    await this.closed;
  }

  [Symbol.asyncIterator](): AsyncIterator<LiveEvent> {
    return {
      next: () => {
        const event = this.queue.shift();
        if (event) return Promise.resolve({ value: event, done: false });
        if (this.failure) return Promise.reject(this.failure);
        if (this.closing && !this.socket) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiters.push((r) => (this.failure && r.done ? reject(this.failure) : resolve(r)));
        });
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  private status(status: LiveStatus) {
    this.options.onStatus?.(status);
  }

  private clearTimers() {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  private open() {
    const Ctor = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) {
      this.fail(new LiveStreamError('no_websocket', 'no WebSocket: pass { WebSocket } from the ws package'));
      return;
    }
    this.status({ type: 'connecting', attempt: this.attempt });
    const { key } = this.options;
    if (typeof key === 'string') {
      this.connect(Ctor, key);
      return;
    }
    // A fresh credential for this connection (a short-lived token), asked for every time.
    Promise.resolve()
      .then(key)
      .then((value) => {
        if (this.closing) return;
        if (typeof value !== 'string' || value === '') throw new TypeError('the key function gave no key');
        this.connect(Ctor, value);
      })
      .catch((error: unknown) => {
        if (!this.closing) this.retry(`no key: ${error instanceof Error ? error.message : String(error)}`);
      });
  }

  private connect(Ctor: WebSocketConstructor, key: string) {
    const url = new URL(this.options.url);
    if (this.options.pattern) url.searchParams.set('pattern', JSON.stringify(this.options.pattern));
    // Not `since` on the URL (the stack would replay on its own): the SDK asks with the resume action once open,
    // and knows when the replay ends.
    // The key as a subprotocol (browsers cannot set headers); the query only when it is not a valid token.
    const viaProtocol = TOKEN_RE.test(key);
    if (!viaProtocol) url.searchParams.set('key', key);
    const socket = new Ctor(url.toString(), viaProtocol ? [LIVE_SUBPROTOCOL, key] : undefined);
    this.socket = socket;
    let refusal: { status: number; code: string; message: string } | undefined;
    // `ws` reports a refused handshake's status and body (browsers do not expose them).
    const emitter = socket as unknown as {
      on?: (
        e: string,
        f: (
          req: { destroy?: () => void },
          res: { statusCode?: number; on(e: string, f: (c?: unknown) => void): void },
        ) => void,
      ) => void;
    };
    // With a listener, `ws` leaves the refused request to it: read the body, then drop the request.
    emitter.on?.('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (c) => {
        body += String(c);
      });
      res.on('end', () => {
        let parsed: { error?: string; message?: string } = {};
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          // Not JSON: the status says enough.
        }
        refusal = {
          status: res.statusCode ?? 0,
          code: parsed.error ?? 'refused',
          message: parsed.message ?? `the live stream answered ${res.statusCode}`,
        };
        req.destroy?.();
        this.onClosed(socket, refusal);
      });
    });
    let keepalive: ReturnType<typeof setInterval> | undefined;
    let lifetime: ReturnType<typeof setTimeout> | undefined;
    socket.onopen = () => {
      this.status({ type: 'open' });
      keepalive = setInterval(
        () => socket.readyState === 1 && socket.send('{"action":"ping"}'),
        this.options.keepaliveMs ?? 300_000,
      );
      // Before API Gateway's 2-hour cap: a fresh connection resumes where this one stops.
      lifetime = setTimeout(() => socket.close(4000, 'replaced'), this.options.maxConnectionMs ?? 6_600_000);
      if (this.cursor) this.resume();
      else this.attempt = 0;
    };
    socket.onmessage = (event) => this.onMessage(String(event.data));
    socket.onerror = () => {
      // The close event follows, with the reconnect.
    };
    socket.onclose = (event) => {
      clearInterval(keepalive);
      clearTimeout(lifetime);
      // A refused handshake was handled when its body arrived (onClosed ignores a socket it has let go).
      this.onClosed(socket, undefined, event.reason);
    };
  }

  private resume() {
    this.resuming = true;
    this.socket?.send(JSON.stringify({ action: 'resume', since: this.cursor }));
  }

  private onMessage(text: string) {
    const message = parseLiveMessage(text);
    if (message.kind === 'event') {
      let envelope: Envelope;
      try {
        envelope = JSON.parse(message.eventText) as Envelope;
      } catch {
        return;
      }
      const event: LiveEvent = { id: message.id, envelope, text: message.eventText };
      if (message.replay || !this.resuming) this.deliver(event, true);
      // Live events wait while a resume runs, so that the application sees ids in order at the switch.
      else this.held.push(event);
    } else if (message.kind === 'resumed') {
      if (this.cursor === undefined || message.through > this.cursor) this.cursor = message.through;
      if (message.more) {
        this.resume();
        return;
      }
      this.resuming = false;
      this.attempt = 0;
      this.status({ type: 'resumed', since: message.since, through: message.through });
      const held = this.held.splice(0).sort((a, b) => (a.id < b.id ? -1 : 1));
      for (const event of held) this.deliver(event, true);
    } else if (message.kind === 'error' && FATAL_ERRORS.has(message.error)) {
      this.fail(new LiveStreamError(message.error, message.message));
    }
  }

  private deliver(event: LiveEvent, advance: boolean) {
    if (this.seen.has(event.id)) return;
    this.seen.add(event.id);
    if (this.seen.size > SEEN_LIMIT) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    if (advance && (this.cursor === undefined || event.id > this.cursor)) this.cursor = event.id;
    this.options.onEvent?.(event);
    const waiter = this.waiters.shift();
    if (waiter) waiter({ value: event, done: false });
    else this.queue.push(event);
  }

  private onClosed(
    socket: WebSocketLike,
    refusal: { status: number; code: string; message: string } | undefined,
    reason = '',
  ) {
    if (this.socket !== socket) return;
    this.socket = undefined;
    // Events held for a resume that did not finish come again with the next one.
    this.held.length = 0;
    this.resuming = false;
    if (this.closing || this.failure) return this.finish();
    if (refusal && FATAL_STATUS.has(refusal.status)) {
      return this.fail(new LiveStreamError(refusal.code, refusal.message, refusal.status));
    }
    this.retry(refusal ? `${refusal.status} ${refusal.message}` : reason, reason === 'replaced');
  }

  /** Opens a new connection: at once when replacing one before the 2-hour cap, else after a backoff with full jitter. */
  private retry(reason: string, replaced = false) {
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 500, maxMs: 30_000 };
    const ceiling = Math.min(maxMs, initialMs * 2 ** this.attempt);
    const inMs = replaced ? 0 : Math.floor((this.options.random ?? Math.random)() * ceiling);
    if (!replaced) this.attempt++;
    this.status({ type: 'reconnecting', inMs, reason });
    this.timers.push(setTimeout(() => !this.closing && this.open(), inMs));
  }

  private fail(error: Error) {
    this.failure = error;
    this.closing = true;
    this.clearTimers();
    const s = this.socket;
    if (s && s.readyState <= 1) s.close(1000);
    else this.finish();
  }

  private finish() {
    this.socket = undefined;
    this.clearTimers();
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
    this.status({ type: 'closed' });
    this.closedResolve?.();
  }
}

/** Opens a live stream (see LiveClient). */
export function connectLive(options: LiveOptions): LiveClient {
  return new LiveClient(options);
}
