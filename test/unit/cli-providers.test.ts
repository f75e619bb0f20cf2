/**
 * `event-router send` samples (cli/providers.ts) through the real ingest path: every provider's adapter verifies the
 * signature, the body parser accepts the content type, and the normaliser assigns the type and delivery id the
 * sample announces. The providers' own libraries cross-check the signatures where they can verify.
 */

import { LinearWebhookClient } from '@linear/sdk/webhooks';
import { verify as octokitVerify } from '@octokit/webhooks-methods';
import { verifySlackRequest } from '@slack/bolt';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import {
  githubSampleTypes,
  SAMPLE_TYPES,
  type SampleOptions,
  type SendProvider,
  type SignedSample,
  signedSample,
} from '../../cli/providers';
import type { GenericHmacConfig, SourceConfig } from '../../core/config';
import { PROVIDERS } from '../../core/contracts';
import { parseBody } from '../../lambdas/ingest/body';
import { getAdapter } from '../../lambdas/ingest/providers';
import type { Normalised, Verification } from '../../lambdas/ingest/providers/types';
import {
  context,
  expectEnvelopeReady,
  expectRejected,
  NOW_MS,
  request,
  sourceFor,
} from './providers/helpers';

const URL_ = 'https://hooks.example.com/router/webhooks/src/tok3n?tenant=acme';

const SECRETS: Readonly<Record<SendProvider, string>> = {
  github: 'gh-cli-secret',
  stripe: 'whsec_cli_stripe_secret',
  slack: 'slack-cli-signing-secret',
  linear: 'lin_wh_cli_secret',
  'standard-webhooks': `whsec_${Buffer.alloc(32, 9).toString('base64')}`,
  shopify: 'shpss_cli_secret',
  twilio: 'twilio-cli-auth-token',
  generic: 'generic-cli-secret',
};
const WRONG: Readonly<Record<SendProvider, string>> = {
  ...Object.fromEntries(PROVIDERS.map((p) => [p, 'not-the-secret'])),
  'standard-webhooks': `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
} as Record<SendProvider, string>;

/** Timestamp in the signature header, delivery id and type headers: the generic scheme's richest shape. */
const GENERIC: GenericHmacConfig = {
  signatureHeader: 'X-Acme-Signature',
  signatureFormat: 't=${timestamp},sha256=${signature}',
  algorithm: 'sha256',
  encoding: 'hex',
  signedContent: '${timestamp}.${body}',
  timestampUnit: 's',
  deliveryIdHeader: 'X-Acme-Delivery',
  eventTypeHeader: 'X-Acme-Event',
};

const options = (provider: SendProvider, extra: Partial<SampleOptions> = {}): SampleOptions => ({
  secret: SECRETS[provider],
  url: URL_,
  now: NOW_MS,
  ...(provider === 'generic' ? { generic: GENERIC } : {}),
  ...extra,
});

const sourceOf = (provider: SendProvider, generic?: GenericHmacConfig): SourceConfig =>
  provider === 'generic' ? sourceFor('generic', generic ?? GENERIC) : sourceFor(provider);

/** What ingest does with the request: verify the raw bytes, parse by content type, normalise. */
function ingest(
  provider: SendProvider,
  sample: SignedSample,
  {
    secret = SECRETS[provider],
    now = NOW_MS,
    generic = GENERIC as GenericHmacConfig | undefined,
    url = sample.url,
  } = {},
): { verification: Verification; normalised: Normalised } {
  const adapter = getAdapter(provider);
  const source = sourceOf(provider, generic);
  const req = request(sample.headers, sample.body, url);
  const verification = adapter.verify(req, context(provider, [secret], { now, source }));
  const parsed = parseBody(req.body, req.headers['content-type'], adapter.bodyFormats);
  if (!parsed.ok) throw new Error(`ingest would answer ${parsed.statusCode}: ${parsed.message}`);
  return { verification, normalised: adapter.normalise(req, parsed.value, source) };
}

/** The sample verifies and the router assigns exactly the type and delivery id it announces. */
function expectRouted(
  provider: SendProvider,
  sample: SignedSample,
  extra: Parameters<typeof ingest>[2] = {},
) {
  const { verification, normalised } = ingest(provider, sample, extra);
  expect(verification).toEqual({ ok: true });
  expect(normalised.type).toBe(sample.type);
  expect(normalised.deliveryId).toBe(sample.deliveryId);
  expectEnvelopeReady(normalised);
  return normalised;
}

/** A type outside SAMPLE_TYPES per provider (GitHub: any payload @octokit/webhooks-examples has), as routed. */
const CUSTOM: Readonly<Record<SendProvider, readonly [input: string, routed: string][]>> = {
  github: [
    ['check_run.completed', 'check_run.completed'],
    ['repository_dispatch.on-demand-test', 'repository_dispatch.on-demand-test'],
  ],
  stripe: [
    ['payment_intent.canceled', 'payment_intent.canceled'],
    ['account.updated', 'account.updated'],
  ],
  slack: [
    ['channel_created', 'channel_created'],
    ['command.webhook-collect', 'command.webhook-collect'],
    ['shortcut', 'shortcut'],
    ['app_rate_limited', 'app_rate_limited'],
  ],
  linear: [
    ['Cycle.update', 'cycle.update'],
    ['issuelabel.create', 'issuelabel.create'],
    ['Widget.archive', 'widget.archive'],
  ],
  'standard-webhooks': [['thing.happened.twice', 'thing.happened.twice']],
  shopify: [
    ['orders/fulfilled', 'orders.fulfilled'],
    ['inventory_levels.update', 'inventory_levels.update'],
  ],
  twilio: [
    ['call.in-progress', 'call.in-progress'],
    ['message.Undelivered', 'message.undelivered'],
    ['transcription.failed', 'transcription.failed'],
    ['com.twilio.messaging.message.delivered', 'com.twilio.messaging.message.delivered'],
  ],
  generic: [['order.shipped', 'order.shipped']],
};

describe('signedSample through the real adapters', () => {
  for (const provider of PROVIDERS) {
    describe(provider, () => {
      it(`defaults to ${SAMPLE_TYPES[provider].default}`, () => {
        const sample = signedSample(provider, options(provider));
        expect(sample.type).toBe(SAMPLE_TYPES[provider].default);
        expectRouted(provider, sample);
      });

      it('sends every listed example type as that type', () => {
        expect(SAMPLE_TYPES[provider].examples).toContain(SAMPLE_TYPES[provider].default);
        for (const type of SAMPLE_TYPES[provider].examples) {
          const sample = signedSample(provider, options(provider, { type }));
          expect(sample.type).toBe(type);
          expectRouted(provider, sample);
        }
      });

      it('sends a custom type', () => {
        for (const [type, routed] of CUSTOM[provider]) {
          const sample = signedSample(provider, options(provider, { type }));
          expect(sample.type).toBe(routed);
          expectRouted(provider, sample);
        }
      });

      it('is rejected under another secret', () => {
        const sample = signedSample(provider, options(provider));
        expectRejected(ingest(provider, sample, { secret: WRONG[provider] }).verification, [
          SECRETS[provider],
        ]);
      });

      it('uses fresh delivery ids (a second send is not deduplicated)', () => {
        const a = signedSample(provider, options(provider));
        const b = signedSample(provider, options(provider));
        if (a.deliveryId !== null) expect(a.deliveryId).not.toBe(b.deliveryId);
      });

      it('sends lower-case header names and header-safe values', () => {
        const sample = signedSample(provider, options(provider));
        for (const [name, value] of Object.entries(sample.headers)) {
          expect(name).toBe(name.toLowerCase());
          expect(value).toMatch(/^[\x20-\x7e]+$/);
        }
        expect(sample.headers['content-type']).toBeDefined();
      });
    });
  }
});

describe('signed timestamps follow `now`', () => {
  const timestamped: SendProvider[] = ['stripe', 'slack', 'linear', 'standard-webhooks', 'generic'];
  for (const provider of timestamped) {
    it(`${provider}: fresh at now, stale ten minutes later`, () => {
      const sample = signedSample(provider, options(provider));
      expect(ingest(provider, sample).verification).toEqual({ ok: true });
      expectRejected(ingest(provider, sample, { now: NOW_MS + 600_000 }).verification);
    });
  }
});

/** A body per provider as a user would give it with --file, and the type the router derives from it. */
const USER_BODIES: Readonly<Record<SendProvider, { body: string; type?: string; routed: string }>> = {
  github: {
    body: JSON.stringify({ action: 'created', issue: { number: 1 }, repository: { full_name: 'acme/app' } }),
    type: 'issue_comment',
    routed: 'issue_comment.created',
  },
  stripe: {
    body: `{\n  "id": "evt_user_1",\n  "object": "event",\n  "type": "customer.deleted",\n  "created": 1,\n  "data": {"object": {"id": "cus_1"}}\n}`,
    routed: 'customer.deleted',
  },
  slack: {
    body: 'command=%2Fdeploy&team_id=T1&channel_id=C1&text=prod&trigger_id=123.456.abc',
    routed: 'command.deploy',
  },
  linear: {
    body: JSON.stringify({
      action: 'update',
      type: 'Comment',
      data: { id: 'c-1' },
      webhookTimestamp: NOW_MS - 1_000,
    }),
    routed: 'comment.update',
  },
  'standard-webhooks': { body: '{"type":"order.refunded","data":{"id":"o-1"}}', routed: 'order.refunded' },
  shopify: { body: '{"id":1,"title":"Hat"}', type: 'products/create', routed: 'products.create' },
  twilio: {
    body: 'CallSid=CA1&CallStatus=busy&From=%2B15005550006&AccountSid=AC1',
    routed: 'call.busy',
  },
  generic: { body: '{"hello":"world"}', type: 'greeting.sent', routed: 'greeting.sent' },
};

describe('a user body (--file)', () => {
  for (const provider of PROVIDERS) {
    it(`${provider}: sent byte for byte, signed, typed as the router will`, () => {
      const { body, type, routed } = USER_BODIES[provider];
      const sample = signedSample(provider, options(provider, { body, ...(type ? { type } : {}) }));
      expect(sample.body).toBe(body);
      expect(sample.type).toBe(routed);
      expectRouted(provider, sample);
    });
  }

  it('stops on a type the body contradicts (the body decides)', () => {
    const stripeBody = USER_BODIES.stripe.body;
    expect(() =>
      signedSample('stripe', options('stripe', { body: stripeBody, type: 'invoice.paid' })),
    ).toThrow(/customer\.deleted/);
    expect(() =>
      signedSample(
        'github',
        options('github', { body: USER_BODIES.github.body, type: 'issue_comment.deleted' }),
      ),
    ).toThrow(/issue_comment\.created/);
    const agreed = signedSample('stripe', options('stripe', { body: stripeBody, type: 'customer.deleted' }));
    expect(agreed.deliveryId).toBe('evt_user_1');
  });

  it('refuses a body the provider cannot send', () => {
    expect(() => signedSample('stripe', options('stripe', { body: 'a=b' }))).toThrow(/JSON/);
    expect(() => signedSample('linear', options('linear', { body: '[1]' }))).toThrow(/JSON object/);
  });

  it('Linear: a stale webhookTimestamp is refreshed (else the verifier refuses it), a fresh one kept', () => {
    const stale = JSON.stringify({ action: 'create', type: 'Issue', data: { id: 'i' }, webhookTimestamp: 1 });
    const sample = signedSample('linear', options('linear', { body: stale }));
    expect(JSON.parse(sample.body)).toEqual({ ...JSON.parse(stale), webhookTimestamp: NOW_MS });
    expectRouted('linear', sample);
    const fresh = signedSample('linear', options('linear', { body: USER_BODIES.linear.body }));
    expect(fresh.body).toBe(USER_BODIES.linear.body);
  });

  it('Slack interactivity (payload=<json>) and JSON bodies', () => {
    const form = new URLSearchParams({
      payload: JSON.stringify({ type: 'view_submission', trigger_id: 't-1' }),
    });
    const sample = signedSample('slack', options('slack', { body: form.toString() }));
    expect(sample).toMatchObject({ type: 'view_submission', deliveryId: 't-1' });
    expect(sample.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expectRouted('slack', sample);
  });

  it('Twilio JSON body: its hash travels in the signed URL (bodySHA256)', () => {
    const body = '{"type":"com.twilio.voice.insights.call-summary.complete","AccountSid":"AC1"}';
    const sample = signedSample('twilio', options('twilio', { body }));
    expect(sample.url).toMatch(
      /^https:\/\/hooks\.example\.com\/router\/webhooks\/src\/tok3n\?tenant=acme&bodySHA256=[0-9a-f]{64}$/,
    );
    expect(sample.type).toBe('com.twilio.voice.insights.call-summary.complete');
    expectRouted('twilio', sample);
    expectRejected(ingest('twilio', sample, { url: URL_ }).verification);
  });

  it('generic without a type header: the type is the body’s `type`, else `webhook`', () => {
    const generic: GenericHmacConfig = { ...GENERIC, eventTypeHeader: undefined };
    const typed = signedSample('generic', options('generic', { generic, body: '{"type":"a.b"}' }));
    expect(typed.type).toBe('a.b');
    expectRouted('generic', typed, { generic });
    const untyped = signedSample('generic', options('generic', { generic, body: '{"x":1}' }));
    expect(untyped.type).toBe('webhook');
    expectRouted('generic', untyped, { generic });
    expect(() =>
      signedSample('generic', options('generic', { generic, body: '{"x":1}', type: 'a.b' })),
    ).toThrow(/webhook/);
  });
});

describe('GitHub types', () => {
  it('throws for a type @octokit/webhooks-examples has no payload for, listing valid ones', () => {
    expect(() => signedSample('github', options('github', { type: 'issues' }))).toThrow(
      /no GitHub sample payload for type "issues".*issues\.opened/,
    );
    expect(() => signedSample('github', options('github', { type: 'no_such_event.done' }))).toThrow(
      /pull_request\.opened, push/,
    );
    expect(() => signedSample('github', options('github', { type: 'pull_request.exploded' }))).toThrow(
      /pull_request\.opened/,
    );
  });

  it('lists every type it can send; the examples are among them', () => {
    const types = githubSampleTypes();
    expect(types.length).toBeGreaterThan(100);
    for (const type of SAMPLE_TYPES.github.examples) expect(types).toContain(type);
  });

  it('puts the event in X-GitHub-Event and the action in the body', () => {
    const sample = signedSample('github', options('github', { type: 'issues.opened' }));
    expect(sample.headers['x-github-event']).toBe('issues');
    expect(JSON.parse(sample.body).action).toBe('opened');
    expect(sample.headers['x-github-delivery']).toBe(sample.deliveryId);
  });
});

describe('provider specifics', () => {
  it('Shopify: a topic in either spelling; the router type uses dots', () => {
    for (const type of ['orders/paid', 'orders.paid']) {
      const sample = signedSample('shopify', options('shopify', { type }));
      expect(sample.headers['x-shopify-topic']).toBe('orders/paid');
      expect(sample.type).toBe('orders.paid');
    }
  });

  it('Slack url_verification: a handshake, nothing stored', () => {
    const sample = signedSample('slack', options('slack', { type: 'url_verification' }));
    const normalised = expectRouted('slack', sample);
    expect(normalised.handshake?.body).toBe(JSON.parse(sample.body).challenge);
    expect(sample.deliveryId).toBeNull();
  });

  it('Twilio: status callbacks are form posts signed over the given URL', () => {
    const sample = signedSample('twilio', options('twilio', { type: 'call.completed' }));
    expect(sample.url).toBe(URL_);
    expect(sample.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(sample.body))).toMatchObject({ CallStatus: 'completed' });
    expectRejected(ingest('twilio', sample, { url: 'https://hooks.example.com/other' }).verification);
    expect(() => signedSample('twilio', options('twilio', { url: '' }))).toThrow(/url/);
  });

  it('Standard Webhooks: the secret must be whsec_<base64>', () => {
    expect(() =>
      signedSample('standard-webhooks', options('standard-webhooks', { secret: 'whsec_!!' })),
    ).toThrow(/whsec_/);
  });

  it('rejects an empty secret, a missing generic config and unsendable types', () => {
    expect(() => signedSample('github', options('github', { secret: '' }))).toThrow(/secret/);
    expect(() => signedSample('generic', { secret: 's', url: URL_ })).toThrow(/generic config/);
    expect(() => signedSample('stripe', options('stripe', { type: 'bad\r\ntype' }))).toThrow(/ASCII/);
    expect(() => signedSample('stripe', options('stripe', { type: 'x'.repeat(129) }))).toThrow(/128/);
  });
});

describe('generic: every scheme the config can describe', () => {
  const CONFIGS: Record<string, Partial<GenericHmacConfig> & { signatureHeader: string }> = {
    'bare hex over the body': { signatureHeader: 'X-Signature' },
    'prefixed sha1': {
      signatureHeader: 'X-Hub-Signature',
      signatureFormat: 'sha1=${signature}',
      algorithm: 'sha1',
    },
    'base64 sha512, ms timestamp header, id signed': {
      signatureHeader: 'X-Sig',
      algorithm: 'sha512',
      encoding: 'base64',
      timestampHeader: 'X-Timestamp',
      timestampUnit: 'ms',
      signedContent: '${id}:${timestamp}:${body}',
      deliveryIdHeader: 'X-Id',
      eventTypeHeader: 'X-Type',
    },
    'timestamp header not signed (checked only)': {
      signatureHeader: 'X-Sig',
      timestampHeader: 'X-Ts',
    },
  };
  for (const [name, partial] of Object.entries(CONFIGS)) {
    it(name, () => {
      const generic = sourceFor('generic', partial).generic!;
      const sample = signedSample('generic', options('generic', { generic, type: 'thing.done' }));
      expect(sample.type).toBe('thing.done');
      expect(sample.deliveryId === null).toBe(generic.deliveryIdHeader === undefined);
      expectRouted('generic', sample, { generic });
      expectRejected(ingest('generic', sample, { generic, secret: 'other' }).verification);
    });
  }

  it('refuses configs no sender could satisfy', () => {
    const base = { signatureHeader: 'X-Sig' };
    const noTimestamp = sourceFor('generic', { ...base, signedContent: '${timestamp}.${body}' }).generic!;
    expect(() => signedSample('generic', options('generic', { generic: noTimestamp }))).toThrow(/timestamp/);
    const noId = sourceFor('generic', { ...base, signedContent: '${id}.${body}' }).generic!;
    expect(() => signedSample('generic', options('generic', { generic: noId }))).toThrow(/deliveryIdHeader/);
  });
});

/** The providers' own libraries read the real clock: these samples are built at it. */
describe("cross-checked with the providers' own libraries", () => {
  const live = (provider: SendProvider, extra: Partial<SampleOptions> = {}) =>
    signedSample(provider, { ...options(provider, extra), now: undefined });

  it('GitHub: @octokit/webhooks-methods verify', async () => {
    for (const type of ['pull_request.opened', 'push']) {
      const sample = live('github', { type });
      expect(await octokitVerify(SECRETS.github, sample.body, sample.headers['x-hub-signature-256']!)).toBe(
        true,
      );
      expect(await octokitVerify(WRONG.github, sample.body, sample.headers['x-hub-signature-256']!)).toBe(
        false,
      );
    }
  });

  it('Stripe: stripe.webhooks.constructEvent', () => {
    const client = new Stripe('sk_test_cli_not_a_real_key');
    for (const type of SAMPLE_TYPES.stripe.examples) {
      const sample = live('stripe', { type });
      const event = client.webhooks.constructEvent(
        sample.body,
        sample.headers['stripe-signature']!,
        SECRETS.stripe,
      );
      expect(event.type).toBe(sample.type);
      expect(event.id).toBe(sample.deliveryId);
      expect(() =>
        client.webhooks.constructEvent(sample.body, sample.headers['stripe-signature']!, WRONG.stripe),
      ).toThrow();
    }
  });

  it('Standard Webhooks: standardwebhooks Webhook.verify', () => {
    const sample = live('standard-webhooks');
    const payload = new Webhook(SECRETS['standard-webhooks']).verify(sample.body, sample.headers);
    expect(payload).toMatchObject({ type: sample.type });
    expect(() => new Webhook(WRONG['standard-webhooks']).verify(sample.body, sample.headers)).toThrow();
  });

  it('Twilio: validateRequest (form) and validateRequestWithBody (JSON with bodySHA256)', () => {
    const form = live('twilio', { type: 'message.delivered' });
    const params = Object.fromEntries(new URLSearchParams(form.body));
    const signature = form.headers['x-twilio-signature']!;
    expect(twilio.validateRequest(SECRETS.twilio, signature, form.url, params)).toBe(true);
    expect(twilio.validateRequest(WRONG.twilio, signature, form.url, params)).toBe(false);

    const json = live('twilio', { type: 'com.twilio.messaging.message.delivered' });
    expect(
      twilio.validateRequestWithBody(
        SECRETS.twilio,
        json.headers['x-twilio-signature']!,
        json.url,
        json.body,
      ),
    ).toBe(true);
  });

  it('Slack: @slack/bolt verifySlackRequest', () => {
    for (const type of ['app_mention', 'command.deploy', 'block_actions']) {
      const sample = live('slack', { type });
      const headers = {
        'x-slack-signature': sample.headers['x-slack-signature']!,
        'x-slack-request-timestamp': Number(sample.headers['x-slack-request-timestamp']),
      };
      expect(() =>
        verifySlackRequest({ signingSecret: SECRETS.slack, body: sample.body, headers }),
      ).not.toThrow();
      expect(() => verifySlackRequest({ signingSecret: WRONG.slack, body: sample.body, headers })).toThrow();
    }
  });

  it('Linear: @linear/sdk LinearWebhookClient.verify', () => {
    const sample = live('linear');
    const signature = sample.headers['linear-signature']!;
    expect(new LinearWebhookClient(SECRETS.linear).verify(Buffer.from(sample.body), signature)).toBe(true);
    expect(() => new LinearWebhookClient(WRONG.linear).verify(Buffer.from(sample.body), signature)).toThrow();
  });
});
