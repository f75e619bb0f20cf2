/**
 * The guarded delivery client against local servers on 127.0.0.1. Host names are resolved only by the injected
 * resolvers (they end in .test, RFC 6761, so nothing would answer them anyway); nothing leaves the machine.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BlockedAddressError,
  type GuardedPostInit,
  postGuarded,
  RESPONSE_EXCERPT_BYTES,
  type ResolvedAddress,
  type Resolver,
} from '../../lambdas/shared/http-client';

interface Seen {
  readonly connections: { remote: string | undefined; local: string | undefined }[];
  readonly requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** An HTTP server on 127.0.0.1 that records every connection and request, then hands the request to `answer`. */
async function serve(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void = ok) {
  const seen: Seen = { connections: [], requests: [] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      answer(req, res);
    });
  });
  server.on('connection', (socket) =>
    seen.connections.push({ remote: socket.remoteAddress, local: socket.localAddress }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  cleanups.push(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  return { port, seen, server };
}

function ok(_req: http.IncomingMessage, res: http.ServerResponse) {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Answer-Id': 'a1' });
  res.end('thanks');
}

function hang() {
  // Never answers; the cleanup closes the connection.
}

const base: GuardedPostInit = {
  headers: { 'content-type': 'application/json', 'webhook-id': 'evt_1' },
  body: '{"hello":"wörld"}',
  timeoutMs: 5_000,
  allowPrivateNetwork: false,
};

/** A resolver that answers `answers[n]` on its n-th call (the last one after that) and counts its calls. */
function resolver(...answers: string[][]): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (host: string): Promise<ResolvedAddress[]> => {
    calls.push(host);
    const answer = answers[Math.min(calls.length, answers.length) - 1] ?? [];
    return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

const never: Resolver = () => new Promise(() => undefined);

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('postGuarded: address policy', () => {
  it('refuses a loopback literal without allowPrivateNetwork; the server sees no connection, DNS is not asked', async () => {
    const { port, seen } = await serve();
    const dns = resolver(['127.0.0.1']);
    const error = await rejection(postGuarded(`http://127.0.0.1:${port}/hook`, { ...base, resolve: dns }));
    expect(error).toBeInstanceOf(BlockedAddressError);
    expect(error.name).toBe('BlockedAddressError');
    expect(error.message).toBe('127.0.0.1 is a loopback address; the target does not allow private networks');
    expect((error as BlockedAddressError).address).toBe('127.0.0.1');
    expect(dns.calls).toEqual([]);
    expect(seen.connections).toEqual([]);
  });

  it('refuses normalised literal forms too ([::1], 2130706433, [::ffff:7f00:1])', async () => {
    for (const url of ['http://[::1]:9/', 'http://2130706433:9/', 'http://[::ffff:127.0.0.1]:9/']) {
      await expect(postGuarded(url, base)).rejects.toBeInstanceOf(BlockedAddressError);
    }
  });

  it('delivers to a loopback literal with allowPrivateNetwork: POST, headers, body, lower-cased answer headers', async () => {
    const { port, seen } = await serve();
    const answer = await postGuarded(`http://127.0.0.1:${port}/hook?x=1`, {
      ...base,
      allowPrivateNetwork: true,
    });
    expect(answer).toEqual({
      status: 200,
      headers: expect.objectContaining({ 'content-type': 'text/plain', 'x-answer-id': 'a1' }),
      excerpt: 'thanks',
    });
    expect(seen.requests).toHaveLength(1);
    const [request] = seen.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/hook?x=1', body: base.body });
    expect(request?.headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': 'evt_1',
      'content-length': String(Buffer.byteLength(base.body)),
      host: `127.0.0.1:${port}`,
    });
  });

  it('refuses a name that resolves to a private address; no connection is made', async () => {
    const { port, seen } = await serve();
    const dns = resolver(['127.0.0.1']);
    const error = await rejection(postGuarded(`http://hooks.test:${port}/`, { ...base, resolve: dns }));
    expect(error).toBeInstanceOf(BlockedAddressError);
    expect(error.message).toBe(
      'hooks.test resolves to 127.0.0.1 is a loopback address; the target does not allow private networks',
    );
    expect(dns.calls).toEqual(['hooks.test']);
    expect(seen.connections).toEqual([]);
  });

  it('refuses when any resolved address is not public, whatever the order', async () => {
    for (const answer of [
      ['8.8.8.8', '10.0.0.1'],
      ['10.0.0.1', '8.8.8.8'],
      ['2606:4700:4700::1111', 'fd00:ec2::254'],
      ['8.8.8.8', '::ffff:169.254.169.254'],
    ]) {
      const error = await rejection(
        postGuarded('https://mixed.test/', { ...base, resolve: resolver(answer) }),
      );
      expect(error).toBeInstanceOf(BlockedAddressError);
      expect((error as BlockedAddressError).address).toBe(answer.find((a) => !/^(8\.|2606)/.test(a)));
    }
  });

  it('refuses a resolver answer that is not an IP address, even with allowPrivateNetwork', async () => {
    const error = await rejection(
      postGuarded('https://odd.test/', { ...base, allowPrivateNetwork: true, resolve: resolver(['0x7f.1']) }),
    );
    expect(error).toBeInstanceOf(BlockedAddressError);
    expect(error.message).toMatch(/not a valid IP address/);
  });

  it('fails like a network error (retryable) when the name has no address', async () => {
    const error = await rejection(postGuarded('https://empty.test/', { ...base, resolve: resolver([]) }));
    expect(error).not.toBeInstanceOf(BlockedAddressError);
    expect(error).toMatchObject({ code: 'ENOTFOUND' });
  });

  it('refuses other schemes and credentials before anything else', async () => {
    const dns = resolver(['8.8.8.8']);
    await expect(postGuarded('ftp://files.test/', { ...base, resolve: dns })).rejects.toBeInstanceOf(
      BlockedAddressError,
    );
    await expect(postGuarded('https://u:p@creds.test/', { ...base, resolve: dns })).rejects.toBeInstanceOf(
      BlockedAddressError,
    );
    await expect(postGuarded('not a url', { ...base, resolve: dns })).rejects.toBeInstanceOf(
      BlockedAddressError,
    );
    expect(dns.calls).toEqual([]);
  });
});

describe('postGuarded: DNS rebinding', () => {
  it('resolves once and connects to the address it checked, never to a later answer', async () => {
    const { port, seen } = await serve();
    // A rebinding resolver: 127.0.0.1 first, then ::1 (where nothing listens) for anyone who asks again.
    const dns = resolver(['127.0.0.1'], ['::1']);
    const answer = await postGuarded(`http://rebind.test:${port}/`, {
      ...base,
      allowPrivateNetwork: true,
      resolve: dns,
    });
    expect(answer.status).toBe(200);
    expect(dns.calls).toEqual(['rebind.test']);
    expect(seen.connections).toEqual([{ remote: '127.0.0.1', local: '127.0.0.1' }]);
    // The name, not the address, is what the request names (and what TLS would verify).
    expect(seen.requests[0]?.headers.host).toBe(`rebind.test:${port}`);
  });

  it('lets the socket try every checked address (family racing), still only those', async () => {
    const { port, seen } = await serve();
    const dns = resolver(['::1', '127.0.0.1'], ['10.9.9.9']);
    const answer = await postGuarded(`http://dual.test:${port}/`, {
      ...base,
      allowPrivateNetwork: true,
      resolve: dns,
    });
    expect(answer.status).toBe(200);
    expect(dns.calls).toHaveLength(1);
    expect(seen.connections.map((c) => c.remote)).toEqual(['127.0.0.1']);
  });

  it('keeps the host name for TLS: SNI carries the name, not the address it connects to', async () => {
    const names: string[] = [];
    // No certificate at all: the handshake fails after SNI, which is all this test needs to see.
    const server = tls.createServer({
      SNICallback: (name, callback) => {
        names.push(name);
        callback(new Error('no certificate here'), undefined);
      },
    });
    server.on('tlsClientError', () => undefined);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(async () => {
      server.close();
      await once(server, 'close');
    });
    const { port } = server.address() as AddressInfo;
    const error = await rejection(
      postGuarded(`https://secure.test:${port}/`, {
        ...base,
        // A Host header from the target's configured headers must not change what TLS verifies.
        headers: { ...base.headers, host: 'other.test' },
        allowPrivateNetwork: true,
        resolve: resolver(['127.0.0.1']),
      }),
    );
    expect(error).not.toBeInstanceOf(BlockedAddressError);
    expect(names).toEqual(['secure.test']);
  });
});

describe('postGuarded: answers', () => {
  it('returns a redirect as the answer and never follows it', async () => {
    const { port, seen } = await serve((req, res) => {
      if (req.url === '/hook') {
        res.writeHead(302, { Location: `http://127.0.0.1:${port}/elsewhere` });
        res.end();
      } else ok(req, res);
    });
    const answer = await postGuarded(`http://127.0.0.1:${port}/hook`, { ...base, allowPrivateNetwork: true });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe(`http://127.0.0.1:${port}/elsewhere`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.requests.map((r) => r.url)).toEqual(['/hook']);
  });

  it('joins repeated answer headers', async () => {
    const { port } = await serve((_req, res) => {
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.end();
    });
    const answer = await postGuarded(`http://127.0.0.1:${port}/`, { ...base, allowPrivateNetwork: true });
    expect(answer.headers['set-cookie']).toBe('a=1, b=2');
    expect(answer.excerpt).toBe('');
  });

  it('keeps only the first 1024 bytes of a 5 MB answer and does not read the rest', async () => {
    let serverSocketClosed: Promise<unknown> = Promise.resolve();
    const { port } = await serve((req, res) => {
      // Not once(): the client's reset also emits 'error' (ECONNRESET) on this socket, which once() would throw.
      serverSocketClosed = new Promise((resolve) => req.socket.on('close', resolve));
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      // 5 MB that never ends: a client waiting for the end, or reading it all, would not come back.
      res.write(Buffer.alloc(5 * 1024 * 1024, 'x'));
    });
    const started = Date.now();
    const answer = await postGuarded(`http://127.0.0.1:${port}/`, { ...base, allowPrivateNetwork: true });
    expect(answer.status).toBe(200);
    expect(answer.excerpt).toBe('x'.repeat(RESPONSE_EXCERPT_BYTES));
    expect(Date.now() - started).toBeLessThan(2_000);
    // The client hung up instead of draining the body.
    await serverSocketClosed;
  }, 10_000);

  it('holds back a character cut at the limit and replaces invalid bytes', async () => {
    const bodies = [
      Buffer.concat([Buffer.alloc(1023, 'a'), Buffer.from('€ and more')]),
      Buffer.from([0x61, 0xff, 0x62]),
    ];
    const { port } = await serve((_req, res) => res.end(bodies.shift()));
    const url = `http://127.0.0.1:${port}/`;
    const cut = await postGuarded(url, { ...base, allowPrivateNetwork: true });
    expect(cut.excerpt).toBe('a'.repeat(1023));
    const invalid = await postGuarded(url, { ...base, allowPrivateNetwork: true });
    expect(invalid.excerpt).toBe('a\uFFFDb');
  });

  it('keeps the status when the body is cut short by the deadline after the head arrived', async () => {
    const { port } = await serve((_req, res) => {
      res.writeHead(200);
      res.write('partial');
    });
    const answer = await postGuarded(`http://127.0.0.1:${port}/`, {
      ...base,
      allowPrivateNetwork: true,
      timeoutMs: 300,
    });
    expect(answer).toMatchObject({ status: 200, excerpt: 'partial' });
  });
});

describe('postGuarded: time limits and errors', () => {
  it('rejects with a TimeoutError when the target does not answer in time', async () => {
    const { port, seen } = await serve(hang);
    const started = Date.now();
    const error = await rejection(
      postGuarded(`http://127.0.0.1:${port}/`, { ...base, allowPrivateNetwork: true, timeoutMs: 200 }),
    );
    expect(error.name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(seen.requests).toHaveLength(1);
  });

  it('counts name resolution in the deadline', async () => {
    const error = await rejection(
      postGuarded('https://slow-dns.test/', { ...base, timeoutMs: 100, resolve: never }),
    );
    expect(error.name).toBe('TimeoutError');
  });

  it('stops when the caller aborts, with the signal reason', async () => {
    const { port } = await serve(hang);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await rejection(
      postGuarded(`http://127.0.0.1:${port}/`, {
        ...base,
        allowPrivateNetwork: true,
        signal: controller.signal,
      }),
    );
    expect(error.name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('passes a timeout signal reason through (what the delivery code already recognises)', async () => {
    const { port } = await serve(hang);
    const error = await rejection(
      postGuarded(`http://127.0.0.1:${port}/`, {
        ...base,
        allowPrivateNetwork: true,
        signal: AbortSignal.timeout(100),
      }),
    );
    expect(error.name).toBe('TimeoutError');
  });

  it('does not connect at all when the signal is already aborted', async () => {
    const { port, seen } = await serve();
    const dns = resolver(['127.0.0.1']);
    const error = await rejection(
      postGuarded(`http://aborted.test:${port}/`, {
        ...base,
        allowPrivateNetwork: true,
        signal: AbortSignal.abort(),
        resolve: dns,
      }),
    );
    expect(error.name).toBe('AbortError');
    expect(dns.calls).toEqual([]);
    expect(seen.connections).toEqual([]);
  });

  it('reports a refused connection as an ordinary (retryable) network error', async () => {
    const { port, server } = await serve();
    server.close();
    await once(server, 'close');
    const error = await rejection(
      postGuarded(`http://127.0.0.1:${port}/`, { ...base, allowPrivateNetwork: true }),
    );
    expect(error).not.toBeInstanceOf(BlockedAddressError);
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
  });
});
