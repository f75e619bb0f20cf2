/**
 * `npm start` as a user runs it: the banner, the printed curl (sent as printed), a clean Ctrl-C, a clear error when a
 * port is taken. Spawns `tsx local/main.ts` (what `npm start` runs) on random loopback ports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function start(args: string[], env: Record<string, string> = {}): Started {
  // A random metrics port unless the test picks one: tests run side by side.
  const metricsPort = args.includes('--metrics-port') ? [] : ['--metrics-port', '0'];
  const child = spawn(TSX, ['local/main.ts', ...args, ...metricsPort], {
    cwd: ROOT,
    env: { ...process.env, FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitFor(started: Started, text: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!started.output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`"${text}" not printed; output:\n${started.output()}`);
    if (started.child.exitCode !== null) throw new Error(`exited early:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The printed curl command, parsed: URL, headers, and the body file. */
function parseCurl(banner: string): { url: string; headers: Record<string, string>; body: Buffer } {
  const command = banner.slice(banner.indexOf('curl '));
  const url = /-X POST '([^']+)'/.exec(command)?.[1];
  const file = /--data-binary @'([^']+)'/.exec(command)?.[1];
  if (!url || !file) throw new Error(`no curl in banner:\n${banner}`);
  const headers: Record<string, string> = {};
  for (const [, name, value] of command.matchAll(/-H '([^:]+): ([^']*)'/g)) headers[name!] = value!;
  return { url, headers, body: readFileSync(file) };
}

describe('npm start', () => {
  it('prints the URLs and a curl that is accepted, logs one line per event, then stops cleanly on Ctrl-C', async () => {
    // A temporary folder of its own: other tests running meanwhile use the system's.
    const tmp = mkdtempSync(path.join(tmpdir(), 'start-command-'));
    const started = start(['--http-port', '0', '--ws-port', '0'], { TMPDIR: tmp });
    await waitFor(started, 'Ctrl-C to stop.');
    expect(started.output()).toMatch(/Webhook URL \(github\): http:\/\/127\.0\.0\.1:\d+\/webhooks\/github/);
    expect(started.output()).toMatch(/WebSocket URL: +ws:\/\/127\.0\.0\.1:\d+\/live\?token=/);
    // Every local AWS endpoint is printed, for the AWS CLI.
    expect(started.output()).toMatch(
      /DynamoDB http:\/\/127\.0\.0\.1:\d+ +SQS and S3 http:\/\/127\.0\.0\.1:\d+/,
    );
    // The example target is on the internet: paused, its events kept in its queue.
    expect(started.output()).toMatch(/Target pr-agent → https:\/\/agent\.example\.com\/webhooks +PAUSED/);
    expect(started.output()).toContain('update-event-source-mapping --uuid local-pr-agent --enabled');

    const curl = parseCurl(started.output());
    const response = await fetch(curl.url, { method: 'POST', headers: curl.headers, body: curl.body });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const unsigned = await fetch(curl.url, {
      method: 'POST',
      headers: { 'x-github-event': 'push' },
      body: '{}',
    });
    expect(unsigned.status).toBe(401);
    // One short human line per accepted or rejected event (not the functions' JSON).
    await waitFor(started, 'rejected  github  401');
    expect(started.output()).toMatch(
      new RegExp(`\\d\\d:\\d\\d:\\d\\d accepted  github  pull_request\\.opened  ${id}`),
    );
    expect(started.output()).toContain(
      'rejected  github  401  invalid_signature: missing x-hub-signature-256 header',
    );
    expect(started.output()).not.toContain('"function_request_id"');
    // The functions' metric lines are counted, never printed; /metrics serves them in Prometheus' format.
    expect(started.output()).not.toContain('{"_aws"');
    const metricsUrl = /Metrics: +(http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(started.output())?.[1];
    expect(metricsUrl).toBeDefined();
    const scraped = await fetch(metricsUrl!);
    expect(scraped.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const rejectedTotal =
      /event_router_webhook_rejected_total\{reason="invalid_signature",service="ingest",source="github"\} 1\n/;
    // The rejection's metric line travels on stdout, its log line on stderr: either may come first (bounded wait).
    let text = await scraped.text();
    for (let i = 0; i < 100 && !rejectedTotal.test(text); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = await (await fetch(metricsUrl!)).text();
    }
    expect(text).toContain('event_router_webhook_accepted_total{service="ingest",source="github"} 1\n');
    expect(text).toMatch(rejectedTotal);

    started.child.kill('SIGINT');
    expect(await started.exited).toBe(0);
    // Nothing of ours is left in the temporary folder: the sample body lives in one file under node_modules/.cache.
    // (`tsx-<uid>` is tsx's compile cache: one folder, reused by every run.)
    expect(readdirSync(tmp).filter((f) => !/^tsx-\d+$/.test(f))).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('prints the raw JSON lines with --log-format json', async () => {
    const started = start(['--http-port', '0', '--ws-port', '0', '--log-format', 'json']);
    await waitFor(started, 'Ctrl-C to stop.');
    const curl = parseCurl(started.output());
    expect((await fetch(curl.url, { method: 'POST', headers: curl.headers, body: curl.body })).status).toBe(
      202,
    );
    await waitFor(started, '"message":"webhook accepted"');
    expect(started.output()).toMatch(/\[ingest\] \{"level":"INFO","message":"webhook accepted"/);
    started.child.kill('SIGINT');
    expect(await started.exited).toBe(0);
  });

  it('does not pause targets outside this machine with --allow-outbound', async () => {
    // Nothing is sent: only the banner is checked (tests never leave the loopback interface).
    const started = start(['--http-port', '0', '--ws-port', '0', '--allow-outbound']);
    await waitFor(started, 'Ctrl-C to stop.');
    expect(started.output()).toMatch(/Target pr-agent → https:\/\/agent\.example\.com\/webhooks\n/);
    expect(started.output()).not.toContain('PAUSED');
    started.child.kill('SIGINT');
    expect(await started.exited).toBe(0);
  });

  it.each([
    [
      ['--config', 'no/such/router.config.ts'],
      /^error: config file not found: .*no\/such\/router\.config\.ts$/m,
    ],
    [['--log-format', 'xml'], /^error: --log-format must be human or json, got "xml"$/m],
    [['--retry-delay', '0'], /^error: --retry-delay must be a positive number of seconds, got "0"$/m],
  ])('refuses %j with a one-line error', async (args, message) => {
    const started = start(['--http-port', '0', '--ws-port', '0', ...args]);
    expect(await started.exited).toBe(1);
    expect(started.output()).toMatch(message);
    expect(started.output()).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('fails with a one-line error naming the port when it is taken', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const started = start(['--http-port', String(port), '--ws-port', '0']);
      expect(await started.exited).toBe(1);
      expect(started.output()).toMatch(new RegExp(`error: .*${port}.*`));
      expect(started.output()).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      server.close();
    }
  });
});
