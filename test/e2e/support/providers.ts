/**
 * One source per provider for the e2e stacks, their local secrets (through `secretEnv`), and request builders that
 * sign per each provider's documentation with node:crypto (the provider test file cross-checks them against the
 * providers' own libraries).
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { SourceInput } from '../../../core/config';
import { secretEnvName } from '../../../local/services/secrets';

export type Headers = Record<string, string | readonly string[]>;
export interface SignedRequest {
  headers: Headers;
  body: string | Buffer;
}

export const SECRETS = {
  github: 'gh-e2e-secret',
  stripe: 'whsec_e2e_stripe_secret',
  slack: 'e2e-slack-signing-secret',
  linear: 'lin_wh_e2e_secret',
  standard: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
  shopify: 'shpss_e2e_secret',
  twilio: 'e2e-twilio-auth-token',
  generic: 'e2e-generic-secret',
} as const;

export const GENERIC = {
  signatureHeader: 'X-Acme-Signature',
  signatureFormat: 't=${timestamp},sha256=${signature}',
  signedContent: '${timestamp}.${body}',
  deliveryIdHeader: 'X-Acme-Delivery',
  eventTypeHeader: 'X-Acme-Event',
} as const;

const secretName = (name: string) => `e2e/${name}`;

/** Sources `github`, `stripe`, `slack`, `linear`, `standard`, `shopify`, `twilio`, `generic`, unthrottled. */
export function providerSources(): SourceInput[] {
  const common = { rateLimitPerSecond: 10_000, burstLimit: 5_000 };
  const s = (
    name: keyof typeof SECRETS,
    provider: SourceInput['provider'],
    extra: Partial<SourceInput> = {},
  ) => ({
    name,
    provider,
    secret: { secretName: secretName(name) },
    ...common,
    ...extra,
  });
  return [
    s('github', 'github'),
    s('stripe', 'stripe'),
    s('slack', 'slack'),
    s('linear', 'linear'),
    s('standard', 'standard-webhooks'),
    s('shopify', 'shopify'),
    s('twilio', 'twilio'),
    s('generic', 'generic', { generic: { ...GENERIC } }),
  ];
}

/** `secretEnv` for startLocalStack: the provider secrets plus any extra `{ secretName: value }`. */
export function secretEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(SECRETS)) env[secretEnvName(secretName(name))] = value;
  for (const [name, value] of Object.entries(extra)) env[secretEnvName(name)] = value;
  return env;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
const hmacHex = (key: string | Buffer, content: string | Buffer, algorithm = 'sha256') =>
  createHmac(algorithm, key).update(content).digest('hex');
const hmacBase64 = (key: string | Buffer, content: string | Buffer, algorithm = 'sha256') =>
  createHmac(algorithm, key).update(content).digest('base64');

export const githubSignature = (body: string | Buffer, secret: string = SECRETS.github) =>
  `sha256=${hmacHex(secret, body)}`;

export function github(
  body: string | Buffer,
  opts: { event?: string; delivery?: string; secret?: string; contentType?: string; headers?: Headers } = {},
): SignedRequest {
  return {
    body,
    headers: {
      'content-type': opts.contentType ?? 'application/json',
      'user-agent': 'GitHub-Hookshot/e2e',
      'x-github-event': opts.event ?? 'pull_request',
      'x-github-delivery': opts.delivery ?? randomUUID(),
      'x-hub-signature-256': githubSignature(body, opts.secret),
      ...opts.headers,
    },
  };
}

export const stripeV1 = (
  timestamp: number | string,
  body: string | Buffer,
  secret: string = SECRETS.stripe,
) => hmacHex(secret, Buffer.concat([Buffer.from(`${timestamp}.`), Buffer.from(body)]));

export function stripe(
  body: string,
  opts: { timestamp?: number | string; header?: string } = {},
): SignedRequest {
  const t = opts.timestamp ?? nowSeconds();
  return {
    body,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'stripe-signature': opts.header ?? `t=${t},v1=${stripeV1(t, body)}`,
    },
  };
}

export const slackSignature = (
  timestamp: number | string,
  body: string | Buffer,
  secret: string = SECRETS.slack,
) => `v0=${hmacHex(secret, Buffer.concat([Buffer.from(`v0:${timestamp}:`), Buffer.from(body)]))}`;

export function slack(
  body: string | Buffer,
  opts: { timestamp?: number | string; contentType?: string; headers?: Headers } = {},
): SignedRequest {
  const t = opts.timestamp ?? nowSeconds();
  return {
    body,
    headers: {
      'content-type': opts.contentType ?? 'application/json',
      'x-slack-request-timestamp': String(t),
      'x-slack-signature': slackSignature(t, body),
      ...opts.headers,
    },
  };
}

export const linearSignature = (body: string | Buffer, secret: string = SECRETS.linear) =>
  hmacHex(secret, body);

export function linear(
  body: string | Buffer,
  opts: { delivery?: string; headers?: Headers } = {},
): SignedRequest {
  return {
    body,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'linear-delivery': opts.delivery ?? randomUUID(),
      'linear-event': 'Issue',
      'linear-signature': linearSignature(body),
      ...opts.headers,
    },
  };
}

export const standardKey = (secret: string = SECRETS.standard) =>
  Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
export const standardSignature = (id: string, timestamp: number | string, body: string | Buffer) =>
  `v1,${hmacBase64(standardKey(), Buffer.concat([Buffer.from(`${id}.${timestamp}.`), Buffer.from(body)]))}`;

export function standard(
  body: string | Buffer,
  opts: { id?: string; timestamp?: number | string; signature?: string; headers?: Headers } = {},
): SignedRequest {
  const id = opts.id ?? `msg_${randomUUID()}`;
  const t = opts.timestamp ?? nowSeconds();
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(t),
      'webhook-signature': opts.signature ?? standardSignature(id, t, body),
      ...opts.headers,
    },
  };
}

export const shopifySignature = (body: string | Buffer, secret: string = SECRETS.shopify) =>
  hmacBase64(secret, body);

export function shopify(
  body: string | Buffer,
  opts: { topic?: string; webhookId?: string; shop?: string; headers?: Headers } = {},
): SignedRequest {
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': opts.topic ?? 'orders/create',
      'x-shopify-hmac-sha256': shopifySignature(body),
      'x-shopify-shop-domain': opts.shop ?? 'e2e-shop.myshopify.com',
      'x-shopify-webhook-id': opts.webhookId ?? randomUUID(),
      'x-shopify-api-version': '2025-01',
      'x-shopify-triggered-at': new Date().toISOString(),
      ...opts.headers,
    },
  };
}

/** Twilio's scheme per its docs: base64 HMAC-SHA1 of the URL + each POST parameter (sorted) name + value. */
export function twilioSignature(url: string, params: Record<string, string>, token: string = SECRETS.twilio) {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return hmacBase64(token, data, 'sha1');
}

export const sha256Hex = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

export const genericSignature = (
  timestamp: number | string,
  body: string | Buffer,
  secret: string = SECRETS.generic,
) =>
  `t=${timestamp},sha256=${hmacHex(secret, Buffer.concat([Buffer.from(`${timestamp}.`), Buffer.from(body)]))}`;

export function generic(
  body: string | Buffer,
  opts: { timestamp?: number | string; delivery?: string; event?: string; headers?: Headers } = {},
): SignedRequest {
  const t = opts.timestamp ?? nowSeconds();
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-acme-signature': genericSignature(t, body),
      'x-acme-delivery': opts.delivery ?? randomUUID(),
      'x-acme-event': opts.event ?? 'thing.happened',
      ...opts.headers,
    },
  };
}
