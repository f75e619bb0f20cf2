import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { standardWebhooksAdapter } from '../../../lambdas/ingest/providers/standard-webhooks';
import { expectEnvelopeReady, expectRejected, NOW_MS, NOW_S, request, sourceFor, verify } from './helpers';

const source = sourceFor('standard-webhooks');

// The spec library's own test vector.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const OTHER = 'whsec_bm90IHRoZSByaWdodCBzZWNyZXQgYXQgYWxs';
const body = JSON.stringify({
  type: 'invoice.paid',
  timestamp: '2023-11-14T22:13:19.123Z',
  data: { id: 'inv_1' },
});

const swRequest = (signature: string, ts: number | string = NOW_S, id = 'msg_2Kc0hT9xJ0', payload = body) =>
  request({ 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature }, payload);
const libSign = (secret: string, ts = NOW_S, id = 'msg_2Kc0hT9xJ0', payload = body) =>
  new Webhook(secret).sign(id, new Date(ts * 1000), payload);

function libAccepts(req: ReturnType<typeof swRequest>, secret: string): boolean {
  try {
    new Webhook(secret).verify(req.body.toString('utf8'), req.headers);
    return true;
  } catch {
    return false;
  }
}

describe('standard webhooks verify', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW_MS);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('accepts the spec vector', () => {
    const req = swRequest(VECTOR.signature, VECTOR.timestamp, VECTOR.id, VECTOR.payload);
    expect(verify('standard-webhooks', req, [VECTOR.secret], { now: VECTOR.timestamp * 1000 })).toEqual({
      ok: true,
    });
    expect(libSign(VECTOR.secret, VECTOR.timestamp, VECTOR.id, VECTOR.payload)).toBe(VECTOR.signature);
  });

  it('accepts what the standardwebhooks library signs and verifies', () => {
    const req = swRequest(libSign(SECRET));
    expect(libAccepts(req, SECRET)).toBe(true);
    expect(verify('standard-webhooks', req, [SECRET])).toEqual({ ok: true });
  });

  it('rejects what the library rejects: tampered body, wrong secret, stale and future stamps', () => {
    const tampered = swRequest(libSign(SECRET), NOW_S, 'msg_2Kc0hT9xJ0', body.replace('inv_1', 'inv_2'));
    expect(libAccepts(tampered, SECRET)).toBe(false);
    expectRejected(verify('standard-webhooks', tampered, [SECRET]), [SECRET]);
    const good = swRequest(libSign(SECRET));
    expect(libAccepts(good, OTHER)).toBe(false);
    expectRejected(verify('standard-webhooks', good, [OTHER]));
    const otherId = swRequest(libSign(SECRET), NOW_S, 'msg_other');
    expect(libAccepts(otherId, SECRET)).toBe(false);
    expectRejected(verify('standard-webhooks', otherId, [SECRET]));
    for (const ts of [NOW_S - 301, NOW_S + 301]) {
      const skewed = swRequest(libSign(SECRET, ts), ts);
      expect(libAccepts(skewed, SECRET)).toBe(false);
      expectRejected(verify('standard-webhooks', skewed, [SECRET]));
    }
  });

  it('accepts any v1 in a space-separated list and ignores other versions', () => {
    const ours = libSign(SECRET);
    const theirs = libSign(OTHER);
    expect(verify('standard-webhooks', swRequest(`${theirs} ${ours}`), [SECRET]).ok).toBe(true);
    expect(verify('standard-webhooks', swRequest(`v1a,${ours.slice(3)} ${ours}`), [SECRET]).ok).toBe(true);
    expectRejected(verify('standard-webhooks', swRequest(`v1a,${ours.slice(3)}`), [SECRET]));
    expectRejected(verify('standard-webhooks', swRequest(`v2,${ours.slice(3)}`), [SECRET]));
  });

  it('accepts any of several configured secrets and secrets without the whsec_ prefix', () => {
    const req = swRequest(libSign(SECRET));
    expect(verify('standard-webhooks', req, [OTHER, SECRET]).ok).toBe(true);
    expect(verify('standard-webhooks', req, [SECRET.slice(6)]).ok).toBe(true);
    expectRejected(verify('standard-webhooks', req, [OTHER]));
    // A secret that is not base64 never signs (and never throws).
    expectRejected(verify('standard-webhooks', req, ['whsec_%%%not-base64%%%']));
  });

  it('uses the base64-decoded key, not the secret text', () => {
    const wrong = createHmac('sha256', SECRET).update(`msg_2Kc0hT9xJ0.${NOW_S}.${body}`).digest('base64');
    expectRejected(verify('standard-webhooks', swRequest(`v1,${wrong}`), [SECRET]));
  });

  it('reads the svix-* header names when webhook-* are absent', () => {
    const signature = libSign(SECRET, NOW_S, 'msg_svix');
    const req = request(
      { 'svix-id': 'msg_svix', 'svix-timestamp': String(NOW_S), 'svix-signature': signature },
      body,
    );
    expect(verify('standard-webhooks', req, [SECRET]).ok).toBe(true);
    expect(standardWebhooksAdapter.normalise(req, JSON.parse(body), source).deliveryId).toBe('msg_svix');
    // The families are not mixed: a svix signature with a webhook-id of another message does not verify.
    const mixed = request(
      { 'webhook-id': 'msg_svix', 'svix-timestamp': String(NOW_S), 'webhook-signature': signature },
      body,
    );
    expectRejected(verify('standard-webhooks', mixed, [SECRET]));
  });

  it('rejects non-canonical base64 of the right digest', () => {
    const ours = libSign(SECRET).slice(3); // 44 chars, one '=' pad
    const last = ours.charAt(42);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const sibling = alphabet.charAt(alphabet.indexOf(last) ^ 1); // differs only in the padding bits
    const nonCanonical = `${ours.slice(0, 42)}${sibling}=`;
    expect(Buffer.from(nonCanonical, 'base64').equals(Buffer.from(ours, 'base64'))).toBe(true);
    expectRejected(verify('standard-webhooks', swRequest(`v1,${nonCanonical}`), [SECRET]));
    expectRejected(verify('standard-webhooks', swRequest(`v1,${ours.slice(0, 43)}`), [SECRET]));
    expectRejected(
      verify('standard-webhooks', swRequest(`v1,${ours.replaceAll('+', '-').replaceAll('/', '_')}x`), [
        SECRET,
      ]),
    );
  });
});

describe('standard webhooks normalise', () => {
  it('takes the id header, body type and ISO timestamp', () => {
    const result = standardWebhooksAdapter.normalise(swRequest(''), JSON.parse(body), source);
    expect(result).toEqual({
      type: 'invoice.paid',
      deliveryId: 'msg_2Kc0hT9xJ0',
      providerTime: '2023-11-14T22:13:19.123Z',
      subject: null,
    });
    expectEnvelopeReady(result);
  });

  it('ignores non-ISO timestamps and non-string types', () => {
    for (const timestamp of [1700000000, '1700000000', 'yesterday', '2023-13-45T99:99:99Z', null]) {
      const result = standardWebhooksAdapter.normalise(swRequest(''), { type: 5, timestamp }, source);
      expect(result.providerTime).toBeNull();
      expect(result.type).toBe('unknown');
    }
  });
});
