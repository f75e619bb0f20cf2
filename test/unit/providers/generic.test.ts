import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { GenericHmacConfig } from '../../../core/config';
import { keptHeadersFor } from '../../../lambdas/ingest/providers';
import { compileSignatureFormat, genericAdapter } from '../../../lambdas/ingest/providers/generic';
import { expectEnvelopeReady, expectRejected, NOW_MS, NOW_S, request, sourceFor, verify } from './helpers';

const SECRET = 'generic-secret';
const body = '{"type":"order.shipped","id":"o-1"}';
const mac = (alg: string, content: string, encoding: 'hex' | 'base64' = 'hex', secret = SECRET) =>
  createHmac(alg, secret).update(content).digest(encoding);

const check = (
  generic: Partial<GenericHmacConfig>,
  headers: Record<string, string>,
  payload = body,
  secrets = [SECRET],
) => verify('generic', request(headers, payload), secrets, { source: sourceFor('generic', generic) });

describe('generic verify', () => {
  it('checks a prefixed hex signature over the body (GitHub-like)', () => {
    const config = { signatureHeader: 'X-Signature', signatureFormat: 'sha256=${signature}' };
    expect(check(config, { 'x-signature': `sha256=${mac('sha256', body)}` })).toEqual({ ok: true });
    expectRejected(check(config, { 'x-signature': mac('sha256', body) }));
    expectRejected(check(config, { 'x-signature': `sha256=${mac('sha256', `${body} `)}` }));
    expectRejected(
      check(config, { 'x-signature': `sha256=${mac('sha256', body)}, sha256=${mac('sha256', body)}` }),
    );
  });

  it('takes the timestamp from the signature header when the format has one (Stripe-like)', () => {
    const config = {
      signatureHeader: 'x-sig',
      signatureFormat: 't=${timestamp},v1=${signature}',
      signedContent: '${timestamp}.${body}',
    };
    const good = `t=${NOW_S},v1=${mac('sha256', `${NOW_S}.${body}`)}`;
    expect(check(config, { 'x-sig': good }).ok).toBe(true);
    const stale = `t=${NOW_S - 301},v1=${mac('sha256', `${NOW_S - 301}.${body}`)}`;
    expect(expectRejected(check(config, { 'x-sig': stale }))).toMatch(/old/);
    const future = `t=${NOW_S + 301},v1=${mac('sha256', `${NOW_S + 301}.${body}`)}`;
    expect(expectRejected(check(config, { 'x-sig': future }))).toMatch(/future/);
    // The timestamp is bound into the signature: changing it breaks the match.
    expectRejected(check(config, { 'x-sig': `t=${NOW_S + 1},v1=${mac('sha256', `${NOW_S}.${body}`)}` }));
  });

  it('takes the timestamp from timestampHeader, in ms when configured', () => {
    const config: Partial<GenericHmacConfig> = {
      signatureHeader: 'x-sig',
      encoding: 'base64',
      algorithm: 'sha512',
      signedContent: '${timestamp}:${id}:${body}',
      timestampHeader: 'X-Timestamp',
      timestampUnit: 'ms',
      deliveryIdHeader: 'x-delivery',
    };
    const ts = String(NOW_MS - 5000);
    const headers = {
      'x-sig': mac('sha512', `${ts}:d-1:${body}`, 'base64'),
      'x-timestamp': ts,
      'x-delivery': 'd-1',
    };
    expect(check(config, headers).ok).toBe(true);
    expectRejected(check(config, { ...headers, 'x-delivery': 'd-2' }));
    expectRejected(check(config, { ...headers, 'x-timestamp': '' }));
    expect(expectRejected(check(config, { ...headers, 'x-timestamp': `${ts}.0` }))).toMatch(/integer/);
    const { 'x-delivery': _omit, ...noId } = headers;
    expectRejected(check(config, noId));
    // Seconds would be read as ms from 1970: far outside the window.
    expectRejected(check({ ...config, timestampUnit: 'ms' }, { ...headers, 'x-timestamp': String(NOW_S) }));
  });

  it('supports sha1 and base64, rejecting the wrong digest length', () => {
    const config = { signatureHeader: 'x-sig', algorithm: 'sha1' as const, encoding: 'base64' as const };
    expect(check(config, { 'x-sig': mac('sha1', body, 'base64') }).ok).toBe(true);
    expectRejected(check(config, { 'x-sig': mac('sha256', body, 'base64') }));
    expectRejected(check(config, { 'x-sig': mac('sha1', body, 'hex') }));
  });

  it('accepts any of several secrets and rejects without a usable one', () => {
    const config = { signatureHeader: 'x-sig' };
    expect(check(config, { 'x-sig': mac('sha256', body) }, body, ['a', SECRET]).ok).toBe(true);
    expectRejected(check(config, { 'x-sig': mac('sha256', body) }, body, ['a', '']));
    expectRejected(check(config, { 'x-sig': mac('sha256', body, 'hex', '') }, body, ['']));
  });

  it('refuses a config that signs a timestamp it has no source for, and a missing generic block', () => {
    const config = { signatureHeader: 'x-sig', signedContent: '${timestamp}.${body}' };
    expectRejected(check(config, { 'x-sig': mac('sha256', `.${body}`) }));
    expectRejected(verify('generic', request({ 'x-sig': mac('sha256', body) }, body), [SECRET]));
  });

  it('compiles formats with literal regex characters safely', () => {
    const re = compileSignatureFormat('(v1)[${signature}]*', 'hex');
    expect(re.exec('(v1)[abcd]*')?.groups?.signature).toBe('abcd');
    expect(re.exec('v1[abcd]')).toBeNull();
  });
});

describe('generic normalise', () => {
  const config: Partial<GenericHmacConfig> = {
    signatureHeader: 'x-sig',
    eventTypeHeader: 'x-event',
    deliveryIdHeader: 'x-delivery',
    timestampHeader: 'x-ts',
  };
  const source = sourceFor('generic', config);

  it('reads type, id and time from the configured headers', () => {
    const req = request({ 'x-event': 'order.created', 'x-delivery': 'd-9', 'x-ts': String(NOW_S) }, body);
    const result = genericAdapter.normalise(req, JSON.parse(body), source);
    expect(result).toEqual({
      type: 'order.created',
      deliveryId: 'd-9',
      providerTime: new Date(NOW_MS).toISOString(),
      subject: null,
    });
    expectEnvelopeReady(result);
  });

  it('falls back to body.type, then webhook', () => {
    expect(genericAdapter.normalise(request({}, ''), { type: 'a.b' }, source).type).toBe('a.b');
    expect(genericAdapter.normalise(request({}, ''), { type: 1 }, source)).toEqual({
      type: 'webhook',
      deliveryId: null,
      providerTime: null,
      subject: null,
    });
  });

  it('keeps the configured headers, never the signature header', () => {
    const kept = keptHeadersFor(
      genericAdapter,
      sourceFor('generic', { ...config, deliveryIdHeader: 'X-Delivery' }),
    );
    expect(kept).toEqual(expect.arrayContaining(['x-event', 'x-delivery', 'x-ts']));
    expect(kept).not.toContain('x-sig');
    const sneaky = keptHeadersFor(
      genericAdapter,
      sourceFor('generic', { signatureHeader: 'x-sig', eventTypeHeader: 'X-Sig' }),
    );
    expect(sneaky).not.toContain('x-sig');
  });
});
