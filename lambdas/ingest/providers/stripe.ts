/**
 * Stripe: `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>…]` = HMAC-SHA256(whole `whsec_…` secret as UTF-8,
 * `<t>.<raw body>`). Any v1 may match (Stripe lists several while a secret rolls); other schemes (`v0`) are ignored.
 * The window is symmetric (Stripe's own library accepts any future stamp; we do not).
 *
 * - type: `body.type` (`invoice.paid`).
 * - deliveryId: `body.id` (`evt_…`), the same on every retry.
 * - providerTime: `body.created` (unix seconds).
 * - subject: `data.object.customer` (id, or the id of an expanded customer), else `data.object.id`.
 */
import { anyKeyMatches, DIGEST_BYTES, decodeHex, hmac, usableSecrets } from './hmac';
import { checkWindow, isoFromEpoch, parseIntegerTimestamp } from './timestamp';
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
  idText,
  OK,
  path,
  prop,
  subject,
  text,
} from './util';

export const STRIPE_SIGNATURE_HEADER = 'stripe-signature';

/** More items than this is not a Stripe header (it lists one `t` and a few signatures). */
const MAX_ITEMS = 16;

export const stripeAdapter: ProviderAdapter = {
  provider: 'stripe',
  defaultToleranceSeconds: 300,
  bodyFormats: ['json'],
  keptHeaders: ['user-agent', 'content-type'],

  verify: (request, context) =>
    guardVerify(() => {
      const value = header(request, STRIPE_SIGNATURE_HEADER);
      if (value === undefined || value === '') return fail(`missing ${STRIPE_SIGNATURE_HEADER} header`);
      const items = value.split(',');
      if (items.length > MAX_ITEMS) return fail(`too many items in ${STRIPE_SIGNATURE_HEADER}`);
      let timestampText: string | undefined;
      let timestampCount = 0;
      const signatures: Buffer[] = [];
      let v1Count = 0;
      for (const item of items) {
        const eq = item.indexOf('=');
        if (eq === -1) continue;
        const key = item.slice(0, eq).trim();
        const itemValue = item.slice(eq + 1).trim();
        if (key === 't') {
          timestampCount++;
          timestampText = itemValue;
        } else if (key === 'v1') {
          v1Count++;
          const decoded = decodeHex(itemValue, DIGEST_BYTES.sha256);
          if (decoded) signatures.push(decoded);
        }
      }
      if (timestampCount === 0) return fail(`missing t= in ${STRIPE_SIGNATURE_HEADER}`);
      // Two `t=` items means two headers were joined: the signatures cannot be told apart safely.
      if (timestampCount > 1) return fail(`several t= in ${STRIPE_SIGNATURE_HEADER}`);
      const timestamp = parseIntegerTimestamp(timestampText);
      if (timestamp === null) return fail('t= is not an integer unix time');
      if (v1Count === 0) return fail(`no v1 signature in ${STRIPE_SIGNATURE_HEADER}`);
      if (signatures.length === 0) return fail('no v1 signature is 64 hex characters');
      const window = checkWindow(timestamp * 1000, context.now, context.toleranceSeconds);
      if (!window.ok) return fail(window.reason);
      const secrets = usableSecrets(context.secrets ?? []);
      if (secrets.length === 0) return fail('no signing secret configured');
      const body = bodyBytes(request);
      const prefix = `${timestampText}.`;
      return anyKeyMatches(secrets, (key) => hmac('sha256', key, [prefix, body]), signatures)
        ? OK
        : fail('signature does not match');
    }),

  normalise: (_request, body) =>
    guardNormalise('unknown', () => {
      const object = path(body, 'data', 'object');
      const customer = prop(object, 'customer');
      const created = prop(body, 'created');
      return {
        type: eventType(text(prop(body, 'type'))),
        deliveryId: deliveryId(idText(prop(body, 'id'))),
        providerTime: typeof created === 'number' ? isoFromEpoch(created, 's') : null,
        subject: subject(firstOf(idText(customer), idText(prop(customer, 'id')), idText(prop(object, 'id')))),
      };
    }),
};
