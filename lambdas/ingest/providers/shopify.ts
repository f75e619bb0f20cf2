/**
 * Shopify: `X-Shopify-Hmac-Sha256: <base64>` = HMAC-SHA256(app client secret, raw body). Nothing time-related is
 * signed (`X-Shopify-Triggered-At` is informational), so replays are absorbed by dedupe on the webhook id.
 *
 * - type: `X-Shopify-Topic` with `/` replaced by `.` (`orders/create` → `orders.create`), so that EventBridge
 *   `prefix` patterns work the same as for the other providers.
 * - deliveryId: `X-Shopify-Webhook-Id` (the same on every retry of a delivery), else `X-Shopify-Event-Id`.
 * - providerTime: `X-Shopify-Triggered-At`.
 * - subject: `X-Shopify-Shop-Domain`.
 */
import { anyKeyMatches, DIGEST_BYTES, decodeBase64, hmac, usableSecrets } from './hmac';
import { isoFromIsoString } from './timestamp';
import type { ProviderAdapter } from './types';
import {
  bodyBytes,
  deliveryId,
  eventType,
  fail,
  firstOf,
  guardNormalise,
  guardVerify,
  header,
  headerText,
  OK,
  subject,
} from './util';

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
      const value = header(request, SHOPIFY_SIGNATURE_HEADER);
      if (value === undefined || value === '') return fail(`missing ${SHOPIFY_SIGNATURE_HEADER} header`);
      if (value.includes(',')) return fail(`several values in ${SHOPIFY_SIGNATURE_HEADER}`);
      const signature = decodeBase64(value, DIGEST_BYTES.sha256);
      if (!signature) return fail(`${SHOPIFY_SIGNATURE_HEADER} is not canonical base64 of 32 bytes`);
      const secrets = usableSecrets(context.secrets ?? []);
      if (secrets.length === 0) return fail('no signing secret configured');
      const body = bodyBytes(request);
      return anyKeyMatches(secrets, (key) => hmac('sha256', key, [body]), [signature])
        ? OK
        : fail('signature does not match');
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
