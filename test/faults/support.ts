/**
 * The fault tier's instruments: a receiver that plays a target (up, down, slow, 410, 429, 500…) and records what it
 * accepted; a sender that behaves like a provider (retries what was not acknowledged, with the same delivery id);
 * and the bookkeeping that proves the promise: accepted = delivered + recorded as failed, nothing lost.
 * Every wait is bounded in count and time; everything listens on loopback only.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { listFailures } from '../../lambdas/shared/event-store';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** What one scenario measured. */
export interface Outcome {
  readonly scenario: string;
  /** Webhooks the router acknowledged (2xx). */
  readonly accepted: number;
  /** Accepted events the target took at least once. */
  readonly delivered: number;
  /** Accepted events not delivered but recorded as failed for good in the event store. */
  readonly failed: number;
  /** Extra times the target took an event it had already taken (same webhook-id). */
  readonly duplicates: number;
  /** Accepted events neither delivered nor recorded as failed. Must be 0. */
  readonly lost: number;
}

export type Answer =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly delayMs?: number }
  /** Reset the connection without answering (a crash or a proxy failure). */
  | 'reset';

/** Decides the answer to the `n`-th request (1-based) carrying one webhook-id. */
export type Behaviour = (webhookId: string, n: number) => Answer;

export interface Receiver {
  readonly url: string;
  /** Every request: its webhook-id and what it was answered (a `reset` counts as 0). */
  readonly requests: { readonly webhookId: string; readonly status: number }[];
  behave(behaviour: Behaviour): void;
  /** Event ids the receiver took (answered 2xx) at least once. */
  taken(): Set<string>;
  /** Extra 2xx answers to webhook-ids already taken. */
  duplicates(): number;
  /** Stops listening: connections are refused until `up()`. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

export async function startReceiver(initial: Behaviour = () => ({ status: 200 })): Promise<Receiver> {
  let behaviour = initial;
  const requests: { webhookId: string; status: number }[] = [];
  const counts = new Map<string, number>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const webhookId = String(req.headers['webhook-id'] ?? '');
      const n = (counts.get(webhookId) ?? 0) + 1;
      counts.set(webhookId, n);
      const answer = behaviour(webhookId, n);
      if (answer === 'reset') {
        requests.push({ webhookId, status: 0 });
        req.socket.destroy();
        return;
      }
      // A slow target still processes the request: it counts as taken even if the router gave up waiting.
      requests.push({ webhookId, status: answer.status });
      const reply = () => {
        if (!res.writableEnded) res.writeHead(answer.status, answer.headers ?? {}).end();
      };
      if (answer.delayMs) setTimeout(reply, answer.delayMs).unref();
      else reply();
    });
  };
  let server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    behave: (next) => {
      behaviour = next;
    },
    taken: () => new Set(requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.webhookId)),
    duplicates: () => {
      const ok = new Map<string, number>();
      for (const r of requests)
        if (r.status >= 200 && r.status < 300) ok.set(r.webhookId, (ok.get(r.webhookId) ?? 0) + 1);
      return [...ok.values()].reduce((sum, n) => sum + n - 1, 0);
    },
    down: close,
    async up() {
      server = createServer(handler);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    stop: close,
  };
}

/** A signed GitHub webhook (the secret the local stack uses), with a delivery id of its own unless given. */
export function githubWebhook(
  secret: string,
  options: { deliveryId?: string; bytes?: number } = {},
): { headers: Record<string, string>; body: string; deliveryId: string } {
  const deliveryId = options.deliveryId ?? randomUUID();
  const payload: Record<string, unknown> = {
    action: 'opened',
    number: 1,
    repository: { full_name: 'octo/faults' },
    nonce: deliveryId,
  };
  if (options.bytes) payload.padding = 'x'.repeat(options.bytes);
  const body = JSON.stringify(payload);
  return {
    deliveryId,
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'pull_request',
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
  };
}

export interface SendResult {
  readonly status: number;
  /** The event id, when acknowledged. */
  readonly id?: string;
  readonly attempts: number;
}

/**
 * POSTs like a provider: a 2xx is an acknowledgement; a 5xx, a 429 or a network error is retried (same request,
 * same delivery id) up to `attempts` times with a short backoff; any other answer is final.
 */
export async function sendLikeAProvider(
  url: string | (() => string),
  request: { headers: Record<string, string>; body: string },
  options: { attempts?: number; backoffMs?: number } = {},
): Promise<SendResult> {
  const attempts = options.attempts ?? 1;
  let status = 0;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await fetch(typeof url === 'function' ? url() : url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(15_000),
      });
      status = res.status;
      const text = await res.text();
      if (status >= 200 && status < 300)
        return { status, id: (JSON.parse(text) as { id: string }).id, attempts: attempt };
      if (status < 500 && status !== 429) return { status, attempts: attempt };
    } catch {
      status = 0;
    }
    if (attempt < attempts) await sleep(Math.min(1_000, (options.backoffMs ?? 250) * attempt));
  }
  return { status, attempts };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits (bounded) until every accepted event was taken by the receiver or recorded as failed for `target`, then
 * returns the tally. Whatever is neither when time runs out is lost.
 */
export async function reconcile(options: {
  scenario: string;
  accepted: ReadonlySet<string>;
  receiver: Receiver;
  doc: DynamoDBDocumentClient;
  tableName: string;
  target: string;
  timeoutMs: number;
  /**
   * Whether the target's queue is empty (nothing visible, in flight or delayed): then no retry is still to come,
   * so the duplicates counted are final.
   */
  queueEmpty?: () => Promise<boolean>;
  /** Extra wait once everything is accounted for, to catch late duplicates. @default 500 */
  settleMs?: number;
}): Promise<Outcome> {
  const deadline = Date.now() + options.timeoutMs;
  const tally = async () => {
    const taken = options.receiver.taken();
    const failures = new Set(
      (await listFailures(options.doc, options.tableName, options.target, 1000)).map((f) => f.eventId),
    );
    let delivered = 0;
    let failed = 0;
    for (const id of options.accepted) {
      if (taken.has(id)) delivered++;
      else if (failures.has(id)) failed++;
    }
    return { delivered, failed, lost: options.accepted.size - delivered - failed };
  };
  let result = await tally();
  while ((result.lost > 0 || !(await (options.queueEmpty?.() ?? true))) && Date.now() < deadline) {
    await sleep(200);
    result = await tally();
  }
  await sleep(options.settleMs ?? 500);
  result = await tally();
  return {
    scenario: options.scenario,
    accepted: options.accepted.size,
    ...result,
    duplicates: options.receiver.duplicates(),
  };
}

/** Runs `count` sends with at most `parallel` in flight; returns the results in order. */
export async function sendMany<T>(
  count: number,
  parallel: number,
  send: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await send(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return results;
}
