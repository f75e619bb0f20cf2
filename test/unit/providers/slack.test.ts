import { createHmac } from 'node:crypto';
import { verifySlackRequest } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { parseBody } from '../../../lambdas/ingest/body';
import { slackAdapter } from '../../../lambdas/ingest/providers/slack';
import { expectEnvelopeReady, expectRejected, NOW_MS, NOW_S, request, sourceFor, verify } from './helpers';

const source = sourceFor('slack');

// Slack's documented example ("Verifying requests from Slack").
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TIMESTAMP = '1531420618';
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

const SECRET = 'slack-signing-secret-0123456789ab';
const sign = (ts: number | string, body: string, secret = SECRET) =>
  `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
const slackRequest = (body: string, ts: number | string = NOW_S, signature = sign(ts, body), extra = {}) =>
  request({ 'X-Slack-Signature': signature, 'X-Slack-Request-Timestamp': String(ts), ...extra }, body);

const boltAccepts = (body: string, ts: number, signature: string, secret: string, nowMs: number) => {
  try {
    verifySlackRequest({
      signingSecret: secret,
      body,
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': ts },
      nowMilliseconds: nowMs,
    });
    return true;
  } catch {
    return false;
  }
};

const eventBody = JSON.stringify({
  token: 'XXYYZZ',
  team_id: 'T123ABC456',
  api_app_id: 'A123ABC456',
  event: {
    type: 'app_mention',
    user: 'U123ABC456',
    text: '<@U0LAN0Z89> hi',
    ts: '1515449522.000016',
    channel: 'C123ABC456',
  },
  type: 'event_callback',
  event_id: 'Ev123ABC456',
  event_time: 1_515_449_522,
});

describe('slack verify', () => {
  it('accepts Slack’s documented example', () => {
    const req = request(
      { 'x-slack-signature': DOC_SIGNATURE, 'x-slack-request-timestamp': DOC_TIMESTAMP },
      DOC_BODY,
    );
    expect(verify('slack', req, [DOC_SECRET], { now: Number(DOC_TIMESTAMP) * 1000 + 30_000 })).toEqual({
      ok: true,
    });
    expect(sign(DOC_TIMESTAMP, DOC_BODY, DOC_SECRET)).toBe(DOC_SIGNATURE);
  });

  it('agrees with @slack/bolt verifySlackRequest on good and bad requests', () => {
    const good = sign(NOW_S, eventBody);
    expect(boltAccepts(eventBody, NOW_S, good, SECRET, NOW_MS)).toBe(true);
    expect(verify('slack', slackRequest(eventBody), [SECRET]).ok).toBe(true);

    const tampered = eventBody.replace('hi', 'ho');
    expect(boltAccepts(tampered, NOW_S, good, SECRET, NOW_MS)).toBe(false);
    expectRejected(verify('slack', slackRequest(tampered, NOW_S, good), [SECRET]), [SECRET]);

    expect(boltAccepts(eventBody, NOW_S, good, 'wrong-secret', NOW_MS)).toBe(false);
    expectRejected(verify('slack', slackRequest(eventBody), ['wrong-secret']));

    const staleTs = NOW_S - 301;
    const stale = sign(staleTs, eventBody);
    expect(boltAccepts(eventBody, staleTs, stale, SECRET, NOW_MS)).toBe(false);
    expect(expectRejected(verify('slack', slackRequest(eventBody, staleTs, stale), [SECRET]))).toMatch(/old/);
  });

  it('rejects future stamps beyond the window (bolt only checks staleness)', () => {
    const ts = NOW_S + 301;
    expect(boltAccepts(eventBody, ts, sign(ts, eventBody), SECRET, NOW_MS)).toBe(true);
    expect(expectRejected(verify('slack', slackRequest(eventBody, ts), [SECRET]))).toMatch(/future/);
    expect(verify('slack', slackRequest(eventBody, NOW_S + 300), [SECRET]).ok).toBe(true);
  });

  it('accepts any of several secrets and rejects bad timestamps', () => {
    expect(verify('slack', slackRequest(eventBody), ['old', SECRET]).ok).toBe(true);
    for (const ts of ['', ' 1700000000', '1700000000.5', '-1700000000', '1e9', 'abc', '0x6553f100']) {
      expectRejected(verify('slack', slackRequest(eventBody, ts, sign(ts, eventBody)), [SECRET]));
    }
  });
});

describe('slack normalise', () => {
  it('answers url_verification with the challenge as text/plain, storing nothing', () => {
    const body = {
      token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    };
    const result = slackAdapter.normalise(slackRequest(JSON.stringify(body)), body, source);
    expect(result.handshake).toEqual({
      statusCode: 200,
      contentType: 'text/plain; charset=utf-8',
      body: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
    });
    // A non-string challenge is not a handshake.
    const odd = slackAdapter.normalise(slackRequest(''), { type: 'url_verification', challenge: {} }, source);
    expect(odd.handshake).toBeUndefined();
    expect(odd.type).toBe('url_verification');
  });

  it('types Events API callbacks by the inner event and keeps event_id across retries', () => {
    const first = slackAdapter.normalise(slackRequest(eventBody), JSON.parse(eventBody), source);
    expect(first).toEqual({
      type: 'app_mention',
      deliveryId: 'Ev123ABC456',
      providerTime: '2018-01-08T22:12:02.000Z',
      subject: 'C123ABC456',
    });
    const retry = slackRequest(eventBody, NOW_S, undefined, {
      'x-slack-retry-num': '1',
      'x-slack-retry-reason': 'http_timeout',
    });
    expect(slackAdapter.normalise(retry, JSON.parse(eventBody), source).deliveryId).toBe('Ev123ABC456');
    expect(slackAdapter.keptHeaders).toContain('x-slack-retry-num');
  });

  it('types slash commands as command.<name> from the parsed form', () => {
    const parsed = parseBody(
      Buffer.from(DOC_BODY),
      'application/x-www-form-urlencoded',
      slackAdapter.bodyFormats,
    );
    expect(parsed.ok).toBe(true);
    const value = parsed.ok ? parsed.value : undefined;
    const result = slackAdapter.normalise(
      request({ 'x-slack-request-timestamp': DOC_TIMESTAMP }, DOC_BODY),
      value,
      source,
    );
    expect(result).toEqual({
      type: 'command.webhook-collect',
      deliveryId: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
      providerTime: '2018-07-12T18:36:58.000Z',
      subject: 'G8PSS9T3V',
    });
  });

  it('types interactivity payloads by their type', () => {
    const payload = {
      type: 'block_actions',
      team: { id: 'T9TK3CUKW', domain: 'example' },
      user: { id: 'UA8RXUSPL' },
      trigger_id: '12466734323.1395872398',
      container: { type: 'message', channel_id: 'CBR2V3XEX' },
      channel: { id: 'CBR2V3XEX', name: 'review-updates' },
      actions: [{ action_id: 'WaXA', type: 'button' }],
    };
    const form = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const parsed = parseBody(
      Buffer.from(form),
      'application/x-www-form-urlencoded',
      slackAdapter.bodyFormats,
    );
    const value = parsed.ok ? parsed.value : undefined;
    const result = slackAdapter.normalise(slackRequest(form), value, source);
    expect(result).toMatchObject({
      type: 'block_actions',
      deliveryId: '12466734323.1395872398',
      subject: 'CBR2V3XEX',
    });
    expectEnvelopeReady(result);
    const view = slackAdapter.normalise(
      slackRequest(''),
      { type: 'view_submission', team: { id: 'T1' } },
      source,
    );
    expect(view).toMatchObject({ type: 'view_submission', subject: 'T1', deliveryId: null });
  });

  it('finds the channel of item events and falls back to the team', () => {
    const reaction = {
      type: 'event_callback',
      team_id: 'T1',
      event: { type: 'reaction_added', item: { type: 'message', channel: 'C9' } },
    };
    expect(slackAdapter.normalise(slackRequest(''), reaction, source).subject).toBe('C9');
    const created = {
      type: 'event_callback',
      team_id: 'T1',
      event: { type: 'channel_created', channel: { id: 'C7', name: 'x' } },
    };
    expect(slackAdapter.normalise(slackRequest(''), created, source).subject).toBe('C7');
    const teamOnly = { type: 'event_callback', team_id: 'T1', event: { type: 'team_join' } };
    expect(slackAdapter.normalise(slackRequest(''), teamOnly, source)).toMatchObject({
      type: 'team_join',
      subject: 'T1',
    });
    const noEvent = { type: 'event_callback' };
    expect(slackAdapter.normalise(slackRequest(''), noEvent, source).type).toBe('event_callback');
  });
});
