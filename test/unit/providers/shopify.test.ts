import '@shopify/shopify-api/adapters/web-api';
import { createHmac } from 'node:crypto';
import { ApiVersion, LogSeverity, shopifyApi } from '@shopify/shopify-api';
import { describe, expect, it } from 'vitest';
import { shopifyAdapter } from '../../../lambdas/ingest/providers/shopify';
import { expectEnvelopeReady, expectRejected, request, sourceFor, verify } from './helpers';

const SECRET = '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';
const source = sourceFor('shopify');
const body = JSON.stringify({ id: 820982911946154500, email: 'jon@example.com', total_price: '10.00' });
const sign = (payload: string, secret = SECRET) =>
  createHmac('sha256', secret).update(payload).digest('base64');

const baseHeaders = {
  'X-Shopify-Topic': 'orders/create',
  'X-Shopify-Shop-Domain': 'acme.myshopify.com',
  'X-Shopify-API-Version': '2025-10',
  'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
  'X-Shopify-Event-Id': '98880550-7158-44d4-b7cd-2c97c8a091b5',
  'X-Shopify-Triggered-At': '2023-03-29T18:00:27.877041743Z',
};
const shopifyRequest = (hmac: string, payload = body) =>
  request({ ...baseHeaders, 'X-Shopify-Hmac-Sha256': hmac }, payload);

function oracle(secret: string) {
  return shopifyApi({
    apiKey: 'test-key',
    apiSecretKey: secret,
    scopes: [],
    hostName: 'hooks.example.com',
    apiVersion: ApiVersion.October25,
    isEmbeddedApp: false,
    logger: { level: LogSeverity.Error },
  });
}

async function shopifyAccepts(hmac: string, payload: string, secret = SECRET): Promise<boolean> {
  const rawRequest = new Request('https://hooks.example.com/webhooks/src', {
    method: 'POST',
    body: payload,
    headers: { ...baseHeaders, 'X-Shopify-Hmac-Sha256': hmac },
  });
  const result = await oracle(secret).webhooks.validate({ rawBody: payload, rawRequest });
  return result.valid;
}

describe('shopify verify', () => {
  it('agrees with @shopify/shopify-api webhooks.validate', async () => {
    const hmac = sign(body);
    expect(await shopifyAccepts(hmac, body)).toBe(true);
    expect(verify('shopify', shopifyRequest(hmac), [SECRET])).toEqual({ ok: true });

    const tampered = body.replace('10.00', '0.01');
    expect(await shopifyAccepts(hmac, tampered)).toBe(false);
    expectRejected(verify('shopify', shopifyRequest(hmac, tampered), [SECRET]), [SECRET]);

    expect(await shopifyAccepts(hmac, body, 'shpss_other')).toBe(false);
    expectRejected(verify('shopify', shopifyRequest(hmac), ['shpss_other']));
  });

  it('accepts any of several rotated secrets', () => {
    const hmac = sign(body, 'shpss_new');
    expect(verify('shopify', shopifyRequest(hmac), [SECRET, 'shpss_new']).ok).toBe(true);
    expectRejected(verify('shopify', shopifyRequest(hmac), [SECRET]));
  });

  it('rejects hex, unpadded, url-safe and joined spellings', () => {
    const hmac = sign(body);
    const hex = createHmac('sha256', SECRET).update(body).digest('hex');
    expectRejected(verify('shopify', shopifyRequest(hex), [SECRET]));
    expectRejected(verify('shopify', shopifyRequest(hmac.replace(/=+$/, '')), [SECRET]));
    expectRejected(verify('shopify', shopifyRequest(`${hmac}, ${hmac}`), [SECRET]));
    expectRejected(verify('shopify', shopifyRequest(`sha256=${hmac}`), [SECRET]));
  });
});

describe('shopify normalise', () => {
  it('dots the topic and reads id, time and shop from headers', () => {
    const result = shopifyAdapter.normalise(shopifyRequest(''), JSON.parse(body), source);
    expect(result).toEqual({
      type: 'orders.create',
      deliveryId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      providerTime: '2023-03-29T18:00:27.877Z',
      subject: 'acme.myshopify.com',
    });
    expectEnvelopeReady(result);
  });

  it('falls back to the event id and survives missing headers', () => {
    const req = request({ 'x-shopify-event-id': 'ev-1', 'x-shopify-topic': 'app/uninstalled' }, '{}');
    expect(shopifyAdapter.normalise(req, {}, source)).toEqual({
      type: 'app.uninstalled',
      deliveryId: 'ev-1',
      providerTime: null,
      subject: null,
    });
    expect(shopifyAdapter.normalise(request({}, ''), null, source).type).toBe('unknown');
  });
});
