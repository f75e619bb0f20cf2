/**
 * `tail` and `forward`: live events over the stack's WebSocket API, through the client SDK (client/) — the same
 * stream agents use, filtered by an EventBridge pattern on the server. The SDK keeps it whole: it reconnects when a
 * connection ends (API Gateway's 2-hour cap and 10-minute idle limit, a network loss) and resumes from the last
 * event id, so events published meanwhile are not missed; `--since` starts from an earlier id.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { connectLive, type LiveStatus, LiveStreamError } from '../client/index';
import type { Envelope } from '../core/contracts';
import { signingKey, standardWebhookHeaders } from '../lambdas/shared/standard-webhooks';
import { shortTime } from './format';

export interface LiveOptions {
  readonly url: string;
  /** An agent key, or the stack's admin token. */
  readonly token: string;
  readonly pattern?: Record<string, unknown>;
  /** Resume after this event id. */
  readonly since?: string;
  /** Stop after this many events. @default unbounded */
  readonly count?: number;
  /** Ends the stream (Ctrl-C). */
  readonly signal: AbortSignal;
  readonly onEvent: (event: { readonly text: string; readonly envelope: Envelope }) => Promise<void> | void;
  readonly onStatus: (message: string) => void;
}

const describeStatus = (status: LiveStatus, options: LiveOptions): string | undefined => {
  switch (status.type) {
    case 'open':
      return `connected to ${options.url}${options.pattern ? ` with pattern ${JSON.stringify(options.pattern)}` : ''}`;
    case 'reconnecting':
      return `connection closed${status.reason ? ` (${status.reason})` : ''}; reconnecting in ${Math.round(status.inMs / 100) / 10} s`;
    case 'resumed':
      return `resumed after ${status.since}`;
    default:
      return undefined;
  }
};

/**
 * Streams events until `count` events arrived or `signal` aborts; resolves with the number seen. Rejects when the
 * stack refuses the stream for good (a wrong or revoked key, a pattern outside the key's allowance): that is not
 * retried.
 */
export async function streamEvents(options: LiveOptions): Promise<number> {
  const client = connectLive({
    url: options.url,
    key: options.token,
    ...(options.pattern ? { pattern: options.pattern } : {}),
    ...(options.since ? { since: options.since } : {}),
    WebSocket,
    onStatus: (status) => {
      const message = describeStatus(status, options);
      if (message) options.onStatus(message);
    },
  });
  const abort = () => void client.close();
  options.signal.addEventListener('abort', abort, { once: true });
  if (options.signal.aborted) abort();
  let seen = 0;
  try {
    if (options.count === 0) return 0;
    for await (const event of client) {
      seen++;
      await options.onEvent({ text: event.text, envelope: event.envelope });
      if (options.count !== undefined && seen >= options.count) break;
    }
  } catch (error) {
    if (error instanceof LiveStreamError) {
      options.onStatus(`the live stream refused: ${error.message}`);
      throw new Error(`the live stream refused the connection: ${error.message}`);
    }
    throw error;
  } finally {
    options.signal.removeEventListener('abort', abort);
    await client.close();
  }
  return seen;
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
