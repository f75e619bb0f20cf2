/** Shared fixtures for the provider adapter tests. */
import { expect } from 'vitest';
import { z } from 'zod';
// Type-only: core/config's runtime graph is not needed to exercise the pure adapters.
import type { GenericHmacConfig, SourceConfig } from '../../../core/config';
import type { ProviderName } from '../../../core/contracts';
import { getAdapter } from '../../../lambdas/ingest/providers';
import type {
  Normalised,
  Verification,
  VerifyContext,
  WebhookRequest,
} from '../../../lambdas/ingest/providers/types';

/** 2023-11-14T22:13:20Z, a fixed clock for every test. */
export const NOW_MS = 1_700_000_000_000;
export const NOW_S = NOW_MS / 1000;

/** A source as `SourceSchema` would parse it (defaults filled in by hand, see core/config.ts). */
export function sourceFor(provider: ProviderName, generic?: Partial<GenericHmacConfig>): SourceConfig {
  const base: SourceConfig = {
    name: 'src',
    provider,
    secret: { secretName: 'event-router/test' },
    maxBodyBytes: 1024 * 1024,
    rateLimitPerSecond: 50,
    burstLimit: 100,
    bodyHashDedupeSeconds: 300,
  };
  if (!generic) return base;
  return {
    ...base,
    generic: {
      signatureHeader: 'x-signature',
      signatureFormat: '${signature}',
      algorithm: 'sha256',
      encoding: 'hex',
      signedContent: '${body}',
      timestampUnit: 's',
      ...generic,
    },
  };
}

export function request(
  headers: Record<string, string>,
  body: string | Buffer,
  url = 'https://hooks.example.com/webhooks/src',
): WebhookRequest {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  let query: Record<string, string> = {};
  try {
    query = Object.fromEntries(new URL(url).searchParams);
  } catch {
    query = {};
  }
  return { headers: lower, body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body, url, query };
}

export function context(
  provider: ProviderName,
  secrets: readonly string[],
  options: { now?: number; toleranceSeconds?: number; source?: SourceConfig } = {},
): VerifyContext {
  return {
    secrets,
    now: options.now ?? NOW_MS,
    toleranceSeconds: options.toleranceSeconds ?? getAdapter(provider).defaultToleranceSeconds,
    source: options.source ?? sourceFor(provider),
  };
}

/** Verifies with the registered adapter for `provider`. */
export function verify(
  provider: ProviderName,
  req: WebhookRequest,
  secrets: readonly string[],
  options: Parameters<typeof context>[2] = {},
): Verification {
  return getAdapter(provider).verify(req, context(provider, secrets, options));
}

export function expectRejected(result: Verification, secrets: readonly string[] = []): string {
  expect(result.ok).toBe(false);
  const reason = result.ok ? '' : result.reason;
  expect(reason.length).toBeGreaterThan(0);
  expect(reason.length).toBeLessThan(200);
  for (const secret of secrets) if (secret.length >= 4) expect(reason).not.toContain(secret);
  return reason;
}

const NormalisedSchema = z.object({
  type: z.string().min(1).max(128),
  deliveryId: z.string().min(1).nullable(),
  providerTime: z.string().datetime().nullable(),
  subject: z.string().nullable(),
});

/** What the envelope requires of a normalised result (EnvelopeSchema's type/deliveryId/providerTime/subject). */
export function expectEnvelopeReady(normalised: Normalised): void {
  expect(NormalisedSchema.safeParse(normalised).success).toBe(true);
}

/** Every header name any adapter reads, so random maps hit the interesting paths. */
export const KNOWN_HEADERS = [
  'x-hub-signature-256',
  'x-github-event',
  'x-github-delivery',
  'stripe-signature',
  'x-slack-signature',
  'x-slack-request-timestamp',
  'linear-signature',
  'linear-delivery',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'svix-id',
  'svix-timestamp',
  'svix-signature',
  'x-shopify-hmac-sha256',
  'x-shopify-topic',
  'x-shopify-webhook-id',
  'x-shopify-triggered-at',
  'x-twilio-signature',
  'i-twilio-idempotency-token',
  'x-sig',
  'x-id',
  'x-type',
  '__proto__',
  'constructor',
  'toString',
];
