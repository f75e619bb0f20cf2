/**
 * Every row of docs' bad-inputs table, end to end over real HTTP on the local stack (HTTP API → ingest Lambda →
 * DynamoDB → EventBridge → SQS → delivery → HTTP target), plus a bounded property-based fuzz of the endpoint.
 * For every rejected request: the exact status, nothing stored (EVENT# items) and, at the end, nothing delivered.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../core/config';
import { EVENTS_TABLE } from '../../core/contracts';
import { ensureTable } from '../../local/services/dynamodb';
import { KNOWN_HEADERS } from '../unit/providers/helpers';
import { type E2E, type RawResponse, RECORDING_TARGET, startE2E, waitFor } from './support/harness';
import {
  GENERIC,
  generic,
  genericSignature,
  github,
  githubSignature,
  type Headers,
  linear,
  linearSignature,
  nowSeconds,
  providerSources,
  SECRETS,
  type SignedRequest,
  secretEnv,
  shopify,
  shopifySignature,
  slack,
  standard,
  standardSignature,
  stripe,
  stripeV1,
  twilioSignature,
} from './support/providers';

const TINY_LIMIT = 1024;

const config: RouterConfigInput = {
  sources: [
    ...providerSources(),
    {
      name: 'tiny',
      provider: 'github',
      secret: { secretName: 'e2e/tiny' },
      maxBodyBytes: TINY_LIMIT,
      rateLimitPerSecond: 10_000,
      burstLimit: 5_000,
    },
    {
      name: 'throttled',
      provider: 'github',
      secret: { secretName: 'e2e/throttled' },
      rateLimitPerSecond: 0.01,
      burstLimit: 2,
    },
  ],
  targets: [RECORDING_TARGET],
  // The live stream is exercised in large-payloads.test.ts; here it would only cost start-up time.
  liveStream: { enabled: false },
};

let e2e: E2E;
/** Nonces of rejected requests (must never be stored or delivered) and ids of accepted events. */
const rejectedNonces: string[] = [];
const acceptedIds = new Set<string>();

beforeAll(async () => {
  e2e = await startE2E(config, {
    secretEnv: secretEnv({ 'e2e/tiny': SECRETS.github, 'e2e/throttled': SECRETS.github }),
  });
});

afterAll(async () => {
  await e2e?.stop();
});

// ---------------------------------------------------------------------------------------------------------------
// Bodies (each carries the row's nonce so that a leak into the store or a delivery can be found).

const prBody = (nonce: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ action: 'opened', number: 7, nonce, repository: { full_name: 'octo/e2e' }, ...extra });
const stripeBody = (nonce: string) =>
  JSON.stringify({
    id: `evt_${nonce}`,
    object: 'event',
    type: 'invoice.paid',
    created: nowSeconds(),
    nonce,
    data: { object: { id: 'in_e2e', customer: 'cus_e2e' } },
  });
const slackBody = (nonce: string) =>
  JSON.stringify({
    type: 'event_callback',
    team_id: 'T0E2E',
    event_id: `Ev${nonce}`,
    event_time: nowSeconds(),
    event: { type: 'app_mention', channel: 'C0E2E', text: nonce },
  });
const linearBody = (nonce: string, webhookTimestamp: unknown = Date.now()) =>
  JSON.stringify({
    action: 'create',
    type: 'Issue',
    createdAt: new Date().toISOString(),
    webhookTimestamp,
    nonce,
    data: { id: nonce, identifier: 'ENG-1' },
  });
const standardBody = (nonce: string) =>
  JSON.stringify({ type: 'invoice.paid', timestamp: new Date().toISOString(), data: { nonce } });
const shopifyBody = (nonce: string) => JSON.stringify({ id: 820982911946154500, nonce });
const genericBody = (nonce: string) => JSON.stringify({ type: 'thing.happened', nonce });

/** JSON with `levels` levels of nesting in total (the wrapper object is level 1). */
const nested = (nonce: string, levels: number) =>
  `{"nonce":"${nonce}","deep":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;

const without = (headers: Headers, ...names: string[]): Headers =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !names.includes(name)));
const withHeaders = (request: SignedRequest, headers: Headers): SignedRequest => ({
  body: request.body,
  headers: { ...request.headers, ...headers },
});

const HEX64 = 'ab'.repeat(32);
const B64_32 = Buffer.alloc(32, 1).toString('base64');

// ---------------------------------------------------------------------------------------------------------------
// The table.

interface Row {
  readonly name: string;
  readonly source: string;
  readonly status: number;
  readonly request: (nonce: string) => SignedRequest;
  readonly query?: string;
  /** Extra checks on an accepted event's stored envelope JSON. */
  readonly stored?: (envelopeJson: string, nonce: string) => void;
}

const twilioForm = (nonce: string) => ({
  AccountSid: 'AC0e2e',
  MessageSid: `SM${nonce}`,
  From: '+15550001111',
  To: '+15550002222',
  Body: nonce,
});
const twilioRequest = (nonce: string, signature: string | readonly string[]): SignedRequest => ({
  body: new URLSearchParams(twilioForm(nonce)).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
});
const twilioUrl = () => e2e.stack.webhookUrl('twilio');

const ROWS: { group: string; rows: Row[] }[] = [
  {
    group: 'missing signature or timestamp → 401',
    rows: [
      {
        name: 'github without X-Hub-Signature-256',
        source: 'github',
        status: 401,
        request: (n) => {
          const r = github(prBody(n));
          return { body: r.body, headers: without(r.headers, 'x-hub-signature-256') };
        },
      },
      {
        name: 'github with an empty X-Hub-Signature-256',
        source: 'github',
        status: 401,
        request: (n) => withHeaders(github(prBody(n)), { 'x-hub-signature-256': '' }),
      },
      {
        name: 'stripe without Stripe-Signature',
        source: 'stripe',
        status: 401,
        request: (n) => {
          const r = stripe(stripeBody(n));
          return { body: r.body, headers: without(r.headers, 'stripe-signature') };
        },
      },
      {
        name: 'stripe signature without t=',
        source: 'stripe',
        status: 401,
        request: (n) => {
          const body = stripeBody(n);
          return stripe(body, { header: `v1=${stripeV1(nowSeconds(), body)}` });
        },
      },
      {
        name: 'slack without X-Slack-Signature',
        source: 'slack',
        status: 401,
        request: (n) => {
          const r = slack(slackBody(n));
          return { body: r.body, headers: without(r.headers, 'x-slack-signature') };
        },
      },
      {
        name: 'slack without X-Slack-Request-Timestamp',
        source: 'slack',
        status: 401,
        request: (n) => {
          const r = slack(slackBody(n));
          return { body: r.body, headers: without(r.headers, 'x-slack-request-timestamp') };
        },
      },
      {
        name: 'standard webhooks without webhook-timestamp',
        source: 'standard',
        status: 401,
        request: (n) => {
          const r = standard(standardBody(n));
          return { body: r.body, headers: without(r.headers, 'webhook-timestamp') };
        },
      },
      {
        name: 'standard webhooks without webhook-id',
        source: 'standard',
        status: 401,
        request: (n) => {
          const r = standard(standardBody(n));
          return { body: r.body, headers: without(r.headers, 'webhook-id') };
        },
      },
      {
        name: 'linear without Linear-Signature',
        source: 'linear',
        status: 401,
        request: (n) => {
          const r = linear(linearBody(n));
          return { body: r.body, headers: without(r.headers, 'linear-signature') };
        },
      },
      {
        name: 'linear validly signed without webhookTimestamp',
        source: 'linear',
        status: 401,
        request: (n) => linear(JSON.stringify({ action: 'create', type: 'Issue', nonce: n })),
      },
      {
        name: 'shopify without X-Shopify-Hmac-Sha256',
        source: 'shopify',
        status: 401,
        request: (n) => {
          const r = shopify(shopifyBody(n));
          return { body: r.body, headers: without(r.headers, 'x-shopify-hmac-sha256') };
        },
      },
      {
        name: 'twilio without X-Twilio-Signature',
        source: 'twilio',
        status: 401,
        request: (n) => {
          const r = twilioRequest(n, 'x');
          return { body: r.body, headers: without(r.headers, 'x-twilio-signature') };
        },
      },
      {
        name: 'generic without its signature header',
        source: 'generic',
        status: 401,
        request: (n) => {
          const r = generic(genericBody(n));
          return { body: r.body, headers: without(r.headers, 'x-acme-signature') };
        },
      },
      {
        name: 'generic signature header without its timestamp',
        source: 'generic',
        status: 401,
        request: (n) => {
          const r = generic(genericBody(n));
          const value = String(r.headers['x-acme-signature']).replace(/^t=\d+,/, '');
          return withHeaders(r, { 'x-acme-signature': value });
        },
      },
    ],
  },
  {
    group: 'malformed signatures → 401, never 500',
    rows: [
      ...(
        [
          ['too short (62 hex)', (s: string) => s.slice(0, -2)],
          ['too long (66 hex)', (s: string) => `${s}ab`],
          ['non-hex of the right length', () => `sha256=${'zz'.repeat(32)}`],
          ['hex that Buffer.from would truncate ("abzz…")', () => `sha256=ab${'zz'.repeat(31)}`],
          ['wrong prefix sha1=', (s: string) => s.replace('sha256=', 'sha1=')],
          ['upper-case prefix SHA256=', (s: string) => s.replace('sha256=', 'SHA256=')],
          ['no prefix', (s: string) => s.replace('sha256=', '')],
          [
            'base64 instead of hex',
            (s: string) => `sha256=${Buffer.from(s.slice(7), 'hex').toString('base64')}`,
          ],
          ['8 KB of garbage', () => `sha256=${'a'.repeat(8192)}`],
        ] as const
      ).map(
        ([label, mangle]): Row => ({
          name: `github signature ${label}`,
          source: 'github',
          status: 401,
          request: (n) => {
            const r = github(prBody(n));
            return withHeaders(r, {
              'x-hub-signature-256': mangle(String(r.headers['x-hub-signature-256'])),
            });
          },
        }),
      ),
      {
        name: 'github signature of the right shape with the wrong secret',
        source: 'github',
        status: 401,
        request: (n) => github(prBody(n), { secret: 'not-the-secret' }),
      },
      {
        name: 'stripe v1 that is not hex',
        source: 'stripe',
        status: 401,
        request: (n) => stripe(stripeBody(n), { header: `t=${nowSeconds()},v1=${'zz'.repeat(32)}` }),
      },
      {
        name: 'stripe v1 of the wrong length',
        source: 'stripe',
        status: 401,
        request: (n) => {
          const body = stripeBody(n);
          const t = nowSeconds();
          return stripe(body, { header: `t=${t},v1=${stripeV1(t, body).slice(0, 40)}` });
        },
      },
      {
        name: 'stripe v0 only (wrong scheme)',
        source: 'stripe',
        status: 401,
        request: (n) => {
          const body = stripeBody(n);
          const t = nowSeconds();
          return stripe(body, { header: `t=${t},v0=${stripeV1(t, body)}` });
        },
      },
      {
        name: 'slack signature with the wrong prefix v1=',
        source: 'slack',
        status: 401,
        request: (n) => {
          const r = slack(slackBody(n));
          return withHeaders(r, {
            'x-slack-signature': String(r.headers['x-slack-signature']).replace('v0=', 'v1='),
          });
        },
      },
      {
        name: 'slack signature that is not hex',
        source: 'slack',
        status: 401,
        request: (n) => withHeaders(slack(slackBody(n)), { 'x-slack-signature': `v0=${'gg'.repeat(32)}` }),
      },
      {
        name: 'linear signature with a sha256= prefix',
        source: 'linear',
        status: 401,
        request: (n) => {
          const body = linearBody(n);
          return linear(body, { headers: { 'linear-signature': `sha256=${linearSignature(body)}` } });
        },
      },
      {
        name: 'linear signature of the wrong length',
        source: 'linear',
        status: 401,
        request: (n) => {
          const body = linearBody(n);
          return linear(body, { headers: { 'linear-signature': linearSignature(body).slice(2) } });
        },
      },
      {
        name: 'shopify signature that is not base64',
        source: 'shopify',
        status: 401,
        request: (n) =>
          shopify(shopifyBody(n), { headers: { 'x-shopify-hmac-sha256': `${'!'.repeat(43)}=` } }),
      },
      {
        name: 'shopify signature in hex instead of base64',
        source: 'shopify',
        status: 401,
        request: (n) => {
          const body = shopifyBody(n);
          const hex = Buffer.from(shopifySignature(body), 'base64').toString('hex');
          return shopify(body, { headers: { 'x-shopify-hmac-sha256': hex } });
        },
      },
      {
        name: 'shopify signature without its base64 padding',
        source: 'shopify',
        status: 401,
        request: (n) => {
          const body = shopifyBody(n);
          return shopify(body, {
            headers: { 'x-shopify-hmac-sha256': shopifySignature(body).replace(/=+$/, '') },
          });
        },
      },
      {
        name: 'standard webhooks v1 that is not base64',
        source: 'standard',
        status: 401,
        request: (n) => standard(standardBody(n), { signature: 'v1,not*base64!!' }),
      },
      {
        name: 'standard webhooks signature with the wrong version prefix (v2)',
        source: 'standard',
        status: 401,
        request: (n) => {
          const body = standardBody(n);
          const id = `msg_${n}`;
          const t = nowSeconds();
          return standard(body, {
            id,
            timestamp: t,
            signature: standardSignature(id, t, body).replace('v1,', 'v2,'),
          });
        },
      },
      {
        name: 'twilio signature that is not base64',
        source: 'twilio',
        status: 401,
        request: (n) => twilioRequest(n, '%%%%not-base64%%%%%%%%%%'),
      },
      {
        name: 'twilio signature over another URL',
        source: 'twilio',
        status: 401,
        request: (n) =>
          twilioRequest(n, twilioSignature('https://elsewhere.example/webhooks/twilio', twilioForm(n))),
      },
      {
        name: 'generic signature in the wrong format',
        source: 'generic',
        status: 401,
        request: (n) => {
          const r = generic(genericBody(n));
          return withHeaders(r, { 'x-acme-signature': `sha256=${HEX64}` });
        },
      },
    ],
  },
  {
    group: 'several signature values',
    rows: [
      {
        name: 'github: the header twice (joined with ",") → 401',
        source: 'github',
        status: 401,
        request: (n) => {
          const r = github(prBody(n));
          const sig = String(r.headers['x-hub-signature-256']);
          return withHeaders(r, { 'x-hub-signature-256': [sig, sig] });
        },
      },
      {
        name: 'github: two values in one header → 401',
        source: 'github',
        status: 401,
        request: (n) => {
          const r = github(prBody(n));
          const sig = String(r.headers['x-hub-signature-256']);
          return withHeaders(r, { 'x-hub-signature-256': `sha256=${HEX64},${sig}` });
        },
      },
      {
        name: 'slack: the header twice → 401',
        source: 'slack',
        status: 401,
        request: (n) => {
          const r = slack(slackBody(n));
          const sig = String(r.headers['x-slack-signature']);
          return withHeaders(r, { 'x-slack-signature': [sig, sig] });
        },
      },
      {
        name: 'linear: the header twice → 401',
        source: 'linear',
        status: 401,
        request: (n) => {
          const r = linear(linearBody(n));
          const sig = String(r.headers['linear-signature']);
          return withHeaders(r, { 'linear-signature': [sig, sig] });
        },
      },
      {
        name: 'shopify: the header twice → 401',
        source: 'shopify',
        status: 401,
        request: (n) => {
          const r = shopify(shopifyBody(n));
          const sig = String(r.headers['x-shopify-hmac-sha256']);
          return withHeaders(r, { 'x-shopify-hmac-sha256': [sig, sig] });
        },
      },
      {
        name: 'twilio: the header twice → 401',
        source: 'twilio',
        status: 401,
        request: (n) => {
          const sig = twilioSignature(twilioUrl(), twilioForm(n));
          return twilioRequest(n, [sig, sig]);
        },
      },
      {
        name: 'stripe: two Stripe-Signature headers (two t=) → 401',
        source: 'stripe',
        status: 401,
        request: (n) => {
          const r = stripe(stripeBody(n));
          const sig = String(r.headers['stripe-signature']);
          return withHeaders(r, { 'stripe-signature': [sig, sig] });
        },
      },
      {
        name: 'stripe: several v1 in one header, one valid → 202',
        source: 'stripe',
        status: 202,
        request: (n) => {
          const body = stripeBody(n);
          const t = nowSeconds();
          return stripe(body, { header: `t=${t},v1=${HEX64},v1=${stripeV1(t, body)},v0=${HEX64}` });
        },
      },
      {
        name: 'standard webhooks: a space-separated list, one valid → 202',
        source: 'standard',
        status: 202,
        request: (n) => {
          const body = standardBody(n);
          const id = `msg_${n}`;
          const t = nowSeconds();
          return standard(body, {
            id,
            timestamp: t,
            signature: `v1,${B64_32} v1a,${B64_32} ${standardSignature(id, t, body)}`,
          });
        },
      },
    ],
  },
  {
    group: 'stale, future and non-integer timestamps → 401 (validly signed)',
    rows: [
      ...(
        [
          ['stale (-10 min)', () => nowSeconds() - 600],
          ['future (+10 min)', () => nowSeconds() + 600],
          ['non-integer (decimal)', () => `${nowSeconds()}.5`],
          ['non-integer (exponent)', () => '1.7e9'],
          ['non-integer (trailing text)', () => `${nowSeconds()}abc`],
          ['negative', () => `-${nowSeconds()}`],
          ['milliseconds instead of seconds', () => Date.now()],
        ] as const
      ).flatMap(([label, stamp]): Row[] => [
        {
          name: `stripe t= ${label}`,
          source: 'stripe',
          status: 401,
          request: (n) => stripe(stripeBody(n), { timestamp: stamp() }),
        },
        {
          name: `slack timestamp ${label}`,
          source: 'slack',
          status: 401,
          request: (n) => slack(slackBody(n), { timestamp: stamp() }),
        },
        {
          name: `standard webhooks timestamp ${label}`,
          source: 'standard',
          status: 401,
          request: (n) => standard(standardBody(n), { timestamp: stamp() }),
        },
        {
          name: `generic timestamp ${label}`,
          source: 'generic',
          status: 401,
          request: (n) => generic(genericBody(n), { timestamp: stamp() }),
        },
      ]),
      ...(
        [
          ['stale (-2 min)', () => Date.now() - 120_000],
          ['future (+2 min)', () => Date.now() + 120_000],
          ['non-integer', () => Date.now() + 0.5],
          ['a string', () => String(Date.now())],
          ['in seconds', () => nowSeconds()],
        ] as const
      ).map(
        ([label, stamp]): Row => ({
          name: `linear webhookTimestamp ${label}`,
          source: 'linear',
          status: 401,
          request: (n) => linear(linearBody(n, stamp())),
        }),
      ),
    ],
  },
  {
    group: 'body over the source limit → 413',
    rows: [
      {
        name: `validly signed body of ${TINY_LIMIT + 1} bytes on a ${TINY_LIMIT}-byte source`,
        source: 'tiny',
        status: 413,
        request: (n) =>
          github(prBody(n, { pad: 'x'.repeat(TINY_LIMIT + 1 - prBody(n, { pad: '' }).length) })),
      },
      {
        name: 'validly signed 64 KB body on a 1 KB source',
        source: 'tiny',
        status: 413,
        request: (n) => github(prBody(n, { pad: 'x'.repeat(64 * 1024) })),
      },
      {
        name: `exactly ${TINY_LIMIT} bytes is accepted`,
        source: 'tiny',
        status: 202,
        request: (n) => github(prBody(n, { pad: 'x'.repeat(TINY_LIMIT - prBody(n, { pad: '' }).length) })),
      },
    ],
  },
  {
    group: 'isBase64Encoded: the HMAC is over the raw bytes',
    rows: [
      {
        name: 'github, application/octet-stream, valid signature over raw bytes → 415 (not 401)',
        source: 'github',
        status: 415,
        request: (n) =>
          github(Buffer.concat([Buffer.from(prBody(n)), randomBytes(64)]), {
            contentType: 'application/octet-stream',
          }),
      },
      {
        name: 'github, no content type (base64-encoded by the HTTP API) → 415',
        source: 'github',
        status: 415,
        request: (n) => {
          const r = github(prBody(n));
          return { body: r.body, headers: without(r.headers, 'content-type') };
        },
      },
      {
        name: 'github, application/octet-stream, signature over other bytes → 401',
        source: 'github',
        status: 401,
        request: (n) =>
          withHeaders(github(Buffer.from(prBody(n)), { contentType: 'application/octet-stream' }), {
            'x-hub-signature-256': githubSignature(`${prBody(n)} `),
          }),
      },
      {
        name: 'github, form-encoded payload=<json> (base64-encoded by the HTTP API) → 202',
        source: 'github',
        status: 202,
        request: (n) =>
          github(new URLSearchParams({ payload: prBody(n) }).toString(), {
            contentType: 'application/x-www-form-urlencoded',
          }),
        stored: (json, n) => expect(JSON.parse(json).data).toMatchObject({ nonce: n, action: 'opened' }),
      },
      {
        name: 'slack slash command, form-encoded (base64-encoded by the HTTP API) → 202',
        source: 'slack',
        status: 202,
        request: (n) =>
          slack(
            new URLSearchParams({
              command: '/deploy',
              text: `now ${n}`,
              channel_id: 'C0E2E',
              team_id: 'T0E2E',
              trigger_id: `trig.${n}`,
            }).toString(),
            { contentType: 'application/x-www-form-urlencoded' },
          ),
        stored: (json) =>
          expect(JSON.parse(json)).toMatchObject({ type: 'command.deploy', subject: 'C0E2E' }),
      },
      {
        name: 'twilio form with a binary-looking value (base64-encoded by the HTTP API) → 202',
        source: 'twilio',
        status: 202,
        request: (n) => twilioRequest(n, twilioSignature(twilioUrl(), twilioForm(n))),
        stored: (json, n) =>
          expect(JSON.parse(json)).toMatchObject({ type: 'message.received', deliveryId: `SM${n}:received` }),
      },
    ],
  },
  {
    group: 'invalid UTF-8 after a valid signature → 400',
    rows: [
      {
        name: 'github form body with invalid UTF-8 bytes',
        source: 'github',
        status: 400,
        request: (n) =>
          github(Buffer.concat([Buffer.from(`nonce=${n}&payload=`), Buffer.from([0xc3, 0x28, 0xff, 0xfe])]), {
            contentType: 'application/x-www-form-urlencoded',
          }),
      },
      {
        name: 'slack form body with an overlong encoding',
        source: 'slack',
        status: 400,
        request: (n) =>
          slack(Buffer.concat([Buffer.from(`command=%2Fdeploy&text=${n}`), Buffer.from([0xc0, 0xaf])]), {
            contentType: 'application/x-www-form-urlencoded',
          }),
      },
    ],
  },
  {
    group: 'non-JSON, BOM, wrong content type after a valid signature → 400 / 415',
    rows: [
      {
        name: 'github application/json that is not JSON',
        source: 'github',
        status: 400,
        request: (n) => github(`{"nonce":"${n}", not json`),
      },
      {
        name: 'github application/json that is empty',
        source: 'github',
        status: 400,
        request: () => github(''),
      },
      {
        name: 'github JSON with a byte order mark',
        source: 'github',
        status: 400,
        request: (n) => github(`\uFEFF${prBody(n)}`),
      },
      {
        name: 'github text/plain',
        source: 'github',
        status: 415,
        request: (n) => github(prBody(n), { contentType: 'text/plain' }),
      },
      {
        name: 'stripe form-encoded (Stripe only sends JSON)',
        source: 'stripe',
        status: 415,
        request: (n) => {
          const body = new URLSearchParams({ id: `evt_${n}`, type: 'invoice.paid' }).toString();
          return withHeaders(stripe(body), { 'content-type': 'application/x-www-form-urlencoded' });
        },
      },
      {
        name: 'linear body that is not JSON',
        source: 'linear',
        status: 400,
        request: (n) => linear(`nonce ${n}`),
      },
      {
        name: 'standard webhooks body that is not JSON',
        source: 'standard',
        status: 400,
        request: (n) => standard(`<xml>${n}</xml>`),
      },
      {
        name: 'shopify XML content type',
        source: 'shopify',
        status: 415,
        request: (n) => shopify(`<order>${n}</order>`, { headers: { 'content-type': 'application/xml' } }),
      },
    ],
  },
  {
    group: 'JSON nested deeper than 64 → 400',
    rows: [
      { name: '65 levels', source: 'github', status: 400, request: (n) => github(nested(n, 65)) },
      { name: '10 000 levels', source: 'github', status: 400, request: (n) => github(nested(n, 10_000)) },
      {
        name: '64 levels is accepted',
        source: 'github',
        status: 202,
        request: (n) => github(nested(n, 64), { event: 'deep_event' }),
        stored: (json) => expect(JSON.parse(json).type).toBe('deep_event'),
      },
    ],
  },
  {
    group: '__proto__ keys, duplicate keys, integers beyond 2^53 → accepted and stored safely',
    rows: [
      {
        name: '__proto__, duplicate keys and big integers',
        source: 'github',
        status: 202,
        request: (n) =>
          github(
            `{"action":"opened","nonce":"${n}","__proto__":{"polluted":true},"dup":1,"dup":2,` +
              `"big":1234567890123456789,"id":9007199254740993,"repository":{"full_name":"octo/e2e"}}`,
          ),
        stored: (json) => {
          // The envelope splices the raw JSON: the digits and keys survive exactly.
          expect(json).toContain('"big":1234567890123456789');
          expect(json).toContain('"id":9007199254740993');
          expect(json).toContain('"__proto__":{"polluted":true}');
          const envelope = JSON.parse(json);
          expect(envelope.type).toBe('pull_request.opened');
          expect(envelope.subject).toBe('octo/e2e');
          expect(Object.hasOwn(envelope.data, '__proto__')).toBe(true);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      },
      {
        name: 'a top-level JSON array',
        source: 'github',
        status: 202,
        request: (n) => github(JSON.stringify([n, 1, null]), { event: 'array_event' }),
      },
    ],
  },
  {
    group: 'valid signature, unknown event type → 202, stored, routed',
    rows: [
      {
        name: 'github event type nobody configured',
        source: 'github',
        status: 202,
        request: (n) => github(JSON.stringify({ nonce: n }), { event: 'made_up_event' }),
        stored: (json) =>
          expect(JSON.parse(json)).toMatchObject({ type: 'made_up_event', provider: 'github' }),
      },
      {
        name: 'stripe event type nobody configured',
        source: 'stripe',
        status: 202,
        request: (n) => stripe(stripeBody(n).replace('"invoice.paid"', '"made_up.thing"')),
        stored: (json) => expect(JSON.parse(json)).toMatchObject({ type: 'made_up.thing' }),
      },
    ],
  },
];

/** Accepted events of the table: id → nonce (for the delivery checks). */
const acceptedByNonce = new Map<string, string>();

async function expectNothingStored(before: number, nonce: string) {
  const items = await e2e.events();
  expect(items.length).toBe(before);
  expect(items.filter((i) => i.envelope.includes(nonce) || i.pk.includes(nonce))).toEqual([]);
}

describe('bad inputs, end to end', () => {
  for (const { group, rows } of ROWS) {
    describe(group, () => {
      for (const row of rows) {
        it(`${row.name} → ${row.status}`, async () => {
          const nonce = randomUUID();
          const before = (await e2e.events()).length;
          const res = await e2e.post(row.source, row.request(nonce), row.query);
          expect(res.status, res.text).toBe(row.status);
          if (row.status === 202) {
            expect(res.json?.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
            const items = await e2e.events();
            expect(items.length).toBe(before + 1);
            const item = items.find((i) => i.id === res.json?.id);
            expect(item).toBeDefined();
            row.stored?.(item!.envelope, nonce);
            acceptedIds.add(res.json!.id!);
            acceptedByNonce.set(res.json!.id!, nonce);
          } else {
            rejectedNonces.push(nonce);
            await expectNothingStored(before, nonce);
            if (res.status === 401 || res.status === 400 || res.status === 415 || res.status === 413) {
              expect(res.json?.error).toEqual(expect.any(String));
            }
          }
        });
      }
    });
  }

  describe("body above Lambda's 6 MB invoke limit, below the HTTP API's 10 MB", () => {
    let refused: RawResponse | undefined;

    it('a validly signed 7 MB body is refused and nothing is stored', async () => {
      const nonce = randomUUID();
      rejectedNonces.push(nonce);
      const before = (await e2e.events()).length;
      const res = await e2e.post('github', github(prBody(nonce, { pad: 'x'.repeat(7 * 1024 * 1024) })));
      refused = res;
      expect(res.status).toBeGreaterThanOrEqual(400);
      await expectNothingStored(before, nonce);
    });

    // The ingest function never runs (the invoke payload exceeds 6 MB): the local HTTP API maps Lambda's
    // RequestEntityTooLargeException to 413 with a JSON body — a client's oversized body is never a 5xx.
    it('the refusal is 413 with a JSON error body, not 500', () => {
      expect(refused?.status).toBe(413);
      expect(refused?.headers['content-type']).toMatch(/^application\/json/);
      expect(refused?.json?.message).toBe('Request Entity Too Large');
    });
  });

  it('unknown source → 404, nothing stored', async () => {
    const before = (await e2e.events()).length;
    for (const name of ['nope', '__proto__', 'constructor', 'GitHub', 'github%20', '%E0%A4%A']) {
      const nonce = randomUUID();
      rejectedNonces.push(nonce);
      const res = await e2e.send({ path: `/webhooks/${name}`, ...github(prBody(nonce)) });
      expect(res.status, name).toBe(404);
      await expectNothingStored(before, nonce);
    }
  });

  it('wrong method → 405 with Allow: POST, nothing stored', async () => {
    const before = (await e2e.events()).length;
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const nonce = randomUUID();
      rejectedNonces.push(nonce);
      const res = await e2e.send({ method, path: '/webhooks/github', ...github(prBody(nonce)) });
      expect(res.status, method).toBe(405);
      expect(String(res.headers.allow)).toContain('POST');
      await expectNothingStored(before, nonce);
    }
  });

  it('duplicate delivery id → 2xx with the same id, one stored event, one delivery', async () => {
    const nonce = randomUUID();
    const request = github(prBody(nonce), { delivery: `dup-${nonce}` });
    const before = (await e2e.events()).length;
    const first = await e2e.post('github', request);
    const second = await e2e.post('github', request);
    // A retry with the same id but a re-signed, different body is still the same delivery.
    const third = await e2e.post(
      'github',
      github(prBody(nonce, { retried: true }), { delivery: `dup-${nonce}` }),
    );
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(third.status).toBe(202);
    expect(first.json?.duplicate).toBeUndefined();
    expect(second.json).toEqual({ id: first.json?.id, duplicate: true });
    expect(third.json).toEqual({ id: first.json?.id, duplicate: true });
    expect((await e2e.events()).length).toBe(before + 1);
    acceptedIds.add(first.json!.id!);
    await e2e.waitForDelivery(first.json!.id!);
    await e2e.settle();
    expect(e2e.deliveriesOf(first.json!.id!)).toHaveLength(1);
  });

  describe('throttled source', () => {
    let throttled: RawResponse;
    const nonce = randomUUID();

    it('→ 429 once the burst is spent, nothing stored', async () => {
      const before = (await e2e.events()).length;
      const answers: number[] = [];
      // burstLimit 2 at 0.01/s: the third request in a row is throttled whatever it carries.
      for (let i = 0; i < 4; i++) {
        const res = await e2e.post('throttled', github(prBody(`${nonce}-${i}`), { secret: 'wrong' }));
        answers.push(res.status);
        if (res.status === 429) throttled = res;
      }
      rejectedNonces.push(nonce);
      expect(answers).toEqual([401, 401, 429, 429]);
      // Even a validly signed webhook is throttled: nothing is stored.
      const signed = await e2e.post('throttled', github(prBody(nonce)));
      expect(signed.status).toBe(429);
      await expectNothingStored(before, nonce);
      // Other sources are not affected by this source's bucket.
      const other = await e2e.post('github', github(prBody(randomUUID())));
      expect(other.status).toBe(202);
      acceptedIds.add(other.json!.id!);
    });

    // API Gateway's own 429 carries no Retry-After (it throttles before any code runs), and the local API answers
    // the same: senders fall back to their own retry schedules.
    it('→ 429 as API Gateway answers it: {"message":"Too Many Requests"}, no Retry-After', () => {
      expect(throttled?.status).toBe(429);
      expect(throttled.json).toEqual({ message: 'Too Many Requests' });
      expect(throttled.headers['retry-after']).toBeUndefined();
    });
  });

  it('nothing rejected was delivered; every accepted event was delivered exactly once', async () => {
    for (const id of acceptedIds) await e2e.waitForDelivery(id);
    await e2e.settle();
    const delivered = e2e.deliveries;
    for (const nonce of rejectedNonces) expect(delivered.filter((d) => d.body.includes(nonce))).toEqual([]);
    expect(delivered.map((d) => d.headers['webhook-id']).sort()).toEqual([...acceptedIds].sort());
    for (const [id, nonce] of acceptedByNonce) {
      const [delivery] = e2e.deliveriesOf(id);
      expect(delivery!.envelope.id).toBe(id);
      expect(delivery!.body).toContain(nonce);
    }
  });

  const deliveredOddPayload = () => {
    const id = [...acceptedByNonce.keys()].find((k) => e2e.deliveriesOf(k)[0]?.body.includes('"dup"'));
    expect(id).toBeDefined();
    return e2e.deliveriesOf(id!)[0]!;
  };

  it('__proto__ and duplicate keys: the delivered payload keeps the own __proto__ key and the last value', () => {
    const data = deliveredOddPayload().envelope.data as Record<string, unknown>;
    expect(data.dup).toBe(2);
    expect(Object.hasOwn(data, '__proto__')).toBe(true);
    expect(data.repository).toEqual({ full_name: 'octo/e2e' });
  });

  // The stored envelope keeps the raw digits, and so does every hop after it: the local EventBridge puts the Detail
  // text on the queue (whitespace dropped, as AWS may re-serialise it) and delivery POSTs the raw `detail` text of
  // the SQS record (never parsed and re-serialised).
  it('integers beyond 2^53: the delivered body keeps their digits', () => {
    const { body } = deliveredOddPayload();
    expect(body).toContain('"big":1234567890123456789');
    expect(body).toContain('"id":9007199254740993');
    expect(body).not.toContain('1234567890123456800');
    expect(body).not.toContain('9007199254740992');
  });

  // A text-typed body that is not UTF-8 reaches the function base64-encoded (not decoded with U+FFFD replacements),
  // so the signature verifies over the bytes that were sent and the body is then refused as not UTF-8.
  it('invalid UTF-8 in an application/json body, validly signed → 400 (not 401)', async () => {
    const nonce = randomUUID();
    rejectedNonces.push(nonce);
    const body = Buffer.concat([
      Buffer.from(`{"nonce":"${nonce}","x":"`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const res = await e2e.post('github', github(body));
    expect(res.status).toBe(400);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Property-based fuzz over the HTTP endpoint.

const SOURCES = [
  'github',
  'stripe',
  'slack',
  'linear',
  'standard',
  'shopify',
  'twilio',
  'generic',
  'tiny',
  'throttled',
];
const INTERESTING_HEADERS = [
  ...KNOWN_HEADERS,
  GENERIC.signatureHeader,
  GENERIC.deliveryIdHeader,
  GENERIC.eventTypeHeader,
  'content-type',
  'content-encoding',
];
/** Headers node:http or the protocol itself own: setting them randomly tests the client, not the endpoint. */
const RESERVED = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'expect',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'cookie',
]);

const hexOf = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
const b64Of = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('base64'));
const stampArb = fc.oneof(
  fc.constant(null).map(() => String(nowSeconds())),
  fc.integer({ min: -1000, max: 1000 }).map((d) => String(nowSeconds() + d)),
  fc.constantFrom('', '0', '-1', '1e9', 'NaN', '99999999999999999999', ' 1', '0x10'),
);
const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 80,
});
const headerValueArb = fc.oneof(
  printable,
  hexOf(32).map((h) => `sha256=${h}`),
  hexOf(32).map((h) => `v0=${h}`),
  hexOf(32),
  hexOf(31),
  b64Of(32).map((b) => `v1,${b}`),
  b64Of(32),
  b64Of(20),
  fc.tuple(stampArb, hexOf(32)).map(([t, h]) => `t=${t},v1=${h}`),
  fc.tuple(stampArb, hexOf(32)).map(([t, h]) => `t=${t},sha256=${h}`),
  stampArb,
  fc.constantFrom(
    'application/json',
    'application/x-www-form-urlencoded',
    'text/plain',
    'application/octet-stream',
    'APPLICATION/JSON; charset=utf-8',
    'multipart/form-data; boundary=x',
    '',
  ),
);
const headerNameArb = fc
  .oneof(fc.constantFrom(...INTERESTING_HEADERS), fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9-]{0,20}$/))
  .chain((name) =>
    fc
      .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
      .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join('')),
  )
  .filter((name) => !RESERVED.has(name.toLowerCase()));
const headersArb = fc
  .array(fc.tuple(headerNameArb, fc.array(headerValueArb, { minLength: 1, maxLength: 3 })), { maxLength: 8 })
  .map((entries) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, values] of entries) headers[name] = values.length === 1 ? values[0]! : values;
    return headers;
  });
const bodyArb = fc.oneof(
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  fc.json({ maxDepth: 4 }).map((j) => Buffer.from(j)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify({ type: 'fuzz', v }))),
  fc.integer({ min: 1, max: 200 }).map((d) => Buffer.from(`${'['.repeat(d)}${']'.repeat(d)}`)),
  fc.integer({ min: 1, max: 300 }).map((kb) => Buffer.from(JSON.stringify({ pad: 'x'.repeat(kb * 1024) }))),
  fc.constant(Buffer.from('\uFEFF{}')),
);
const pathArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SOURCES).map((s) => `/webhooks/${s}`) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }).map((s) => `/webhooks/${encodeURIComponent(s)}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '/webhooks/',
      '/webhooks',
      '/',
      '/webhooks/github/extra',
      '/webhooks/%zz',
      '/WEBHOOKS/github',
    ),
  },
);
const methodArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant('POST') },
  { weight: 2, arbitrary: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') },
);
/** Random requests, and validly signed GitHub / generic ones with random headers, bodies and content types. */
const contentTypeArb = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/vnd.api+json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'application/octet-stream',
);
const caseArb = fc.oneof(
  fc.record({
    method: methodArb,
    path: pathArb,
    headers: headersArb,
    body: bodyArb,
    sign: fc.constant<'none' | 'github' | 'generic' | 'forged'>('none'),
    contentType: contentTypeArb,
  }),
  fc.record({
    method: fc.constant('POST'),
    path: fc.constant(''),
    headers: headersArb,
    body: bodyArb,
    sign: fc.constantFrom<'none' | 'github' | 'generic' | 'forged'>('github', 'generic', 'forged'),
    contentType: contentTypeArb,
  }),
);

describe('fuzz: random requests against the HTTP endpoint', () => {
  it('never answers 5xx, and stores nothing for any non-2xx answer', async () => {
    let seen = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const headers: Headers = { ...c.headers };
        let path = c.path;
        if (c.sign === 'github') {
          path = `/webhooks/github/${e2e.stack.secrets.urlToken('github')}`;
          headers['content-type'] = c.contentType;
          headers['x-hub-signature-256'] = githubSignature(c.body);
          headers['x-github-delivery'] = randomUUID();
        } else if (c.sign === 'generic') {
          path = `/webhooks/generic/${e2e.stack.secrets.urlToken('generic')}`;
          headers['content-type'] = c.contentType;
          headers['x-acme-signature'] = genericSignature(nowSeconds(), c.body);
        } else if (c.sign === 'forged') {
          // The right URL, a signature made without the secret.
          path = `/webhooks/github/${e2e.stack.secrets.urlToken('github')}`;
          headers['content-type'] = c.contentType;
          headers['x-hub-signature-256'] = `sha256=${'ab'.repeat(32)}`;
        }
        const before = (await e2e.events()).length;
        const res = await e2e.send({ method: c.method, path, headers, body: c.body });
        seen++;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `${c.method} ${path} → ${res.status} ${res.text}`).toBeLessThan(500);
        expect(res.status).toBeGreaterThanOrEqual(200);
        const after = (await e2e.events()).length;
        if (res.status >= 300) expect(after).toBe(before);
        else expect(after - before).toBeLessThanOrEqual(1);
      }),
      { numRuns: 150, interruptAfterTimeLimit: 20_000, endOnFailure: true },
    );
    // The fuzz must have exercised the endpoint, not just generated cases.
    expect(seen).toBeGreaterThan(20);
    expect(statuses.has(401), 'forged signatures were refused').toBe(true);
    expect(statuses.has(404), 'paths without a URL token were refused').toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Last: it breaks the table on purpose.

describe('storage failure', () => {
  it('→ 503 + Retry-After when DynamoDB fails (table deleted), nothing acknowledged or delivered', async () => {
    const deliveredBefore = e2e.deliveries.length;
    const { client } = e2e.stack.dynamodb;
    const TableName = e2e.stack.tableName;
    const tableStatus = () =>
      client.send(new DescribeTableCommand({ TableName })).then(
        (out) => out.Table?.TableStatus ?? 'UNKNOWN',
        (error: Error) => (error.name === 'ResourceNotFoundException' ? 'GONE' : Promise.reject(error)),
      );
    await client.send(new DeleteTableCommand({ TableName }));
    // dynalite deletes asynchronously: wait (bounded) until the table is really gone.
    await waitFor('table deleted', async () => (await tableStatus()) === 'GONE');
    const nonce = randomUUID();
    try {
      const res = await e2e.post('github', github(prBody(nonce)));
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(res.json?.id).toBeUndefined();
    } finally {
      await ensureTable(client, TableName, EVENTS_TABLE);
      await waitFor('table active again', async () => (await tableStatus()) === 'ACTIVE');
    }
    expect(await e2e.events()).toEqual([]);
    await e2e.settle(1_000);
    expect(e2e.deliveries.slice(deliveredBefore).filter((d) => d.body.includes(nonce))).toEqual([]);
    // The endpoint recovers with the table.
    const again = await e2e.post('github', github(prBody(nonce)));
    expect(again.status).toBe(202);
    expect((await e2e.events()).map((i) => i.id)).toEqual([again.json?.id]);
  });
});
