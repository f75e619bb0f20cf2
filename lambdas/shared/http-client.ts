/**
 * The delivery HTTP client: one POST to a target, guarded against SSRF. Used instead of global fetch because fetch
 * (undici) resolves the name itself and offers no hook to check the address it connects to.
 *
 * - The host is resolved once, by us; every address of the answer is classified (core/network.ts) and the request is
 *   refused if any is not public, unless the target allows private networks. The socket then connects through a
 *   `lookup` that only hands back those checked addresses, so a second DNS answer (DNS rebinding: public at check
 *   time, 127.0.0.1 at connect time) can never be used. Literal IP hosts are checked without DNS.
 * - TLS still verifies the certificate against the host name: the request's host stays the name (SNI and
 *   checkServerIdentity use it); only the address lookup is replaced.
 * - Redirects are never followed (node:http does not follow them): a 3xx is the answer.
 * - One deadline covers resolution, connect, the request and the response head; on expiry the promise rejects with
 *   an Error named `TimeoutError` (what the caller already treats as a timeout for AbortSignal.timeout).
 * - At most the first RESPONSE_EXCERPT_BYTES of the body are read; then the socket is destroyed, so a target that
 *   answers with megabytes costs nothing.
 * - No keep-alive agent: a pooled socket would be shared across calls whose policy (allowPrivateNetwork) may differ,
 *   and each connection must go through the checked lookup. A delivery batch is small; a new connection per POST is
 *   an acceptable price.
 */
import { promises as dns } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { addressProblem, classifyAddress } from '../../core/network';

/** Bytes of the response body kept for the delivery log. */
export const RESPONSE_EXCERPT_BYTES = 1024;

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has. Injectable for tests. */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export interface GuardedPostInit {
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Total budget for resolve + connect + request + response head, in milliseconds. */
  readonly timeoutMs: number;
  /** Aborts the request; rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Allow non-public addresses (loopback, private, link-local, ...). */
  readonly allowPrivateNetwork: boolean;
  /** Defaults to the system resolver (`dns.promises.lookup`, all addresses, in resolver order). */
  readonly resolve?: Resolver;
}

export interface GuardedResponse {
  readonly status: number;
  /** Response headers, names lower-cased; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  /** The first RESPONSE_EXCERPT_BYTES of the body as UTF-8 (invalid bytes replaced); '' when there is none. */
  readonly excerpt: string;
}

/**
 * The request was refused before anything was sent: the target is not allowed (address not public, scheme, URL).
 * Permanent — retrying cannot help until the configuration changes, so the caller fails the delivery at once.
 */
export class BlockedAddressError extends Error {
  override readonly name = 'BlockedAddressError';
  constructor(
    /** Why, e.g. "hooks.example.com resolves to 10.0.0.5, a private address". */
    readonly reason: string,
    /** The refused address, when an address was refused. */
    readonly address?: string,
  ) {
    super(reason);
  }
}

/** The system resolver, as the OS would resolve the name (/etc/hosts, search domains), every address. */
export const systemResolver: Resolver = async (host) => {
  const found = await dns.lookup(host, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/** POSTs `init.body` to `url` under the SSRF guard. See the module comment for the guarantees. */
export async function postGuarded(url: string, init: GuardedPostInit): Promise<GuardedResponse> {
  const target = parseTarget(url);
  // One internal signal for both the deadline and the caller's signal; its reason is what the promise rejects with.
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(timeoutError(init.timeoutMs)), Math.max(0, init.timeoutMs));
  const onCallerAbort = () => stop.abort(abortReason(init.signal));
  if (init.signal?.aborted) onCallerAbort();
  else init.signal?.addEventListener('abort', onCallerAbort, { once: true });
  try {
    if (stop.signal.aborted) throw stop.signal.reason;
    const addresses = await checkedAddresses(target, init, stop.signal);
    return await send(target, addresses, init, stop.signal);
  } finally {
    clearTimeout(timer);
    init.signal?.removeEventListener('abort', onCallerAbort);
  }
}

interface Target {
  readonly url: URL;
  /** The host name, or the literal address without brackets. */
  readonly host: string;
  readonly literal: boolean;
}

function parseTarget(url: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BlockedAddressError('the target URL is not a valid URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new BlockedAddressError(`scheme ${parsed.protocol} is not allowed`);
  }
  // Refused rather than silently dropped (node:http would not send them): config validation refuses them too.
  if (parsed.username || parsed.password)
    throw new BlockedAddressError('the target URL contains credentials');
  const bracketed = parsed.hostname.startsWith('[');
  const host = bracketed ? parsed.hostname.slice(1, -1) : parsed.hostname;
  // WHATWG URL has already normalised numeric IPv4 forms (2130706433, 0x7f.1) to dotted decimal.
  const literal = bracketed || classifyAddress(host) !== 'invalid';
  return { url: parsed, host, literal };
}

async function checkedAddresses(
  { host, literal }: Target,
  init: GuardedPostInit,
  signal: AbortSignal,
): Promise<ResolvedAddress[]> {
  const check = (address: string): ResolvedAddress => {
    const cls = classifyAddress(address);
    if (cls === 'invalid')
      throw new BlockedAddressError(`${host}: ${address} is not a valid IP address`, address);
    if (cls !== 'public' && !init.allowPrivateNetwork) {
      const where = address === host ? '' : `${host} resolves to `;
      throw new BlockedAddressError(
        `${where}${addressProblem(address)}; the target does not allow private networks`,
        address,
      );
    }
    // The family is read from the address itself, not trusted from the resolver.
    return { address, family: address.includes(':') ? 6 : 4 };
  };
  if (literal) return [check(host)];
  const found = await untilAborted((init.resolve ?? systemResolver)(host), signal);
  if (found.length === 0) {
    throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND', hostname: host });
  }
  // Every address is checked, not just the first: the socket may try any of them (happy eyeballs).
  return found.map(({ address }) => check(address));
}

function send(
  target: Target,
  addresses: readonly ResolvedAddress[],
  init: GuardedPostInit,
  signal: AbortSignal,
): Promise<GuardedResponse> {
  return new Promise<GuardedResponse>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    // Hands the socket only the addresses checked above; never resolves again. net calls it with `all: true`
    // when it races address families (autoSelectFamily, the default since Node 20), otherwise wants one address.
    const lookup: LookupFunction = (_hostname, options, callback) => {
      const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
      const usable = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
      const first = usable[0];
      if (!first) {
        callback(
          Object.assign(new Error(`${target.host} has no IPv${family} address`), { code: 'ENOTFOUND' }),
          '',
        );
      } else if (options.all) {
        callback(
          null,
          usable.map(({ address, family: f }) => ({ address, family: f })),
        );
      } else {
        callback(null, first.address, first.family);
      }
    };

    const { url } = target;
    const request = (url.protocol === 'https:' ? https : http).request({
      protocol: url.protocol,
      hostname: target.host,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) },
      // A fresh, non-pooled connection per call, always through `lookup` (see the module comment).
      agent: false,
      lookup,
      // SNI and certificate verification use the URL's host name (tls checks `servername || host`), even if the
      // caller's headers carry another Host. Literal IPs get no SNI (RFC 6066 §3) and are verified as IPs.
      // rejectUnauthorized is left at its default (true).
      ...(url.protocol === 'https:' && !target.literal ? { servername: target.host } : {}),
    });
    let settled = false;
    const settle = () => {
      settled = true;
      signal.removeEventListener('abort', stopped);
    };
    const fail = (error: unknown) => {
      if (settled) return;
      settle();
      request.destroy();
      reject(error);
    };
    // Before the response head the deadline fails the request; after it, it only cuts the excerpt short (the
    // status is the answer — a 2xx must not be retried because its body was slow).
    let onStop = () => fail(signal.reason);
    function stopped() {
      onStop();
    }
    signal.addEventListener('abort', stopped, { once: true });

    request.on('error', fail);
    request.on('response', (response) => {
      if (settled) {
        response.destroy();
        return;
      }
      const status = response.statusCode ?? 0;
      const headers = lowerCaseHeaders(response.headers);
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (complete: boolean) => {
        if (settled) return;
        settle();
        // Drops the rest of the body and the socket without reading them.
        response.destroy();
        request.destroy();
        resolve({ status, headers, excerpt: decodeExcerpt(Buffer.concat(chunks), complete) });
      };
      onStop = () => done(false);
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= RESPONSE_EXCERPT_BYTES) done(false);
      });
      response.on('end', () => done(true));
      // A target that resets after answering: the status is what counts.
      response.on('error', () => done(false));
      response.on('close', () => done(false));
    });
    request.end(init.body);
  });
}

function decodeExcerpt(bytes: Buffer, complete: boolean): string {
  const truncated = !complete || bytes.length > RESPONSE_EXCERPT_BYTES;
  // `stream: true` holds back a multi-byte character cut at the limit instead of turning it into U+FFFD; real
  // invalid bytes still become U+FFFD.
  return new TextDecoder('utf-8').decode(bytes.subarray(0, RESPONSE_EXCERPT_BYTES), { stream: truncated });
}

function lowerCaseHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function timeoutError(ms: number): Error {
  const error = new Error(`no answer within ${ms} ms`);
  error.name = 'TimeoutError';
  return error;
}

function abortReason(signal: AbortSignal | undefined): unknown {
  if (signal?.reason instanceof Error) return signal.reason;
  const error = new Error('the request was aborted', { cause: signal?.reason });
  error.name = 'AbortError';
  return error;
}

/** Rejects with the signal's reason as soon as it aborts (the resolver itself cannot be cancelled). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
