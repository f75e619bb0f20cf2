/**
 * Standard Webhooks (https://www.standardwebhooks.com), also Svix's header names:
 * `webhook-id`, `webhook-timestamp` (unix s), `webhook-signature: v1,<base64> [v1,<base64> …]` (space-separated;
 * any v1 may match; other versions such as `v1a` are ignored) = HMAC-SHA256(base64-decode(secret without `whsec_`),
 * `<id>.<timestamp>.<raw body>`), within ±5 minutes. The `svix-*` trio is used only when `webhook-signature` is absent
 * (the three headers are never mixed across the two families).
 *
 * - type: `body.type`.
 * - deliveryId: the `webhook-id` (the spec's idempotency key).
 * - providerTime: `body.timestamp` when it is ISO-8601, else null.
 * - subject: null (the spec defines no subject).
 */
import { anyKeyMatches, DIGEST_BYTES, decodeBase64, hmac, usableSecrets } from './hmac';
import { checkWindow, isoFromIsoString, parseIntegerTimestamp } from './timestamp';
import type { ProviderAdapter, WebhookRequest } from './types';
import {
  bodyBytes,
  deliveryId,
  eventType,
  fail,
  guardNormalise,
  guardVerify,
  header,
  headerText,
  OK,
  prop,
  text,
} from './util';

const SECRET_PREFIX = 'whsec_';
const SECRET_RE = /^[A-Za-z0-9+/]+={0,2}$/;
/** More signatures than this is not a rotation list. */
const MAX_SIGNATURES = 16;

/** The HMAC key of a secret, or null when the secret is not base64 (a misconfigured secret never signs). */
export function standardWebhooksKey(secret: string): Buffer | null {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!SECRET_RE.test(encoded)) return null;
  const key = Buffer.from(encoded, 'base64');
  return key.length > 0 ? key : null;
}

/** Which header family the request uses: `webhook-*`, or `svix-*` when `webhook-signature` is absent. */
function family(request: WebhookRequest): 'webhook' | 'svix' {
  return header(request, 'webhook-signature') === undefined && header(request, 'svix-signature') !== undefined
    ? 'svix'
    : 'webhook';
}

export const standardWebhooksAdapter: ProviderAdapter = {
  provider: 'standard-webhooks',
  defaultToleranceSeconds: 300,
  bodyFormats: ['json'],
  keptHeaders: ['webhook-id', 'webhook-timestamp', 'svix-id', 'svix-timestamp', 'user-agent', 'content-type'],

  verify: (request, context) =>
    guardVerify(() => {
      const prefix = family(request);
      const signatureHeader = `${prefix}-signature`;
      const value = header(request, signatureHeader);
      if (value === undefined || value === '') return fail('missing webhook-signature header');
      const id = header(request, `${prefix}-id`);
      if (id === undefined || id === '') return fail(`missing ${prefix}-id header`);
      const timestampText = header(request, `${prefix}-timestamp`);
      if (timestampText === undefined || timestampText === '')
        return fail(`missing ${prefix}-timestamp header`);
      const timestamp = parseIntegerTimestamp(timestampText);
      if (timestamp === null) return fail(`${prefix}-timestamp is not an integer unix time`);

      const tokens = value.split(' ').filter((token) => token !== '');
      if (tokens.length > MAX_SIGNATURES) return fail(`too many signatures in ${signatureHeader}`);
      const signatures: Buffer[] = [];
      let v1Count = 0;
      for (const token of tokens) {
        const comma = token.indexOf(',');
        if (comma === -1 || token.slice(0, comma) !== 'v1') continue;
        v1Count++;
        const decoded = decodeBase64(token.slice(comma + 1), DIGEST_BYTES.sha256);
        if (decoded) signatures.push(decoded);
      }
      if (v1Count === 0) return fail(`no v1 signature in ${signatureHeader}`);
      if (signatures.length === 0) return fail('no v1 signature is canonical base64 of 32 bytes');

      const window = checkWindow(timestamp * 1000, context.now, context.toleranceSeconds);
      if (!window.ok) return fail(window.reason);
      const keys = usableSecrets(context.secrets ?? [])
        .map(standardWebhooksKey)
        .filter((key): key is Buffer => key !== null);
      if (keys.length === 0) return fail('no usable signing secret configured');
      const body = bodyBytes(request);
      const signedPrefix = `${id}.${timestampText}.`;
      return anyKeyMatches(keys, (key) => hmac('sha256', key, [signedPrefix, body]), signatures)
        ? OK
        : fail('signature does not match');
    }),

  normalise: (request, body) =>
    guardNormalise('unknown', () => {
      const prefix = family(request);
      return {
        type: eventType(text(prop(body, 'type'))),
        deliveryId: deliveryId(headerText(request, `${prefix}-id`)),
        providerTime: isoFromIsoString(prop(body, 'timestamp')),
        subject: null,
      };
    }),
};
