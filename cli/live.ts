/**
 * `tail` and `forward`: live events over the stack's WebSocket API (the same stream agents use), filtered by an
 * EventBridge pattern on the server. The connection is renewed when it closes (API Gateway ends every WebSocket
 * after 2 hours, and after 10 idle minutes: a ping every 5 minutes keeps it open); events published while it is
 * being renewed are not seen (the live stream keeps no history — `events list` does).
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import type { Envelope } from '../core/contracts';
import { parseLiveMessage } from '../core/live-protocol';
import { signingKey, standardWebhookHeaders } from '../lambdas/shared/standard-webhooks';
import { shortTime } from './format';

const PING_EVERY_MS = 5 * 60_000;

export interface LiveOptions {
  readonly url: string;
  readonly token: string;
  readonly pattern?: Record<string, unknown>;
  /** Stop after this many events. @default unbounded */
  readonly count?: number;
  /** Ends the stream (Ctrl-C). */
  readonly signal: AbortSignal;
  readonly onEvent: (event: { readonly text: string; readonly envelope: Envelope }) => Promise<void> | void;
  readonly onStatus: (message: string) => void;
}

/**
 * Streams events until `count` events arrived or `signal` aborts; resolves with the number seen. Rejects when the
 * stack refuses the connection (a wrong token, a bad pattern): that is not retried.
 */
export async function streamEvents(options: LiveOptions): Promise<number> {
  let seen = 0;
  let delayMs = 500;
  while (!options.signal.aborted && (options.count === undefined || seen < options.count)) {
    const outcome = await connectOnce(options, {
      seen: () => seen,
      add: () => {
        seen++;
      },
    });
    if (outcome === 'refused') throw new Error('the live stream refused the connection');
    if (outcome === 'done' || options.signal.aborted) break;
    options.onStatus(`connection closed; reconnecting in ${Math.round(delayMs / 100) / 10} s`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(30_000, delayMs * 2);
  }
  return seen;
}

function connectOnce(
  options: LiveOptions,
  counter: { seen(): number; add(): void },
): Promise<'closed' | 'done' | 'refused'> {
  const enough = () => options.count !== undefined && counter.seen() >= options.count;
  const url = new URL(options.url);
  url.searchParams.set('token', options.token);
  if (options.pattern) url.searchParams.set('pattern', JSON.stringify(options.pattern));
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let opened = false;
    let chain = Promise.resolve();
    const ping = setInterval(() => ws.send(JSON.stringify({ action: 'ping' })), PING_EVERY_MS);
    const abort = () => ws.close(1000);
    options.signal.addEventListener('abort', abort, { once: true });
    const finish = (outcome: 'closed' | 'done' | 'refused') => {
      clearInterval(ping);
      options.signal.removeEventListener('abort', abort);
      // Events already received are handled before the stream ends.
      chain.then(() => resolve(outcome), reject);
    };
    ws.on('open', () => {
      opened = true;
      options.onStatus(
        `connected to ${options.url}${options.pattern ? ` with pattern ${JSON.stringify(options.pattern)}` : ''}`,
      );
    });
    ws.on('unexpected-response', (_req, res) => {
      options.onStatus(`the live stream answered ${res.statusCode} (a wrong token, or a pattern it refuses)`);
      finish('refused');
    });
    ws.on('message', (data) => {
      const message = parseLiveMessage(data.toString());
      if (message.kind !== 'event') {
        if (message.kind === 'error') options.onStatus(`live stream: ${message.message}`);
        return;
      }
      if (enough()) return;
      counter.add();
      // The envelope's own text: the event exactly as stored (large integers keep their digits).
      const { eventText } = message;
      const envelope = JSON.parse(eventText) as Envelope;
      chain = chain.then(() => options.onEvent({ text: eventText, envelope }));
      if (enough()) chain = chain.then(() => ws.close(1000));
    });
    ws.on('error', (error) => {
      if (!opened) options.onStatus(`cannot connect: ${error.message}`);
    });
    ws.on('close', () => {
      const done = options.signal.aborted || enough();
      finish(done ? 'done' : 'closed');
    });
  });
}

/** One line per event: time, source, type, id, subject. */
export const eventLine = (e: Envelope) =>
  `${shortTime(e.receivedAt)}  ${e.source}  ${e.type}  ${e.id}${e.subject ? `  ${e.subject}` : ''}`;

export interface Forwarder {
  readonly secret: string;
  forward(event: {
    text: string;
    envelope: Envelope;
  }): Promise<{ status: number | null; error?: string; attempts: number }>;
}

/**
 * POSTs each event to a local URL as a target delivery is made: the envelope as the body, signed per Standard
 * Webhooks (`webhook-id` = the event id) with `secret` (a fresh one when none is given). A failed POST is tried
 * again, 3 times in all, then reported and skipped: forwarding is for development, the stack keeps the events.
 */
export function createForwarder(to: string, secret?: string, fetchImpl: typeof fetch = fetch): Forwarder {
  const key = secret ?? `whsec_${randomBytes(24).toString('base64')}`;
  const keys = [signingKey(key)];
  return {
    secret: key,
    async forward({ text, envelope }) {
      let last: { status: number | null; error?: string } = { status: null };
      for (let attempt = 1; attempt <= 3; attempt++) {
        const headers = {
          'content-type': 'application/json',
          'user-agent': 'event-router-forward',
          ...standardWebhookHeaders(keys, envelope.id, Math.floor(Date.now() / 1000), text),
        };
        try {
          const response = await fetchImpl(to, {
            method: 'POST',
            headers,
            body: text,
            signal: AbortSignal.timeout(10_000),
          });
          await response.arrayBuffer();
          if (response.ok) return { status: response.status, attempts: attempt };
          last = { status: response.status };
        } catch (error) {
          last = {
            status: null,
            error: (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message,
          };
        }
        if (attempt < 3) await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
      }
      return { ...last, attempts: 3 };
    },
  };
}
