import { createHmac } from 'node:crypto';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { stripeAdapter } from '../../../lambdas/ingest/providers/stripe';
import { expectEnvelopeReady, expectRejected, NOW_MS, NOW_S, request, sourceFor, verify } from './helpers';

const stripe = new Stripe('sk_test_unused');
const SECRET = 'whsec_test_5ZkqlT0cS3R2bKq7mBn8XyZ1';
const source = sourceFor('stripe');

const event = {
  id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
  object: 'event',
  api_version: '2023-10-16',
  created: 1_699_999_990,
  type: 'invoice.paid',
  data: { object: { id: 'in_1NG8Du2eZvKYlo2C', object: 'invoice', customer: 'cus_9s6XKzkNRiz8i3' } },
};
const body = JSON.stringify(event);

const stripeRequest = (header: string, payload = body) => request({ 'Stripe-Signature': header }, payload);
const header = (opts: { payload?: string; secret?: string; timestamp?: number } = {}) =>
  stripe.webhooks.generateTestHeaderString({
    payload: opts.payload ?? body,
    secret: opts.secret ?? SECRET,
    timestamp: opts.timestamp ?? NOW_S,
  });
const v1 = (timestamp: number | string, secret = SECRET, payload = body) =>
  createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex');

describe('stripe verify', () => {
  it('accepts what stripe.webhooks.generateTestHeaderString signs (and constructEvent agrees)', () => {
    const h = header();
    expect(stripe.webhooks.constructEvent(body, h, SECRET, 300, undefined, NOW_MS).id).toBe(event.id);
    expect(verify('stripe', stripeRequest(h), [SECRET])).toEqual({ ok: true });
  });

  it('rejects what constructEvent rejects: tampered body, wrong secret, stale stamp', () => {
    const h = header();
    const tampered = body.replace('invoice.paid', 'invoice.void');
    expect(() => stripe.webhooks.constructEvent(tampered, h, SECRET, 300, undefined, NOW_MS)).toThrow();
    expectRejected(verify('stripe', stripeRequest(h, tampered), [SECRET]), [SECRET]);
    expect(() => stripe.webhooks.constructEvent(body, h, 'whsec_other', 300, undefined, NOW_MS)).toThrow();
    expectRejected(verify('stripe', stripeRequest(h), ['whsec_other']), [SECRET]);
    const stale = header({ timestamp: NOW_S - 301 });
    expect(() => stripe.webhooks.constructEvent(body, stale, SECRET, 300, undefined, NOW_MS)).toThrow(
      /tolerance/,
    );
    expect(expectRejected(verify('stripe', stripeRequest(stale), [SECRET]))).toMatch(/old/);
  });

  it('rejects future stamps too (symmetric window), where Stripe’s own library accepts them', () => {
    const future = header({ timestamp: NOW_S + 301 });
    expect(stripe.webhooks.constructEvent(body, future, SECRET, 300, undefined, NOW_MS).id).toBe(event.id);
    expect(expectRejected(verify('stripe', stripeRequest(future), [SECRET]))).toMatch(/future/);
  });

  it('accepts the window edges and honours a source tolerance', () => {
    expect(verify('stripe', stripeRequest(header({ timestamp: NOW_S - 300 })), [SECRET]).ok).toBe(true);
    expect(verify('stripe', stripeRequest(header({ timestamp: NOW_S + 300 })), [SECRET]).ok).toBe(true);
    const old = stripeRequest(header({ timestamp: NOW_S - 1000 }));
    expect(verify('stripe', old, [SECRET], { toleranceSeconds: 1200 }).ok).toBe(true);
    expectRejected(verify('stripe', old, [SECRET], { toleranceSeconds: 600 }));
  });

  it('accepts any v1 (secret roll) and ignores other schemes', () => {
    const h = `t=${NOW_S},v1=${v1(NOW_S, 'whsec_old')},v1=${v1(NOW_S)},v0=${'0'.repeat(64)}`;
    expect(verify('stripe', stripeRequest(h), [SECRET]).ok).toBe(true);
    expect(verify('stripe', stripeRequest(h), ['whsec_old']).ok).toBe(true);
    // A v0 alone never verifies, even when it carries the right HMAC.
    expectRejected(verify('stripe', stripeRequest(`t=${NOW_S},v0=${v1(NOW_S)}`), [SECRET]));
    // Malformed v1 values next to a good one do not spoil it.
    expect(verify('stripe', stripeRequest(`t=${NOW_S},v1=zz,v1=${v1(NOW_S)}`), [SECRET]).ok).toBe(true);
  });

  it('accepts any of several configured secrets (rotation)', () => {
    const h = header({ secret: 'whsec_new' });
    expect(verify('stripe', stripeRequest(h), [SECRET, 'whsec_new']).ok).toBe(true);
    expectRejected(verify('stripe', stripeRequest(h), [SECRET, 'whsec_older']));
  });

  it('uses the whole whsec_ string as the key (not a decoded form)', () => {
    const decodedKey = Buffer.from(SECRET.slice(6), 'base64');
    const wrong = createHmac('sha256', decodedKey).update(`${NOW_S}.${body}`).digest('hex');
    expectRejected(verify('stripe', stripeRequest(`t=${NOW_S},v1=${wrong}`), [SECRET]));
  });

  it('rejects two t= items (two joined headers)', () => {
    const h = `t=${NOW_S},v1=${v1(NOW_S)}, t=${NOW_S},v1=${v1(NOW_S)}`;
    expect(expectRejected(verify('stripe', stripeRequest(h), [SECRET]))).toMatch(/several t=/);
  });

  it('signs t exactly as sent: leading zeros are part of the signed content', () => {
    const t = `0${NOW_S}`;
    expect(verify('stripe', stripeRequest(`t=${t},v1=${v1(t)}`), [SECRET]).ok).toBe(true);
    expectRejected(verify('stripe', stripeRequest(`t=${t},v1=${v1(NOW_S)}`), [SECRET]));
  });
});

describe('stripe normalise', () => {
  it('takes type, id, created and customer from the event', () => {
    const result = stripeAdapter.normalise(stripeRequest(header()), event, source);
    expect(result).toEqual({
      type: 'invoice.paid',
      deliveryId: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
      providerTime: new Date(1_699_999_990_000).toISOString(),
      subject: 'cus_9s6XKzkNRiz8i3',
    });
    expectEnvelopeReady(result);
  });

  it('uses an expanded customer’s id, else the object id', () => {
    const expanded = {
      ...event,
      data: { object: { id: 'in_1', customer: { id: 'cus_X', object: 'customer' } } },
    };
    expect(stripeAdapter.normalise(stripeRequest(''), expanded, source).subject).toBe('cus_X');
    const noCustomer = { ...event, data: { object: { id: 'prod_1', object: 'product', customer: null } } };
    expect(stripeAdapter.normalise(stripeRequest(''), noCustomer, source).subject).toBe('prod_1');
  });

  it('survives odd bodies', () => {
    for (const odd of [
      null,
      [],
      'x',
      42,
      { type: 7, id: {}, created: 1e20 },
      JSON.parse('{"__proto__":{"type":"x"}}'),
    ]) {
      const result = stripeAdapter.normalise(stripeRequest(''), odd, source);
      expectEnvelopeReady(result);
      expect(result.type).toBe('unknown');
      expect(result.providerTime).toBeNull();
    }
  });
});
