/**
 * SigV4 for execute-api (local/services/sigv4.ts): what the CLI signs equals what AWS's documented algorithm computes
 * (written out here from https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), and the local
 * HTTP API's check accepts exactly the requests signed with the right key, for this request, within 5 minutes.
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SIGV4_MESSAGES, signRequest, verifyRequest } from '../../local/services/sigv4';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const at = new Date('2026-12-01T12:34:56Z');
const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
/** RFC 3986 encoding, as SigV4 wants it. */
const encode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The documented algorithm, independently of the signer under test. */
function documentedSignature(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: string,
  region: string,
): string {
  const amzDate = '20261201T123456Z';
  const day = '20261201';
  // Non-S3 services encode each path segment twice: once on the wire, once in the canonical request.
  const canonicalPath = url.pathname
    .split('/')
    .map((segment) => encode(segment))
    .join('/');
  const canonicalQuery = [...url.searchParams]
    .map(([k, v]) => [encode(k), encode(v)])
    .sort(([a, x], [b, y]) => (a === b ? (x! < y! ? -1 : 1) : a! < b! ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const all: Record<string, string> = { ...headers, host: url.host, 'x-amz-date': amzDate };
  const names = Object.keys(all)
    .map((n) => n.toLowerCase())
    .sort();
  const canonicalHeaders = names.map((n) => `${n}:${all[n]!.trim()}\n`).join('');
  const canonicalRequest = [
    method,
    canonicalPath,
    canonicalQuery,
    canonicalHeaders,
    names.join(';'),
    sha256(body),
  ].join('\n');
  const scope = `${day}/${region}/execute-api/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), 'execute-api'),
    'aws4_request',
  );
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

const lower = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));

describe('signing', () => {
  it.each([
    [
      'GET',
      'https://abc123.execute-api.eu-west-1.amazonaws.com/v1/events?source=github&limit=3&type=a%20b',
      '',
    ],
    ['POST', 'http://127.0.0.1:3000/v1/events/01J0000000000000000000000A/redeliver', '{"targets":["all"]}'],
    ['GET', 'http://127.0.0.1:3000/v1/events?cursor=ab_c-d.e%3D&limit=1', ''],
  ])('signs %s %s as the documented algorithm does', async (method, raw, body) => {
    const url = new URL(raw);
    const extra: Record<string, string> = body ? { 'content-type': 'application/json' } : {};
    const headers = await signRequest(
      { method, url, headers: extra, ...(body ? { body } : {}) },
      credentials,
      'eu-west-1',
      at,
    );
    const signature = /Signature=([0-9a-f]{64})$/.exec(headers.authorization!)?.[1];
    expect(headers['x-amz-content-sha256']).toBe(sha256(body));
    expect(signature).toBe(
      documentedSignature(method, url, { ...extra, 'x-amz-content-sha256': sha256(body) }, body, 'eu-west-1'),
    );
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261201\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=/,
    );
  });
});

describe('checking', () => {
  const url = new URL('http://127.0.0.1:3000/v1/events?limit=2');
  const body = '{"source":"ops","type":"a.b","data":{}}';
  const signed = async (overrides: { url?: URL; body?: string; at?: Date } = {}) =>
    lower(
      await signRequest(
        {
          method: 'POST',
          url: overrides.url ?? url,
          headers: { 'content-type': 'application/json' },
          body: overrides.body ?? body,
        },
        credentials,
        'us-east-1',
        overrides.at ?? at,
      ),
    );
  const check = (
    headers: Record<string, string>,
    change: { url?: URL; body?: string; now?: number; method?: string } = {},
  ) =>
    verifyRequest(
      {
        method: change.method ?? 'POST',
        url: change.url ?? url,
        headers,
        body: Buffer.from(change.body ?? body),
      },
      [credentials],
      'us-east-1',
      change.now ?? at.getTime() + 1_000,
    );

  it('accepts the request as signed', async () => {
    expect(await check(await signed())).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
  });

  it('accepts a request signed over host and x-amz-date only, as curl --aws-sigv4 signs it', async () => {
    const get = new URL('http://127.0.0.1:3000/v1/targets');
    const signature = documentedSignature('GET', get, {}, '', 'us-east-1');
    const headers = {
      host: get.host,
      'x-amz-date': '20261201T123456Z',
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`,
    };
    expect(await check(headers, { method: 'GET', url: get, body: '' })).toEqual({
      ok: true,
      accessKeyId: 'AKIDEXAMPLE',
    });
    const forged = {
      ...headers,
      authorization: headers.authorization.replace(/.$/, (c) => (c === '0' ? '1' : '0')),
    };
    expect(await check(forged, { method: 'GET', url: get, body: '' })).toEqual({
      ok: false,
      message: SIGV4_MESSAGES.mismatch,
    });
  });

  it('refuses a request without a signature, with an unknown key, or with a malformed header', async () => {
    expect(await check({ host: url.host })).toEqual({ ok: false, message: SIGV4_MESSAGES.missing });
    const headers = await signed();
    const other = { ...headers, authorization: headers.authorization!.replace('AKIDEXAMPLE', 'AKIDOTHER') };
    expect(await check(other)).toEqual({ ok: false, message: SIGV4_MESSAGES.unknownKey });
    expect(await check({ ...headers, authorization: 'Bearer x' })).toEqual({
      ok: false,
      message: SIGV4_MESSAGES.unknownKey,
    });
  });

  it('refuses any change after signing: method, path, query, body, a signed header', async () => {
    const headers = await signed();
    const mismatch = { ok: false, message: SIGV4_MESSAGES.mismatch };
    expect(await check(headers, { method: 'PUT' })).toEqual(mismatch);
    expect(await check(headers, { url: new URL('http://127.0.0.1:3000/v1/replays?limit=2') })).toEqual(
      mismatch,
    );
    expect(await check(headers, { url: new URL('http://127.0.0.1:3000/v1/events?limit=3') })).toEqual(
      mismatch,
    );
    expect(await check(headers, { body: body.replace('a.b', 'a.c') })).toEqual(mismatch);
    expect(await check({ ...headers, 'content-type': 'text/plain' })).toEqual(mismatch);
    // A body hash that matches the changed body does not help: the hash is signed.
    expect(await check({ ...headers, 'x-amz-content-sha256': sha256('{}') }, { body: '{}' })).toEqual(
      mismatch,
    );
  });

  it('refuses a signature for another region or service', async () => {
    const headers = await signed();
    expect(
      await verifyRequest(
        { method: 'POST', url, headers, body: Buffer.from(body) },
        [credentials],
        'eu-west-1',
        at.getTime(),
      ),
    ).toEqual({
      ok: false,
      message: SIGV4_MESSAGES.mismatch,
    });
    const otherService = {
      ...headers,
      authorization: headers.authorization!.replace('/execute-api/', '/s3/'),
    };
    expect((await check(otherService)).ok).toBe(false);
  });

  it('accepts a signature up to 5 minutes old or ahead, and refuses it after', async () => {
    const headers = await signed();
    expect((await check(headers, { now: at.getTime() + 5 * 60_000 })).ok).toBe(true);
    expect((await check(headers, { now: at.getTime() - 5 * 60_000 })).ok).toBe(true);
    const late = await check(headers, { now: at.getTime() + 5 * 60_000 + 1_000 });
    expect(late.ok).toBe(false);
    expect(late.ok ? '' : late.message).toMatch(/^Signature expired: 20261201T123456Z/);
  });
});
