/** Properties: verify and normalise never throw, and a random signature never verifies. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROVIDERS, type ProviderName } from '../../../core/contracts';
import { getAdapter } from '../../../lambdas/ingest/providers';
import type { WebhookRequest } from '../../../lambdas/ingest/providers/types';
import { expectEnvelopeReady, KNOWN_HEADERS, NOW_MS, NOW_S, request, sourceFor, verify } from './helpers';

const genericConfig = {
  signatureHeader: 'x-sig',
  signatureFormat: 't=${timestamp},v1=${signature}',
  signedContent: '${timestamp}.${id}.${body}',
  deliveryIdHeader: 'x-id',
  eventTypeHeader: 'x-type',
};
const sourceOf = (provider: ProviderName) =>
  provider === 'generic' ? sourceFor('generic', genericConfig) : sourceFor(provider);

const headerValue = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '',
    ' ',
    ',',
    'sha256=',
    'v0=',
    'v1,',
    't=,v1=',
    `${NOW_S}`,
    `${NOW_MS}`,
    '1e3',
    '-1',
    'NaN',
  ),
  fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256=${h}`),
  fc.uint8Array({ minLength: 20, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64')),
);
const headersArb = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...KNOWN_HEADERS), headerValue, { maxKeys: 12 }),
    fc.dictionary(fc.string({ maxLength: 20 }), fc.string(), { maxKeys: 4 }),
  )
  .map(([known, other]) => ({ ...other, ...known }));
const bodyArb = fc.oneof(
  fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
  fc.json().map((j) => Buffer.from(j)),
  fc.string().map((s) => Buffer.from(`payload=${encodeURIComponent(s)}`)),
);
const urlArb = fc.oneof(fc.webUrl({ withQueryParameters: true }), fc.string(), fc.constant(''));
const secretsArb = fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 3 });
const providerArb = fc.constantFrom(...PROVIDERS);

const toRequest = (headers: Record<string, string>, body: Buffer, url: string): WebhookRequest => ({
  headers,
  body,
  url,
  query: {},
});

describe('verify properties', () => {
  it('never throws and never verifies random headers and bodies', () => {
    fc.assert(
      fc.property(
        providerArb,
        headersArb,
        bodyArb,
        urlArb,
        secretsArb,
        (provider, headers, body, url, secrets) => {
          const result = getAdapter(provider).verify(toRequest(headers, body, url), {
            secrets,
            now: NOW_MS,
            toleranceSeconds: 300,
            source: sourceOf(provider),
          });
          expect(result.ok).toBe(false);
          if (!result.ok) {
            expect(typeof result.reason).toBe('string');
            for (const secret of secrets) if (secret.length >= 8) expect(result.reason).not.toContain(secret);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('never verifies a well-formed random signature with a fresh timestamp', () => {
    const signed = (provider: ProviderName, digest: Buffer, body: Buffer): WebhookRequest => {
      const h = digest.toString('hex');
      const ts = `${NOW_S}`;
      const headers: Record<ProviderName, Record<string, string>> = {
        github: { 'x-hub-signature-256': `sha256=${h.slice(0, 64)}` },
        stripe: { 'stripe-signature': `t=${ts},v1=${h.slice(0, 64)}` },
        slack: { 'x-slack-signature': `v0=${h.slice(0, 64)}`, 'x-slack-request-timestamp': ts },
        linear: { 'linear-signature': h.slice(0, 64) },
        'standard-webhooks': {
          'webhook-id': 'msg_1',
          'webhook-timestamp': ts,
          'webhook-signature': `v1,${digest.subarray(0, 32).toString('base64')}`,
        },
        shopify: { 'x-shopify-hmac-sha256': digest.subarray(0, 32).toString('base64') },
        twilio: { 'x-twilio-signature': digest.subarray(0, 20).toString('base64') },
        generic: { 'x-sig': `t=${ts},v1=${h.slice(0, 64)}`, 'x-id': 'd-1' },
      };
      return request(headers[provider], body, 'https://hooks.example.com/webhooks/src');
    };
    fc.assert(
      fc.property(
        providerArb,
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        bodyArb,
        secretsArb,
        (provider, digest, body, secrets) => {
          const result = verify(provider, signed(provider, Buffer.from(digest), body), secrets, {
            source: sourceOf(provider),
          });
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('normalise properties', () => {
  const bodyValue = fc.oneof(
    fc.jsonValue(),
    fc.anything({
      withNullPrototype: true,
      withObjectString: true,
      withBigInt: true,
      withDate: true,
      withMap: true,
    }),
    fc.jsonValue().map((v) => JSON.parse(`{"__proto__":${JSON.stringify(v) ?? 'null'},"type":"x"}`)),
    fc.dictionary(
      fc.constantFrom(
        'type',
        'action',
        'event',
        'data',
        'id',
        'created',
        'event_time',
        'command',
        'challenge',
        'webhookTimestamp',
        'MessageSid',
        'CallSid',
        'CallStatus',
        'From',
        'Timestamp',
        'repository',
        'customer',
        'timestamp',
        'createdAt',
        '__proto__',
      ),
      fc.jsonValue(),
    ),
  );

  it('never throws and always yields an envelope-ready result', () => {
    fc.assert(
      fc.property(providerArb, headersArb, bodyValue, (provider, headers, body) => {
        const result = getAdapter(provider).normalise(
          toRequest(headers, Buffer.alloc(0), ''),
          body,
          sourceOf(provider),
        );
        expectEnvelopeReady(result);
        if (result.handshake) expect(typeof result.handshake.body).toBe('string');
      }),
      { numRuns: 1500 },
    );
  });
});
