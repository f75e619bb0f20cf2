/**
 * Every provider through the local stack over real HTTP, signed by the provider's own library where it can sign
 * (Stripe, @octokit/webhooks-methods, standardwebhooks, Twilio) and per the provider's documentation otherwise
 * (Slack, Linear, Shopify — cross-checked with Slack's and Linear's own verifiers): 202 with an id, stored with the
 * expected type / deliveryId / subject, delivered to the target signed per Standard Webhooks.
 */
import { randomUUID } from 'node:crypto';
import { LinearWebhookClient } from '@linear/sdk/webhooks';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../core/config';
import { githubExample } from '../../local/sample-webhook';
import { type E2E, RECORDING_TARGET, startE2E } from './support/harness';
import {
  generic,
  type Headers,
  linear,
  linearSignature,
  providerSources,
  SECRETS,
  secretEnv,
  shopify,
  slack,
  slackSignature,
} from './support/providers';

/** A custom domain with a base path: API Gateway's rawPath omits `/router`, the configured base puts it back. */
const PUBLIC_BASE_URL = 'https://hooks.example.com/router';
const ROTATION = ['rotated-new-secret', 'rotated-old-secret'];

const config: RouterConfigInput = {
  sources: [
    ...providerSources(),
    {
      name: 'twilio-public',
      provider: 'twilio',
      secret: { secretName: 'e2e/twilio' },
      publicUrl: PUBLIC_BASE_URL,
    },
    { name: 'svix', provider: 'standard-webhooks', secret: { secretName: 'e2e/standard' } },
    // No override: the local default secret must be one the official library can sign with (whsec_ + base64).
    {
      name: 'standard-default',
      provider: 'standard-webhooks',
      secret: { secretName: 'e2e/standard-default' },
    },
    { name: 'rotating', provider: 'github', secret: { secretName: 'e2e/rotating' } },
  ],
  targets: [RECORDING_TARGET],
  liveStream: { enabled: false },
};

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E(config, { secretEnv: secretEnv({ 'e2e/rotating': JSON.stringify(ROTATION) }) });
});
afterAll(async () => {
  await e2e?.stop();
});

const stripeClient = new Stripe('sk_test_e2e_not_a_real_key');
const { getExpectedTwilioSignature, getExpectedBodyHash } = twilio;

interface Expected {
  readonly type: string;
  readonly deliveryId: string;
  readonly subject: string | null;
  readonly providerTime?: string | null;
}

interface ProviderCase {
  readonly name: string;
  readonly source: string;
  readonly provider: string;
  /** Builds the signed request (the stack must be up: Twilio signs the URL). */
  readonly build: () => Promise<{
    headers: Headers;
    body: string;
    query?: string;
    expected: Expected;
    /** The payload as the target should receive it in `data`. */
    data: unknown;
  }>;
}

const CASES: ProviderCase[] = [
  {
    name: 'GitHub (@octokit/webhooks-methods sign, @octokit/webhooks-examples payload)',
    source: 'github',
    provider: 'github',
    async build() {
      const payload = githubExample('issues', 'opened');
      const body = JSON.stringify(payload);
      const delivery = randomUUID();
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/e2e',
          'x-github-event': 'issues',
          'x-github-delivery': delivery,
          'x-hub-signature-256': await octokitSign(SECRETS.github, body),
        },
        expected: {
          type: 'issues.opened',
          deliveryId: delivery,
          subject: (payload.repository as { full_name: string }).full_name,
          providerTime: null,
        },
        data: payload,
      };
    },
  },
  {
    name: 'Stripe (stripe.webhooks.generateTestHeaderString)',
    source: 'stripe',
    provider: 'stripe',
    async build() {
      const id = `evt_${randomUUID().replaceAll('-', '')}`;
      const created = Math.floor(Date.now() / 1000) - 5;
      const payload = {
        id,
        object: 'event',
        api_version: '2024-06-20',
        created,
        type: 'invoice.paid',
        livemode: false,
        data: { object: { id: 'in_1NG8Du2eZvKYlo2C', object: 'invoice', customer: 'cus_9s6XKzkNRiz8i3' } },
      };
      const body = JSON.stringify(payload, null, 2);
      const header = stripeClient.webhooks.generateTestHeaderString({
        payload: body,
        secret: SECRETS.stripe,
      });
      // The library that signs also verifies: an independent check of the header we send.
      expect(stripeClient.webhooks.constructEvent(body, header, SECRETS.stripe).id).toBe(id);
      return {
        body,
        headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header },
        expected: {
          type: 'invoice.paid',
          deliveryId: id,
          subject: 'cus_9s6XKzkNRiz8i3',
          providerTime: new Date(created * 1000).toISOString(),
        },
        data: payload,
      };
    },
  },
  {
    name: 'Standard Webhooks (standardwebhooks Webhook.sign)',
    source: 'standard',
    provider: 'standard-webhooks',
    async build() {
      const id = `msg_${randomUUID()}`;
      const now = new Date();
      const payload = { type: 'user.created', timestamp: now.toISOString(), data: { id: 'u_1' } };
      const body = JSON.stringify(payload);
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': new Webhook(SECRETS.standard).sign(id, now, body),
        },
        expected: { type: 'user.created', deliveryId: id, subject: null, providerTime: now.toISOString() },
        data: payload,
      };
    },
  },
  {
    name: 'Svix header names (standardwebhooks Webhook.sign)',
    source: 'svix',
    provider: 'standard-webhooks',
    async build() {
      const id = `msg_${randomUUID()}`;
      const now = new Date();
      const payload = { type: 'invoice.created', data: { id: 'inv_1' } };
      const body = JSON.stringify(payload);
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'svix-id': id,
          'svix-timestamp': String(Math.floor(now.getTime() / 1000)),
          'svix-signature': new Webhook(SECRETS.standard).sign(id, now, body),
        },
        expected: { type: 'invoice.created', deliveryId: id, subject: null },
        data: payload,
      };
    },
  },
  {
    name: 'Standard Webhooks with the local default secret (no override)',
    source: 'standard-default',
    provider: 'standard-webhooks',
    async build() {
      const secret = e2e.stack.secrets.source('standard-default');
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      const id = `msg_${randomUUID()}`;
      const now = new Date();
      const payload = { type: 'user.created', data: { id: 'u_1' } };
      const body = JSON.stringify(payload);
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': new Webhook(secret).sign(id, now, body),
        },
        expected: { type: 'user.created', deliveryId: id, subject: null },
        data: payload,
      };
    },
  },
  {
    name: 'Slack Events API (per docs; checked with @slack/bolt verifySlackRequest)',
    source: 'slack',
    provider: 'slack',
    async build() {
      const eventId = `Ev${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;
      const eventTime = Math.floor(Date.now() / 1000) - 2;
      const payload = {
        token: 'XXYYZZ',
        team_id: 'T123ABC456',
        api_app_id: 'A123ABC456',
        event: {
          type: 'app_mention',
          user: 'U123',
          text: '<@U0LAN0Z89> is it everything?',
          channel: 'C123ABC456',
        },
        type: 'event_callback',
        event_id: eventId,
        event_time: eventTime,
      };
      const body = JSON.stringify(payload);
      const request = slack(body);
      await expectSlackAccepts(body, request.headers);
      return {
        ...request,
        body,
        expected: {
          type: 'app_mention',
          deliveryId: eventId,
          subject: 'C123ABC456',
          providerTime: new Date(eventTime * 1000).toISOString(),
        },
        data: payload,
      };
    },
  },
  {
    name: 'Linear (per docs; checked with @linear/sdk LinearWebhookClient.verify)',
    source: 'linear',
    provider: 'linear',
    async build() {
      const delivery = randomUUID();
      const createdAt = new Date().toISOString();
      const payload = {
        action: 'create',
        type: 'Issue',
        createdAt,
        organizationId: 'org_1',
        webhookTimestamp: Date.now(),
        webhookId: 'wh_1',
        url: 'https://linear.app/acme/issue/ENG-123',
        data: { id: 'f0c9a1b2', identifier: 'ENG-123', title: 'e2e' },
      };
      const body = JSON.stringify(payload);
      expect(new LinearWebhookClient(SECRETS.linear).verify(Buffer.from(body), linearSignature(body))).toBe(
        true,
      );
      return {
        ...linear(body, { delivery }),
        body,
        expected: { type: 'issue.create', deliveryId: delivery, subject: 'ENG-123', providerTime: createdAt },
        data: payload,
      };
    },
  },
  {
    name: 'Shopify (per docs: base64 HMAC-SHA256 of the raw body)',
    source: 'shopify',
    provider: 'shopify',
    async build() {
      const webhookId = randomUUID();
      const payload = { id: 820982911946154500, email: 'jon@example.com', total_price: '403.00' };
      const body = JSON.stringify(payload);
      return {
        ...shopify(body, { topic: 'orders/create', webhookId, shop: 'acme.myshopify.com' }),
        body,
        expected: { type: 'orders.create', deliveryId: webhookId, subject: 'acme.myshopify.com' },
        data: payload,
      };
    },
  },
  {
    name: 'Twilio form POST (twilio getExpectedTwilioSignature over the URL the stack sees)',
    source: 'twilio',
    provider: 'twilio',
    async build() {
      const sid = `SM${randomUUID().replaceAll('-', '')}`;
      const params = {
        AccountSid: 'AC0123456789abcdef0123456789abcdef',
        ApiVersion: '2010-04-01',
        Body: 'Hello from e2e — ünïcödé & symbols=+',
        From: '+14158675309',
        MessageSid: sid,
        NumMedia: '0',
        SmsMessageSid: sid,
        SmsSid: sid,
        SmsStatus: 'received',
        To: '+18005551212',
      };
      const url = e2e.stack.webhookUrl('twilio');
      return {
        body: new URLSearchParams(params).toString(),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': getExpectedTwilioSignature(SECRETS.twilio, url, params),
        },
        expected: { type: 'message.received', deliveryId: `${sid}:received`, subject: '+14158675309' },
        data: params,
      };
    },
  },
  {
    name: 'Twilio JSON body behind a configured publicUrl (bodySHA256 in the signed URL)',
    source: 'twilio-public',
    provider: 'twilio',
    async build() {
      const id = `EV${randomUUID().replaceAll('-', '')}`;
      const payload = { type: 'com.twilio.messaging.message.delivered', id, AccountSid: 'AC0123' };
      const body = JSON.stringify(payload);
      const query = `?bodySHA256=${getExpectedBodyHash(body)}`;
      const token = randomUUID();
      return {
        body,
        query,
        headers: {
          'content-type': 'application/json',
          'i-twilio-idempotency-token': token,
          'x-twilio-signature': getExpectedTwilioSignature(
            SECRETS.twilio,
            `${PUBLIC_BASE_URL}/webhooks/twilio-public/${e2e.stack.secrets.urlToken('twilio-public')}${query}`,
            {},
          ),
        },
        expected: { type: 'com.twilio.messaging.message.delivered', deliveryId: token, subject: 'AC0123' },
        data: payload,
      };
    },
  },
  {
    name: 'generic HMAC (t=<ts>,sha256=<hex> over "<ts>.<body>")',
    source: 'generic',
    provider: 'generic',
    async build() {
      const delivery = randomUUID();
      const payload = { hello: 'world', n: 1 };
      const body = JSON.stringify(payload);
      return {
        ...generic(body, { delivery, event: 'widget.updated' }),
        body,
        expected: { type: 'widget.updated', deliveryId: delivery, subject: null },
        data: payload,
      };
    },
  },
];

async function expectSlackAccepts(body: string, headers: Headers) {
  const { verifySlackRequest } = await import('@slack/bolt');
  expect(() =>
    verifySlackRequest({
      signingSecret: SECRETS.slack,
      body,
      headers: {
        'x-slack-signature': String(headers['x-slack-signature']),
        'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']),
      },
    }),
  ).not.toThrow();
}

describe('every provider through the local stack', () => {
  const accepted: { id: string; data: unknown; source: string }[] = [];

  for (const c of CASES) {
    it(`${c.name} → 202, stored, normalised`, async () => {
      const { headers, body, query, expected, data } = await c.build();
      const res = await e2e.post(c.source, { headers, body }, query);
      expect(res.status, res.text).toBe(202);
      expect(res.json?.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      const stored = await e2e.stored(c.source, expected.deliveryId);
      expect(stored, 'stored under its delivery id').toBeDefined();
      expect(stored!.envelope).toMatchObject({
        id: res.json!.id,
        source: c.source,
        provider: c.provider,
        type: expected.type,
        deliveryId: expected.deliveryId,
        subject: expected.subject,
        data,
      });
      if (expected.providerTime !== undefined)
        expect(stored!.envelope.providerTime).toBe(expected.providerTime);
      // Signature headers never reach the envelope.
      expect(Object.keys(stored!.envelope.headers).filter((h) => /signature|hmac/.test(h))).toEqual([]);
      accepted.push({ id: res.json!.id!, data, source: c.source });
    });
  }

  it('delivers every accepted event to the target, signed per Standard Webhooks, with its payload', async () => {
    expect(accepted).toHaveLength(CASES.length);
    const verifier = new Webhook(e2e.stack.secrets.target('all'));
    for (const { id, data, source } of accepted) {
      const delivery = await e2e.waitForDelivery(id);
      const verified = verifier.verify(delivery.body, delivery.headers as Record<string, string>) as {
        id: string;
        source: string;
        data: unknown;
      };
      expect(verified).toMatchObject({ id, source, data });
    }
  });
});

describe('Slack url_verification', () => {
  it('answers the challenge as text/plain and stores nothing', async () => {
    const before = (await e2e.events()).length;
    const challenge = `3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P-${randomUUID()}`;
    const body = JSON.stringify({ token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge, type: 'url_verification' });
    const res = await e2e.post('slack', slack(body));
    expect(res.status).toBe(200);
    expect(res.text).toBe(challenge);
    expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
    expect((await e2e.events()).length).toBe(before);
    await e2e.settle(500);
    expect(e2e.deliveries.filter((d) => d.body.includes(challenge))).toEqual([]);
  });

  it('a url_verification with a wrong signature is 401, not answered', async () => {
    const body = JSON.stringify({ challenge: 'nope', type: 'url_verification' });
    const request = slack(body);
    const res = await e2e.post('slack', {
      body,
      headers: { ...request.headers, 'x-slack-signature': slackSignature(Date.now(), body, 'other-secret') },
    });
    expect(res.status).toBe(401);
    expect(res.text).not.toBe('nope');
  });
});

describe('secret rotation (the local secret is a JSON array of two secrets)', () => {
  const pushBody = () =>
    JSON.stringify({
      ref: 'refs/heads/main',
      after: randomUUID(),
      repository: { full_name: 'octo/rotating' },
    });

  it('the stack hands out the first secret as the sender secret', () => {
    expect(e2e.stack.secrets.source('rotating')).toBe(ROTATION[0]);
  });

  for (const [label, secret] of [
    ['new', ROTATION[0]!],
    ['old', ROTATION[1]!],
  ] as const) {
    it(`accepts a webhook signed with the ${label} secret`, async () => {
      const body = pushBody();
      const delivery = randomUUID();
      const res = await e2e.post('rotating', {
        body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': delivery,
          'x-hub-signature-256': await octokitSign(secret, body),
        },
      });
      expect(res.status, res.text).toBe(202);
      expect((await e2e.stored('rotating', delivery))?.envelope).toMatchObject({
        type: 'push',
        subject: 'octo/rotating',
      });
    });
  }

  it('rejects a third secret, the JSON array text itself, and the array joined', async () => {
    const before = (await e2e.events()).length;
    for (const secret of ['some-other-secret', JSON.stringify(ROTATION), ROTATION.join(',')]) {
      const body = pushBody();
      const res = await e2e.post('rotating', {
        body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': await octokitSign(secret, body),
        },
      });
      expect(res.status).toBe(401);
    }
    expect((await e2e.events()).length).toBe(before);
  });
});
