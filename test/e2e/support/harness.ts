/**
 * Shared e2e harness: a local stack with a recording HTTP target, raw HTTP requests (duplicate headers, any method,
 * raw bytes), event-table reads and bounded waits. Every wait is bounded; nothing here asserts on elapsed time.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import type { RouterConfigInput } from '../../../core/config';
import type { Envelope } from '../../../core/contracts';
import { eventFromItem, getDedupe, getEvent } from '../../../lambdas/shared/event-store';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../../local/stack';
import { waitFor } from '../../local/helpers';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export { waitFor };

/** A filter every event matches (all sources are `webhook.<name>`). */
export const MATCH_ALL = { source: [{ prefix: 'webhook.' }] };

/** The target every e2e suite routes all events to; startE2E points its URL at the recording server. */
export const RECORDING_TARGET = {
  name: 'all',
  kind: 'http' as const,
  url: 'http://127.0.0.1:9/replaced',
  // The recording server listens on 127.0.0.1 over http.
  allowInsecure: true,
  allowPrivateNetwork: true,
  filter: MATCH_ALL,
  concurrency: 2,
  timeoutSeconds: 5,
  retry: { maxAttempts: 2 },
};

export interface Delivery {
  readonly headers: IncomingHttpHeaders;
  /** Raw body text as the target received it. */
  readonly body: string;
  /** The parsed envelope (the delivery body). */
  readonly envelope: Envelope;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON, or null. */
  readonly json: { id?: string; duplicate?: boolean; error?: string; message?: string } | null;
}

export interface RawRequest {
  readonly method?: string;
  /** Path and query, e.g. `/webhooks/github?x=1`. */
  readonly path: string;
  /** Array values are sent as repeated header lines (the HTTP API joins them with ","). */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: string | Buffer;
}

export interface StoredItem {
  readonly pk: string;
  readonly id: string;
  /** The stored envelope JSON, exactly as written by ingest. */
  readonly envelope: string;
}

export interface E2E {
  readonly stack: LocalStack;
  readonly doc: DynamoDBDocumentClient;
  readonly deliveries: Delivery[];
  /** Sends a raw HTTP request to the local HTTP API. */
  send(request: RawRequest): Promise<RawResponse>;
  /** POSTs to the source's URL, `/webhooks/<source>/<its URL token>` (an unknown source gets a made-up token). */
  post(
    source: string,
    request: { headers: Readonly<Record<string, string | readonly string[]>>; body: string | Buffer },
    query?: string,
  ): Promise<RawResponse>;
  /** Every EVENT# item of the table. */
  events(): Promise<StoredItem[]>;
  /** The stored event of a source and dedupe key (delivery id), parsed, or undefined. */
  stored(source: string, dedupeKey: string): Promise<{ item: StoredItem; envelope: Envelope } | undefined>;
  deliveriesOf(eventId: string): Delivery[];
  /** Waits (bounded) for the first delivery of an event. */
  waitForDelivery(eventId: string, timeoutMs?: number): Promise<Delivery>;
  /** Waits until the bus and async invocations are idle, then a little longer for SQS pollers (bounded). */
  settle(ms?: number): Promise<void>;
  /** Opens a WebSocket with the stream token and an optional pattern; collects parsed messages. */
  connect(pattern?: unknown): Promise<LiveClient>;
  stop(): Promise<void>;
}

export interface LiveClient {
  readonly ws: WebSocket;
  /** Parsed messages with their size in bytes. */
  readonly messages: { bytes: number; message: { kind: string; event?: Envelope } }[];
}

export async function startE2E(
  config: RouterConfigInput,
  options: Omit<LocalStackOptions, 'config' | 'targetUrls'> = {},
): Promise<E2E> {
  const deliveries: Delivery[] = [];
  const target: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        deliveries.push({ headers: req.headers, body, envelope: JSON.parse(body) as Envelope });
      } catch {
        deliveries.push({ headers: req.headers, body, envelope: {} as Envelope });
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;
  const targetUrls = Object.fromEntries((config.targets ?? []).map((t) => [t.name, targetUrl]));

  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      config,
      targetUrls,
      sweepIntervalSeconds: null,
      pollWaitSeconds: 1,
      functionLogs: false,
      log: () => {},
      concurrency: { ingest: 2, connections: 1, broadcast: 1 },
      ...options,
    });
  } catch (error) {
    await new Promise((resolve) => target.close(resolve));
    throw error;
  }
  const doc = DynamoDBDocumentClient.from(stack.dynamodb.client);
  const sockets: WebSocket[] = [];
  const httpPort = stack.ports.http;

  const send = (req: RawRequest): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      const body = req.body === undefined ? undefined : Buffer.from(req.body);
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(req.headers ?? {}))
        headers[name] = typeof value === 'string' ? value : [...value];
      const r = httpRequest(
        {
          host: '127.0.0.1',
          port: httpPort,
          method: req.method ?? 'POST',
          path: req.path,
          headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
          timeout: 20_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: RawResponse['json'] = null;
            try {
              const parsed: unknown = JSON.parse(text);
              if (parsed && typeof parsed === 'object') json = parsed as RawResponse['json'];
            } catch {
              // not JSON
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
          res.on('error', reject);
        },
      );
      r.on('timeout', () => r.destroy(new Error(`request to ${req.path} timed out`)));
      r.on('error', reject);
      r.end(body);
    });

  const events = async (): Promise<StoredItem[]> => {
    const items: StoredItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({
          TableName: stack.tableName,
          FilterExpression: 'begins_with(pk, :p)',
          ExpressionAttributeValues: { ':p': 'EVENT#' },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? [])
        items.push({ pk: String(item.pk), id: String(item.sk), envelope: eventFromItem(item).json });
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };

  const tokenOf = (source: string) =>
    stack.config.sources.some((s) => s.name === source)
      ? stack.secrets.urlToken(source)
      : 'NoSuchTokenNoSuchToken00000000';
  const keyOf = (id: string) => `EVENT#${id}`;
  const deliveriesOf = (eventId: string) => deliveries.filter((d) => d.headers['webhook-id'] === eventId);

  return {
    stack,
    doc,
    deliveries,
    send,
    post: (source, request, query = '') =>
      send({
        path: `/webhooks/${encodeURIComponent(source)}/${tokenOf(source)}${query}`,
        headers: request.headers,
        body: request.body,
      }),
    events,
    async stored(source, dedupeKey) {
      const dedupe = await getDedupe(doc, stack.tableName, { source, dedupeKey }, Date.now());
      const event = dedupe && (await getEvent(doc, stack.tableName, dedupe.eventId));
      if (!event) return undefined;
      return {
        item: { pk: keyOf(event.envelope.id), id: event.envelope.id, envelope: event.json },
        envelope: event.envelope,
      };
    },
    deliveriesOf,
    waitForDelivery: (eventId, timeoutMs = 15_000) =>
      waitFor(`delivery of ${eventId}`, () => deliveriesOf(eventId)[0], timeoutMs),
    async settle(ms = 1_500) {
      await stack.drain();
      await new Promise((r) => setTimeout(r, ms));
      await stack.drain();
    },
    connect(pattern) {
      const query = `token=${encodeURIComponent(stack.secrets.streamToken)}${
        pattern === undefined ? '' : `&pattern=${encodeURIComponent(JSON.stringify(pattern))}`
      }`;
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`${stack.websocketUrl}?${query}`);
        sockets.push(ws);
        const messages: LiveClient['messages'] = [];
        ws.on('message', (data: Buffer) =>
          messages.push({ bytes: data.length, message: JSON.parse(String(data)) }),
        );
        const timer = setTimeout(() => reject(new Error('WebSocket did not open in 10 s')), 10_000);
        ws.once('open', () => {
          clearTimeout(timer);
          resolve({ ws, messages });
        });
        ws.once('unexpected-response', (_req, res) =>
          reject(new Error(`WebSocket refused: ${res.statusCode}`)),
        );
        ws.once('error', reject);
      });
    },
    async stop() {
      for (const s of sockets) s.terminate();
      await stack.stop();
      target.closeAllConnections();
      await new Promise((resolve) => target.close(resolve));
    },
  };
}
