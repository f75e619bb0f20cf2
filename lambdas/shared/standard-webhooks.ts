/** Outbound signing per the Standard Webhooks spec (https://www.standardwebhooks.com). Pure. */
import { createHmac } from 'node:crypto';

/** The signing key: base64-decode of the secret without its `whsec_` prefix. */
export function signingKey(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  if (key.length < 16) throw new Error('signing secret decodes to fewer than 16 bytes');
  return key;
}

/** `webhook-signature` value: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
export function signStandardWebhook(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers for one delivery; keys are the current secrets, newest first. */
export function standardWebhookHeaders(
  keys: readonly Buffer[],
  id: string,
  timestampSeconds: number,
  body: string,
): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    // During rotation every active key signs; receivers accept any (space-separated list).
    'webhook-signature': keys.map((k) => signStandardWebhook(k, id, timestampSeconds, body)).join(' '),
  };
}
