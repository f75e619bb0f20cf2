/** The most common scheme: one header holding HMAC-SHA256 of the raw body (GitHub, Shopify, Linear). */
import {
  anyKeyMatches,
  DIGEST_BYTES,
  decodeSignature,
  hmac,
  type SignatureEncoding,
  usableSecrets,
} from './hmac';
import type { Verification, WebhookRequest } from './types';
import { bodyBytes, fail, header, OK } from './util';

export interface BodyHmacScheme {
  /** Lower-case header name. */
  readonly header: string;
  /** Text before the signature, e.g. `sha256=`. */
  readonly prefix?: string;
  readonly encoding: SignatureEncoding;
}

/** Checks format first (one value, prefix, exact digest length), then every active secret, timing-safe. */
export function verifyBodyHmac(
  request: WebhookRequest,
  secrets: readonly unknown[],
  scheme: BodyHmacScheme,
): Verification {
  const name = scheme.header;
  const value = header(request, name);
  if (value === undefined || value === '') return fail(`missing ${name} header`);
  if (value.includes(',')) return fail(`several values in ${name}`);
  const prefix = scheme.prefix ?? '';
  if (!value.startsWith(prefix)) return fail(`${name} must start with "${prefix}"`);
  const signature = decodeSignature(value.slice(prefix.length), scheme.encoding, DIGEST_BYTES.sha256);
  if (!signature) {
    return fail(
      scheme.encoding === 'hex'
        ? `${name} is not 64 hex characters`
        : `${name} is not canonical base64 of 32 bytes`,
    );
  }
  const keys = usableSecrets(secrets);
  if (keys.length === 0) return fail('no signing secret configured');
  const body = bodyBytes(request);
  return anyKeyMatches(keys, (key) => hmac('sha256', key, [body]), [signature])
    ? OK
    : fail('signature does not match');
}
