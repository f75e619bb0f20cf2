/**
 * The bad-inputs table (docs: /work/shared/reference/bad-inputs.md) at the verifier level: every malformed signature
 * or timestamp is `ok: false` with a short reason, never a throw, for every provider.
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ProviderName } from '../../../core/contracts';
import type { WebhookRequest } from '../../../lambdas/ingest/providers/types';
import { expectRejected, NOW_MS, NOW_S, request, sourceFor, verify } from './helpers';

const SECRET = 'bad-inputs-secret';
const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const body = '{"type":"ping","webhookTimestamp":1700000000000}';
const hex = (content: string | Buffer, secret: string | Buffer = SECRET, alg = 'sha256') =>
  createHmac(alg, secret).update(content).digest('hex');
const b64 = (content: string | Buffer, secret: string | Buffer = SECRET, alg = 'sha256') =>
  createHmac(alg, secret).update(content).digest('base64');
const swKey = Buffer.from(SW_SECRET.slice(6), 'base64');
const TWILIO_URL = 'https://hooks.example.com/webhooks/src';

const genericSource = sourceFor('generic', {
  signatureHeader: 'x-sig',
  signatureFormat: 't=${timestamp},v1=${signature}',
  signedContent: '${timestamp}.${body}',
});

type Row = readonly [label: string, request: WebhookRequest];

/** Per provider: a request that verifies, and bad variants of it. */
const cases: Record<ProviderName, { good: WebhookRequest; bad: Row[]; secrets: string[] }> = {
  github: {
    secrets: [SECRET],
    good: request({ 'x-hub-signature-256': `sha256=${hex(body)}` }, body),
    bad: [
      ['missing signature', request({}, body)],
      ['empty signature', request({ 'x-hub-signature-256': '' }, body)],
      ['wrong length', request({ 'x-hub-signature-256': `sha256=${hex(body).slice(2)}` }, body)],
      ['too long', request({ 'x-hub-signature-256': `sha256=${hex(body)}00` }, body)],
      ['non-hex', request({ 'x-hub-signature-256': `sha256=${hex(body).slice(0, 62)}zz` }, body)],
      ['wrong prefix', request({ 'x-hub-signature-256': `sha1=${hex(body)}` }, body)],
      ['no prefix', request({ 'x-hub-signature-256': hex(body) }, body)],
      ['upper-case prefix', request({ 'x-hub-signature-256': `SHA256=${hex(body)}` }, body)],
      ['base64 digest', request({ 'x-hub-signature-256': `sha256=${b64(body)}` }, body)],
      [
        'several values',
        request({ 'x-hub-signature-256': `sha256=${hex(body)}, sha256=${hex(body)}` }, body),
      ],
      ['padded', request({ 'x-hub-signature-256': ` sha256=${hex(body)} ` }, body)],
    ],
  },
  stripe: {
    secrets: [SECRET],
    good: request({ 'stripe-signature': `t=${NOW_S},v1=${hex(`${NOW_S}.${body}`)}` }, body),
    bad: [
      ['missing signature', request({}, body)],
      ['missing timestamp', request({ 'stripe-signature': `v1=${hex(`${NOW_S}.${body}`)}` }, body)],
      ['missing v1', request({ 'stripe-signature': `t=${NOW_S}` }, body)],
      [
        'wrong length',
        request({ 'stripe-signature': `t=${NOW_S},v1=${hex(`${NOW_S}.${body}`).slice(1)}` }, body),
      ],
      ['non-hex', request({ 'stripe-signature': `t=${NOW_S},v1=${'g'.repeat(64)}` }, body)],
      ['wrong scheme', request({ 'stripe-signature': `t=${NOW_S},v2=${hex(`${NOW_S}.${body}`)}` }, body)],
      [
        'stale',
        request({ 'stripe-signature': `t=${NOW_S - 301},v1=${hex(`${NOW_S - 301}.${body}`)}` }, body),
      ],
      [
        'future',
        request({ 'stripe-signature': `t=${NOW_S + 301},v1=${hex(`${NOW_S + 301}.${body}`)}` }, body),
      ],
      ['decimal t', request({ 'stripe-signature': `t=${NOW_S}.0,v1=${hex(`${NOW_S}.0.${body}`)}` }, body)],
      ['negative t', request({ 'stripe-signature': `t=-${NOW_S},v1=${hex(`-${NOW_S}.${body}`)}` }, body)],
      ['t in ms', request({ 'stripe-signature': `t=${NOW_MS},v1=${hex(`${NOW_MS}.${body}`)}` }, body)],
      [
        'huge t',
        request({ 'stripe-signature': `t=${'9'.repeat(30)},v1=${hex(`${'9'.repeat(30)}.${body}`)}` }, body),
      ],
      ['two t', request({ 'stripe-signature': `t=${NOW_S},t=${NOW_S},v1=${hex(`${NOW_S}.${body}`)}` }, body)],
      ['garbage', request({ 'stripe-signature': ',,,==,t,v1' }, body)],
    ],
  },
  slack: {
    secrets: [SECRET],
    good: request(
      { 'x-slack-signature': `v0=${hex(`v0:${NOW_S}:${body}`)}`, 'x-slack-request-timestamp': `${NOW_S}` },
      body,
    ),
    bad: [
      ['missing signature', request({ 'x-slack-request-timestamp': `${NOW_S}` }, body)],
      ['missing timestamp', request({ 'x-slack-signature': `v0=${hex(`v0:${NOW_S}:${body}`)}` }, body)],
      [
        'wrong length',
        request(
          {
            'x-slack-signature': `v0=${hex(`v0:${NOW_S}:${body}`)}ab`,
            'x-slack-request-timestamp': `${NOW_S}`,
          },
          body,
        ),
      ],
      [
        'non-hex',
        request(
          { 'x-slack-signature': `v0=${'x'.repeat(64)}`, 'x-slack-request-timestamp': `${NOW_S}` },
          body,
        ),
      ],
      [
        'wrong prefix',
        request(
          {
            'x-slack-signature': `v1=${hex(`v0:${NOW_S}:${body}`)}`,
            'x-slack-request-timestamp': `${NOW_S}`,
          },
          body,
        ),
      ],
      [
        'several values',
        request(
          {
            'x-slack-signature': `v0=${hex(`v0:${NOW_S}:${body}`)}, v0=${hex(`v0:${NOW_S}:${body}`)}`,
            'x-slack-request-timestamp': `${NOW_S}`,
          },
          body,
        ),
      ],
      [
        'stale',
        request(
          {
            'x-slack-signature': `v0=${hex(`v0:${NOW_S - 301}:${body}`)}`,
            'x-slack-request-timestamp': `${NOW_S - 301}`,
          },
          body,
        ),
      ],
      [
        'future',
        request(
          {
            'x-slack-signature': `v0=${hex(`v0:${NOW_S + 301}:${body}`)}`,
            'x-slack-request-timestamp': `${NOW_S + 301}`,
          },
          body,
        ),
      ],
      [
        'non-integer',
        request(
          {
            'x-slack-signature': `v0=${hex(`v0:${NOW_S}.5:${body}`)}`,
            'x-slack-request-timestamp': `${NOW_S}.5`,
          },
          body,
        ),
      ],
      [
        'joined timestamps',
        request(
          {
            'x-slack-signature': `v0=${hex(`v0:${NOW_S}, ${NOW_S}:${body}`)}`,
            'x-slack-request-timestamp': `${NOW_S}, ${NOW_S}`,
          },
          body,
        ),
      ],
    ],
  },
  linear: {
    secrets: [SECRET],
    good: request({ 'linear-signature': hex(body) }, body),
    bad: [
      ['missing signature', request({}, body)],
      ['wrong length', request({ 'linear-signature': hex(body).slice(0, 40) }, body)],
      ['non-hex', request({ 'linear-signature': `${hex(body).slice(0, 63)}-` }, body)],
      ['prefixed', request({ 'linear-signature': `sha256=${hex(body)}` }, body)],
      ['several values', request({ 'linear-signature': `${hex(body)},${hex(body)}` }, body)],
      ['missing timestamp', request({ 'linear-signature': hex('{"type":"ping"}') }, '{"type":"ping"}')],
      [
        'stale',
        request(
          { 'linear-signature': hex('{"webhookTimestamp":1699999939999}') },
          '{"webhookTimestamp":1699999939999}',
        ),
      ],
      [
        'future',
        request(
          { 'linear-signature': hex('{"webhookTimestamp":1700000060001}') },
          '{"webhookTimestamp":1700000060001}',
        ),
      ],
      [
        'non-integer',
        request(
          { 'linear-signature': hex('{"webhookTimestamp":"1700000000000"}') },
          '{"webhookTimestamp":"1700000000000"}',
        ),
      ],
    ],
  },
  'standard-webhooks': {
    secrets: [SW_SECRET],
    good: request(
      {
        'webhook-id': 'msg_1',
        'webhook-timestamp': `${NOW_S}`,
        'webhook-signature': `v1,${b64(`msg_1.${NOW_S}.${body}`, swKey)}`,
      },
      body,
    ),
    bad: [
      ['missing signature', request({ 'webhook-id': 'msg_1', 'webhook-timestamp': `${NOW_S}` }, body)],
      [
        'missing id',
        request(
          {
            'webhook-timestamp': `${NOW_S}`,
            'webhook-signature': `v1,${b64(`msg_1.${NOW_S}.${body}`, swKey)}`,
          },
          body,
        ),
      ],
      [
        'missing timestamp',
        request(
          { 'webhook-id': 'msg_1', 'webhook-signature': `v1,${b64(`msg_1.${NOW_S}.${body}`, swKey)}` },
          body,
        ),
      ],
      [
        'wrong length',
        request(
          {
            'webhook-id': 'msg_1',
            'webhook-timestamp': `${NOW_S}`,
            'webhook-signature': `v1,${b64(`msg_1.${NOW_S}.${body}`, swKey).slice(4)}`,
          },
          body,
        ),
      ],
      [
        'non-base64',
        request(
          {
            'webhook-id': 'msg_1',
            'webhook-timestamp': `${NOW_S}`,
            'webhook-signature': `v1,${'!'.repeat(43)}=`,
          },
          body,
        ),
      ],
      [
        'hex digest',
        request(
          {
            'webhook-id': 'msg_1',
            'webhook-timestamp': `${NOW_S}`,
            'webhook-signature': `v1,${hex(`msg_1.${NOW_S}.${body}`, swKey)}`,
          },
          body,
        ),
      ],
      [
        'wrong version',
        request(
          {
            'webhook-id': 'msg_1',
            'webhook-timestamp': `${NOW_S}`,
            'webhook-signature': `v1a,${b64(`msg_1.${NOW_S}.${body}`, swKey)}`,
          },
          body,
        ),
      ],
      [
        'no version',
        request(
          {
            'webhook-id': 'msg_1',
            'webhook-timestamp': `${NOW_S}`,
            'webhook-signature': b64(`msg_1.${NOW_S}.${body}`, swKey),
          },
          body,
        ),
      ],
      [
        'stale',
        request(
          {
            'webhook-id': 'msg_1',
            'webhook-timestamp': `${NOW_S - 301}`,
            'webhook-signature': `v1,${b64(`msg_1.${NOW_S - 301}.${body}`, swKey)}`,
          },
          body,
        ),
      ],
      [
        'future',
        request(
          {
            'webhook-id': 'msg_1',
            'webhook-timestamp': `${NOW_S + 301}`,
            'webhook-signature': `v1,${b64(`msg_1.${NOW_S + 301}.${body}`, swKey)}`,
          },
          body,
        ),
      ],
      [
        'non-integer',
        request(
          {
            'webhook-id': 'msg_1',
            'webhook-timestamp': `${NOW_S}e0`,
            'webhook-signature': `v1,${b64(`msg_1.${NOW_S}e0.${body}`, swKey)}`,
          },
          body,
        ),
      ],
    ],
  },
  shopify: {
    secrets: [SECRET],
    good: request({ 'x-shopify-hmac-sha256': b64(body) }, body),
    bad: [
      ['missing signature', request({}, body)],
      ['wrong length', request({ 'x-shopify-hmac-sha256': b64(body).slice(0, 40) }, body)],
      ['non-base64', request({ 'x-shopify-hmac-sha256': `${b64(body).slice(0, 42)}*=` }, body)],
      ['hex digest', request({ 'x-shopify-hmac-sha256': hex(body) }, body)],
      ['prefixed', request({ 'x-shopify-hmac-sha256': `sha256=${b64(body)}` }, body)],
      ['several values', request({ 'x-shopify-hmac-sha256': `${b64(body)}, ${b64(body)}` }, body)],
      ['sha1 digest', request({ 'x-shopify-hmac-sha256': b64(body, SECRET, 'sha1') }, body)],
    ],
  },
  twilio: {
    secrets: [SECRET],
    good: request({ 'x-twilio-signature': b64(`${TWILIO_URL}ab`, SECRET, 'sha1') }, 'a=b', TWILIO_URL),
    bad: [
      ['missing signature', request({}, 'a=b', TWILIO_URL)],
      [
        'wrong length',
        request({ 'x-twilio-signature': b64(`${TWILIO_URL}ab`, SECRET, 'sha256') }, 'a=b', TWILIO_URL),
      ],
      ['non-base64', request({ 'x-twilio-signature': '#'.repeat(28) }, 'a=b', TWILIO_URL)],
      [
        'hex digest',
        request({ 'x-twilio-signature': hex(`${TWILIO_URL}ab`, SECRET, 'sha1') }, 'a=b', TWILIO_URL),
      ],
      [
        'several values',
        request(
          {
            'x-twilio-signature': `${b64(`${TWILIO_URL}ab`, SECRET, 'sha1')},${b64(`${TWILIO_URL}ab`, SECRET, 'sha1')}`,
          },
          'a=b',
          TWILIO_URL,
        ),
      ],
      [
        'other URL',
        request({ 'x-twilio-signature': b64(`${TWILIO_URL}ab`, SECRET, 'sha1') }, 'a=b', `${TWILIO_URL}x`),
      ],
      [
        'unparsable URL',
        request(
          { 'x-twilio-signature': b64('not a urlab', SECRET, 'sha1') },
          'a=b',
          'not a url?bodySHA256=1&bodySHA256=2',
        ),
      ],
      [
        'body hash mismatch',
        request(
          {
            'x-twilio-signature': b64(
              `${TWILIO_URL}?bodySHA256=${createHash('sha256').update('{}').digest('hex')}`,
              SECRET,
              'sha1',
            ),
          },
          '{"a":1}',
          `${TWILIO_URL}?bodySHA256=${createHash('sha256').update('{}').digest('hex')}`,
        ),
      ],
      [
        'body hash not hex',
        request(
          { 'x-twilio-signature': b64(`${TWILIO_URL}?bodySHA256=zz`, SECRET, 'sha1') },
          '{}',
          `${TWILIO_URL}?bodySHA256=zz`,
        ),
      ],
    ],
  },
  generic: {
    secrets: [SECRET],
    good: request({ 'x-sig': `t=${NOW_S},v1=${hex(`${NOW_S}.${body}`)}` }, body),
    bad: [
      ['missing signature', request({}, body)],
      ['missing timestamp', request({ 'x-sig': `v1=${hex(`${NOW_S}.${body}`)}` }, body)],
      ['wrong length', request({ 'x-sig': `t=${NOW_S},v1=${hex(`${NOW_S}.${body}`).slice(2)}` }, body)],
      ['non-hex', request({ 'x-sig': `t=${NOW_S},v1=${'q'.repeat(64)}` }, body)],
      ['wrong prefix', request({ 'x-sig': `t=${NOW_S},v0=${hex(`${NOW_S}.${body}`)}` }, body)],
      [
        'several values',
        request(
          { 'x-sig': `t=${NOW_S},v1=${hex(`${NOW_S}.${body}`)}, t=${NOW_S},v1=${hex(`${NOW_S}.${body}`)}` },
          body,
        ),
      ],
      ['stale', request({ 'x-sig': `t=${NOW_S - 301},v1=${hex(`${NOW_S - 301}.${body}`)}` }, body)],
      ['future', request({ 'x-sig': `t=${NOW_S + 301},v1=${hex(`${NOW_S + 301}.${body}`)}` }, body)],
      [
        'huge timestamp',
        request({ 'x-sig': `t=${'1'.repeat(20)},v1=${hex(`${'1'.repeat(20)}.${body}`)}` }, body),
      ],
    ],
  },
};

const options = (provider: ProviderName) => (provider === 'generic' ? { source: genericSource } : {});

describe.each(Object.entries(cases) as [ProviderName, (typeof cases)[ProviderName]][])(
  '%s bad inputs',
  (provider, c) => {
    it('the unmodified request verifies (so every rejection below is meaningful)', () => {
      expect(verify(provider, c.good, c.secrets, options(provider))).toEqual({ ok: true });
    });

    it.each(c.bad)('%s → ok:false with a short reason, no throw', (_label, req) => {
      expectRejected(verify(provider, req, c.secrets, options(provider)), c.secrets);
    });

    it('a tampered body is rejected', () => {
      const tampered = { ...c.good, body: Buffer.concat([c.good.body, Buffer.from(' ')]) };
      expectRejected(verify(provider, tampered, c.secrets, options(provider)), c.secrets);
    });

    it('survives hostile request and context shapes', () => {
      const hostile: unknown[] = [
        { ...c.good, headers: null },
        { ...c.good, headers: JSON.parse('{"__proto__":{"x-hub-signature-256":"sha256=00"}}') },
        { ...c.good, body: undefined },
        {},
        null,
      ];
      for (const req of hostile) {
        const result = verify(provider, req as WebhookRequest, c.secrets, options(provider));
        expect(result.ok).toBe(false);
      }
      // Only Twilio signs the URL; without one it cannot verify, and nobody throws.
      const noUrl = verify(
        provider,
        { ...c.good, url: undefined } as unknown as WebhookRequest,
        c.secrets,
        options(provider),
      );
      expect(noUrl.ok).toBe(provider !== 'twilio');
      expect(verify(provider, c.good, [], options(provider)).ok).toBe(false);
      expect(verify(provider, c.good, [''], options(provider)).ok).toBe(false);
    });
  },
);
