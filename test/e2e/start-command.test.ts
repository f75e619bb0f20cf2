/**
 * `npm start` as a user runs it: the banner, the printed curl (sent as printed), a clean Ctrl-C, a clear error when a
 * port is taken. Spawns `tsx local/main.ts` (what `npm start` runs) on random loopback ports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

function start(args: string[]): Started {
  const child = spawn(TSX, ['local/main.ts', '--quiet', ...args], {
    cwd: ROOT,
    env: { ...process.env, FORCE_COLOR: '0' },
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
  it('prints the URLs and a curl that is accepted, then stops cleanly on Ctrl-C', async () => {
    const started = start(['--http-port', '0', '--ws-port', '0']);
    await waitFor(started, 'Ctrl-C to stop.');
    expect(started.output()).toMatch(/Webhook URL \(github\): http:\/\/127\.0\.0\.1:\d+\/webhooks\/github/);
    expect(started.output()).toMatch(/WebSocket URL: +ws:\/\/127\.0\.0\.1:\d+\/live\?token=/);

    const curl = parseCurl(started.output());
    const response = await fetch(curl.url, { method: 'POST', headers: curl.headers, body: curl.body });
    expect(response.status).toBe(202);
    expect(((await response.json()) as { id: string }).id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);

    started.child.kill('SIGINT');
    expect(await started.exited).toBe(0);
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
