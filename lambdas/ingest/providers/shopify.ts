/**
 * Shopify: `X-Shopify-Hmac-Sha256: <base64>` = HMAC-SHA256(app client secret, raw body). Nothing time-related is
 * signed (`X-Shopify-Triggered-At` is informational) and neither is the webhook id: a captured request resent with a
 * fresh `X-Shopify-Webhook-Id` is a new event. Only the URL's secret token stands in the way (README, "Security").
 *
 * - type: `X-Shopify-Topic` with `/` replaced by `.` (`orders/create` → `orders.create`), so that EventBridge
 *   `prefix` patterns work the same as for the other providers.
 * - deliveryId: `X-Shopify-Webhook-Id` (the same on every retry of a delivery), else `X-Shopify-Event-Id`.
 * - providerTime: `X-Shopify-Triggered-At`.
 * - subject: `X-Shopify-Shop-Domain`.
 */
import { verifyBodyHmac } from './body-hmac';
import { isoFromIsoString } from './timestamp';
import type { ProviderAdapter } from './types';
import { deliveryId, eventType, firstOf, guardNormalise, guardVerify, headerText, subject } from './util';

export const SHOPIFY_SIGNATURE_HEADER = 'x-shopify-hmac-sha256';

export const shopifyAdapter: ProviderAdapter = {
  provider: 'shopify',
  defaultToleranceSeconds: 300,
  bodyFormats: ['json'],
  keptHeaders: [
    'x-shopify-topic',
    'x-shopify-sub-topic',
    'x-shopify-shop-domain',
    'x-shopify-webhook-id',
    'x-shopify-event-id',
    'x-shopify-api-version',
    'x-shopify-triggered-at',
    'user-agent',
    'content-type',
  ],

  verify: (request, context) =>
    guardVerify(() => {
      return verifyBodyHmac(request, context.secrets ?? [], {
        header: SHOPIFY_SIGNATURE_HEADER,
        encoding: 'base64',
      });
    }),

  normalise: (request) =>
    guardNormalise('unknown', () => ({
      type: eventType(headerText(request, 'x-shopify-topic')?.replaceAll('/', '.')),
      deliveryId: deliveryId(
        firstOf(headerText(request, 'x-shopify-webhook-id'), headerText(request, 'x-shopify-event-id')),
      ),
      providerTime: isoFromIsoString(headerText(request, 'x-shopify-triggered-at')),
      subject: subject(headerText(request, 'x-shopify-shop-domain')),
    })),
};
