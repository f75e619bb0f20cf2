/**
 * The management API over real HTTP, signed with SigV4 as the CLI signs (or not, or wrongly: the credential tests),
 * and a local receiver whose answer a test switches (an outage, then recovery).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RouterConfigInput } from '../../../core/config';
import { localCredentials } from '../../../local/services/aws-env';
import { type Credentials, signRequest } from '../../../local/services/sigv4';

export interface ApiAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field; schemas check their shape.
  readonly json: any;
}

export interface SignOptions {
  /** @default the local credentials */
  readonly credentials?: Credentials;
  /** false: no signature at all. */
  readonly sign?: boolean;
  /** Sign as of this time (an expired signature). */
  readonly signedAt?: Date;
  /** Change the body after signing (a tampered request). */
  readonly tamper?: (body: string) => string;
  readonly region?: string;
}

export async function callApi(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  options: SignOptions = {},
): Promise<ApiAnswer> {
  const url = new URL(`${baseUrl}${path}`);
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const base: Record<string, string> = text === undefined ? {} : { 'content-type': 'application/json' };
  const headers =
    options.sign === false
      ? base
      : await signRequest(
          { method, url, headers: base, body: text },
          options.credentials ?? localCredentials,
          options.region ?? 'us-east-1',
          options.signedAt,
        );
  const sent = text !== undefined && options.tamper ? options.tamper(text) : text;
  const response = await fetch(url, { method, headers, ...(sent === undefined ? {} : { body: sent }) });
  const answer = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(answer);
  } catch {
    // not JSON
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    text: answer,
    json,
  };
}

export interface Receiver {
  readonly url: string;
  /** Every request, in arrival order. */
  readonly received: { headers: IncomingHttpHeaders; body: string; id: string; status: number }[];
  /** The status it answers from now on. */
  answer(status: number): void;
  /** How many requests carried this event id and were answered 2xx. */
  deliveredCount(id: string): number;
  stop(): Promise<void>;
}

/** An HTTP target on 127.0.0.1 that records each delivery (its `webhook-id` is the event id). */
export async function startReceiver(): Promise<Receiver> {
  let status = 200;
  const received: Receiver['received'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body, id: String(req.headers['webhook-id'] ?? ''), status });
      res
        .writeHead(status, { 'content-type': 'text/plain' })
        .end(status >= 300 ? 'down for maintenance' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    answer: (next) => {
      status = next;
    },
    deliveredCount: (id) => received.filter((r) => r.id === id && r.status < 300).length,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The two targets the operator suites route to: `all` takes every webhook (and internal events), `flaky` only the
 * given source's and fails while a test says so (two attempts, no breaker: every event is tried twice). Their URLs
 * are replaced by receivers (`targetUrls`).
 */
export function operatorTargets(flakySource: string): RouterConfigInput['targets'] {
  const local = { allowInsecure: true, allowPrivateNetwork: true } as const;
  return [
    {
      name: 'all',
      kind: 'http',
      url: 'http://127.0.0.1:9/all',
      ...local,
      filter: { source: [{ prefix: 'webhook.' }] },
    },
    {
      name: 'flaky',
      kind: 'http',
      url: 'http://127.0.0.1:9/flaky',
      ...local,
      filter: { source: [`webhook.${flakySource}`] },
      retry: { maxAttempts: 2 },
      circuitBreaker: false,
    },
  ];
}
