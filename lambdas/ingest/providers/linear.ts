/**
 * Linear: `Linear-Signature: <hex>` (no prefix) = HMAC-SHA256(secret, raw body). The freshness stamp is
 * `webhookTimestamp` (ms) inside the signed JSON body, checked within ±60 s by default (as `@linear/sdk` does).
 *
 * Order matters: the signature is checked first, then the body is parsed for the stamp. A valid signature over a body
 * that is not JSON (or not UTF-8) passes here and the caller answers 400; a JSON object without an integer
 * `webhookTimestamp` fails.
 *
 * - type: `<type>.<action>` lower-cased (`Issue` + `create` → `issue.create`).
 * - deliveryId: `Linear-Delivery`.
 * - providerTime: `createdAt` (ISO), else `webhookTimestamp`.
 * - subject: `data.identifier` (`ENG-123`), else `data.id`.
 */
import { verifyBodyHmac } from './body-hmac';
import { checkWindow, isoFromEpoch, isoFromIsoString } from './timestamp';
import type { ProviderAdapter } from './types';
import {
  bodyBytes,
  deliveryId,
  eventType,
  fail,
  firstOf,
  guardNormalise,
  guardVerify,
  headerText,
  idText,
  isRecord,
  OK,
  path,
  prop,
  subject,
  text,
} from './util';

export const LINEAR_SIGNATURE_HEADER = 'linear-signature';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The parsed body, or `undefined` when it is not UTF-8 JSON (the caller answers 400 after verify). */
function parseJson(body: Buffer): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(utf8.decode(body)) };
  } catch {
    return undefined;
  }
}

export const linearAdapter: ProviderAdapter = {
  provider: 'linear',
  defaultToleranceSeconds: 60,
  bodyFormats: ['json'],
  keptHeaders: ['linear-delivery', 'linear-event', 'user-agent', 'content-type'],

  verify: (request, context) =>
    guardVerify(() => {
      const signed = verifyBodyHmac(request, context.secrets ?? [], {
        header: LINEAR_SIGNATURE_HEADER,
        encoding: 'hex',
      });
      if (!signed.ok) return signed;
      const parsed = parseJson(bodyBytes(request));
      if (parsed === undefined) return OK; // signed but not JSON: the caller's body parser answers 400
      const stamp = isRecord(parsed.value) ? parsed.value.webhookTimestamp : undefined;
      if (stamp === undefined || stamp === null) return fail('missing webhookTimestamp in body');
      if (typeof stamp !== 'number' || !Number.isSafeInteger(stamp) || stamp < 0) {
        return fail('webhookTimestamp is not an integer ms time');
      }
      const window = checkWindow(stamp, context.now, context.toleranceSeconds);
      return window.ok ? OK : fail(window.reason);
    }),

  normalise: (request, body) =>
    guardNormalise('unknown', () => {
      const kind = text(prop(body, 'type'));
      const action = text(prop(body, 'action'));
      const joined =
        kind && action ? `${kind}.${action}` : (kind ?? (action ? `unknown.${action}` : undefined));
      const stamp = prop(body, 'webhookTimestamp');
      return {
        type: eventType(joined?.toLowerCase()),
        deliveryId: deliveryId(headerText(request, 'linear-delivery')),
        providerTime:
          isoFromIsoString(prop(body, 'createdAt')) ??
          (typeof stamp === 'number' ? isoFromEpoch(stamp, 'ms') : null),
        subject: subject(firstOf(idText(path(body, 'data', 'identifier')), idText(path(body, 'data', 'id')))),
      };
    }),
};
