/**
 * The provider registry: one pure adapter per provider (signature check and payload normalisation).
 * See each module's header for what it decides for type, delivery id, time and subject.
 */
import type { ProviderName } from '../../../core/contracts';
import { genericAdapter } from './generic';
import { githubAdapter } from './github';
import { linearAdapter } from './linear';
import { shopifyAdapter } from './shopify';
import { slackAdapter } from './slack';
import { standardWebhooksAdapter } from './standard-webhooks';
import { stripeAdapter } from './stripe';
import { twilioAdapter } from './twilio';
import type { ProviderAdapter } from './types';

export const ADAPTERS: Readonly<Record<ProviderName, ProviderAdapter>> = Object.freeze({
  github: githubAdapter,
  stripe: stripeAdapter,
  slack: slackAdapter,
  linear: linearAdapter,
  'standard-webhooks': standardWebhooksAdapter,
  shopify: shopifyAdapter,
  twilio: twilioAdapter,
  generic: genericAdapter,
});

/** The adapter of a provider. Throws only for a name outside PROVIDERS (a config bug, never request input). */
export function getAdapter(provider: ProviderName): ProviderAdapter {
  const adapter = Object.hasOwn(ADAPTERS, provider) ? ADAPTERS[provider] : undefined;
  if (!adapter) throw new Error(`no adapter for provider "${String(provider)}"`);
  return adapter;
}

/** Headers to copy into the envelope for a source: the adapter's per-source list when it has one. */
export function keptHeadersFor(
  adapter: ProviderAdapter,
  source: Parameters<ProviderAdapter['normalise']>[2],
): readonly string[] {
  return adapter.keptHeadersFor ? adapter.keptHeadersFor(source) : adapter.keptHeaders;
}

export type {
  BodyFormat,
  Normalised,
  ProviderAdapter,
  Verification,
  VerifyContext,
  WebhookRequest,
} from './types';
