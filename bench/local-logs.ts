/**
 * Log bytes per webhook from a real local run: the local stack (`npm start`'s, the deployed bundles), the reference
 * config with its HTTP target on 127.0.0.1, reference webhooks posted through the HTTP API, and every line each
 * function writes captured until all were delivered. Lambda's own START/END/REPORT lines do not exist locally; the
 * cost model adds them.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signGithubWebhook } from '../local/sample-webhook';
import { startLocalStack } from '../local/stack';
import { REFERENCE_SECRET, referenceBody, referenceConfig } from './deployed';

export interface FunctionLogs {
  /** Bytes per webhook, newline included. */
  readonly bytes: number;
  /** Lines per webhook. */
  readonly lines: number;
  /** Of which Powertools logger lines (EMF metric lines excluded). */
  readonly loggerLines: number;
}

/** Bounded: at most this long for all webhooks to reach the target. */
const DELIVERY_WAIT_MS = 30_000;

export async function measureLocalLogs(
  webhooks: number,
): Promise<{ ingest: FunctionLogs; delivery: FunctionLogs; broadcast: FunctionLogs }> {
  let received = 0;
  const target = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200, { 'content-length': '0' }).end();
    });
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;
  const seen = new Map<string, { bytes: number; lines: number; loggerLines: number }>();
  let counting = false;
  const stack = await startLocalStack({
    config: referenceConfig(url),
    secretEnv: { EVENT_ROUTER_SECRET_BENCH_GITHUB: REFERENCE_SECRET },
    sweepIntervalSeconds: null,
    logLevel: 'INFO',
    log: () => {},
    functionLogs: (name, line) => {
      if (!counting) return;
      const s = seen.get(name) ?? { bytes: 0, lines: 0, loggerLines: 0 };
      s.bytes += Buffer.byteLength(line) + 1;
      s.lines++;
      if (line.includes('"level"')) s.loggerLines++;
      seen.set(name, s);
    },
  });
  try {
    if (stack.secrets.source('github') !== REFERENCE_SECRET) throw new Error('bench secret not picked up');
    const body = referenceBody();
    const post = async () => {
      const signed = signGithubWebhook(REFERENCE_SECRET, 'pull_request', body);
      const res = await fetch(stack.webhookUrl('github'), {
        method: 'POST',
        headers: signed.headers,
        body: signed.body,
      });
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`the local stack answered ${res.status}`);
    };
    // One first, uncounted: cold starts log nothing extra, but the first secret read and connection do.
    await post();
    const deadline = Date.now() + DELIVERY_WAIT_MS;
    while (received < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await stack.drain();
    counting = true;
    const before = received;
    for (let i = 0; i < webhooks; i++) await post();
    while (received < before + webhooks && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await stack.drain();
    // Log lines travel from the worker threads after the answers; give them a moment.
    await new Promise((r) => setTimeout(r, 500));
    counting = false;
    if (received < before + webhooks) throw new Error(`only ${received - before} of ${webhooks} delivered`);
    const per = (prefix: string): FunctionLogs => {
      const s = [...seen.entries()]
        .filter(([name]) => name === prefix || name.startsWith(`${prefix}-`))
        .reduce(
          (a, [, b]) => ({
            bytes: a.bytes + b.bytes,
            lines: a.lines + b.lines,
            loggerLines: a.loggerLines + b.loggerLines,
          }),
          { bytes: 0, lines: 0, loggerLines: 0 },
        );
      return { bytes: s.bytes / webhooks, lines: s.lines / webhooks, loggerLines: s.loggerLines / webhooks };
    };
    return { ingest: per('ingest'), delivery: per('delivery'), broadcast: per('broadcast') };
  } finally {
    await stack.stop();
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
  }
}
