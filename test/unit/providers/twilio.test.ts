import { createHash } from 'node:crypto';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { parseBody } from '../../../lambdas/ingest/body';
import { twilioAdapter, twilioUrlCandidates } from '../../../lambdas/ingest/providers/twilio';
import { expectEnvelopeReady, expectRejected, request, sourceFor, verify } from './helpers';

const { getExpectedTwilioSignature, validateRequest, validateRequestWithBody } = twilio;
const source = sourceFor('twilio');

// twilio-node's own test vector.
const TOKEN = '12345';
const URL_ = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const PARAMS = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};
const VECTOR_SIGNATURE = 'RSOYDt4T1cUTdK1PDd93/VVr8B8=';

const form = (params: Record<string, string | string[]>) => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const item of [v].flat()) search.append(k, item);
  return search.toString();
};
const twilioRequest = (signature: string, body: string, url = URL_, extra: Record<string, string> = {}) =>
  request({ 'X-Twilio-Signature': signature, ...extra }, body, url);

describe('twilio verify', () => {
  it('accepts twilio-node’s test vector (and the library agrees)', () => {
    expect(validateRequest(TOKEN, VECTOR_SIGNATURE, URL_, PARAMS)).toBe(true);
    expect(verify('twilio', twilioRequest(VECTOR_SIGNATURE, form(PARAMS)), [TOKEN])).toEqual({ ok: true });
  });

  it('accepts what getExpectedTwilioSignature signs, whatever the form order', () => {
    const params = {
      Body: 'Hello + world & co',
      From: '+15005550006',
      MessageSid: 'SM123',
      SmsStatus: 'received',
    };
    const signature = getExpectedTwilioSignature('auth-token', URL_, params);
    const reordered = form({
      SmsStatus: params.SmsStatus,
      Body: params.Body,
      MessageSid: 'SM123',
      From: params.From,
    });
    expect(verify('twilio', twilioRequest(signature, reordered), ['auth-token']).ok).toBe(true);
  });

  it('rejects what validateRequest rejects: tampered param, other URL, wrong token', () => {
    const tampered = { ...PARAMS, Digits: '9999' };
    expect(validateRequest(TOKEN, VECTOR_SIGNATURE, URL_, tampered)).toBe(false);
    expectRejected(verify('twilio', twilioRequest(VECTOR_SIGNATURE, form(tampered)), [TOKEN]), [TOKEN]);
    const otherUrl = 'https://mycompany.com/myapp.php?foo=1&bar=3';
    expect(validateRequest(TOKEN, VECTOR_SIGNATURE, otherUrl, PARAMS)).toBe(false);
    expectRejected(verify('twilio', twilioRequest(VECTOR_SIGNATURE, form(PARAMS), otherUrl), [TOKEN]));
    expect(validateRequest('54321', VECTOR_SIGNATURE, URL_, PARAMS)).toBe(false);
    expectRejected(verify('twilio', twilioRequest(VECTOR_SIGNATURE, form(PARAMS)), ['54321']));
  });

  it('tries the URL with and without the default port, as validateRequest does', () => {
    const withPort = 'https://mycompany.com:443/myapp.php?foo=1&bar=2';
    const signedWithPort = getExpectedTwilioSignature(TOKEN, withPort, PARAMS);
    expect(validateRequest(TOKEN, signedWithPort, URL_, PARAMS)).toBe(true);
    expect(verify('twilio', twilioRequest(signedWithPort, form(PARAMS)), [TOKEN]).ok).toBe(true);
    expect(validateRequest(TOKEN, VECTOR_SIGNATURE, withPort, PARAMS)).toBe(true);
    expect(verify('twilio', twilioRequest(VECTOR_SIGNATURE, form(PARAMS), withPort), [TOKEN]).ok).toBe(true);
    expect(twilioUrlCandidates('http://a.example/x')).toEqual(
      expect.arrayContaining(['http://a.example/x', 'http://a.example:80/x']),
    );
  });

  it('accepts URLs that only match after normalisation, like validateRequest', () => {
    const raw = "https://mycompany.com/my app.php?name=O'Brien";
    const normalised = new URL(raw).toString();
    const signature = getExpectedTwilioSignature(TOKEN, normalised, PARAMS);
    expect(validateRequest(TOKEN, signature, raw, PARAMS)).toBe(true);
    expect(verify('twilio', twilioRequest(signature, form(PARAMS), raw), [TOKEN]).ok).toBe(true);
  });

  it('signs repeated parameters as each distinct value, sorted', () => {
    const params = { To: '+1800', MediaUrl: ['https://b', 'https://a', 'https://a'] };
    const signature = getExpectedTwilioSignature(TOKEN, URL_, params);
    expect(verify('twilio', twilioRequest(signature, form(params)), [TOKEN]).ok).toBe(true);
  });

  it('checks JSON bodies through bodySHA256, as validateRequestWithBody does', () => {
    const json = JSON.stringify({
      type: 'com.twilio.messaging.message.delivered',
      id: 'EZ123',
      data: { to: '+1' },
    });
    const hash = createHash('sha256').update(json).digest('hex');
    const url = `https://hooks.example.com/webhooks/src?bodySHA256=${hash}`;
    const signature = getExpectedTwilioSignature(TOKEN, url, {});
    expect(validateRequestWithBody(TOKEN, signature, url, json)).toBe(true);
    expect(verify('twilio', twilioRequest(signature, json, url), [TOKEN])).toEqual({ ok: true });

    const tampered = json.replace('EZ123', 'EZ999');
    expect(validateRequestWithBody(TOKEN, signature, url, tampered)).toBe(false);
    expect(expectRejected(verify('twilio', twilioRequest(signature, tampered, url), [TOKEN]))).toMatch(
      /bodySHA256/,
    );

    const twice = `${url}&bodySHA256=${hash}`;
    expectRejected(
      verify('twilio', twilioRequest(getExpectedTwilioSignature(TOKEN, twice, {}), json, twice), [TOKEN]),
    );
  });

  it('accepts any of several auth tokens (rotation)', () => {
    expect(verify('twilio', twilioRequest(VECTOR_SIGNATURE, form(PARAMS)), ['old-token', TOKEN]).ok).toBe(
      true,
    );
    expectRejected(verify('twilio', twilioRequest(VECTOR_SIGNATURE, form(PARAMS)), ['old-token']));
  });

  it('rejects malformed signatures and a missing URL', () => {
    const body = form(PARAMS);
    expectRejected(verify('twilio', twilioRequest(VECTOR_SIGNATURE.slice(0, -1), body), [TOKEN]));
    expectRejected(
      verify('twilio', twilioRequest(`${VECTOR_SIGNATURE}, ${VECTOR_SIGNATURE}`, body), [TOKEN]),
    );
    expectRejected(
      verify('twilio', twilioRequest(Buffer.from(VECTOR_SIGNATURE, 'base64').toString('hex'), body), [TOKEN]),
    );
    expectRejected(verify('twilio', twilioRequest(VECTOR_SIGNATURE, body, ''), [TOKEN]));
  });
});

describe('twilio normalise', () => {
  const parse = (body: string) => {
    const parsed = parseBody(
      Buffer.from(body),
      'application/x-www-form-urlencoded',
      twilioAdapter.bodyFormats,
    );
    return parsed.ok ? parsed.value : undefined;
  };

  it('types an inbound SMS as message.received, prefers the idempotency token', () => {
    const body = form({
      MessageSid: 'SM1',
      SmsSid: 'SM1',
      AccountSid: 'AC1',
      From: '+15005550006',
      To: '+1',
      Body: 'hi',
      SmsStatus: 'received',
    });
    const withToken = twilioAdapter.normalise(
      twilioRequest('', body, URL_, { 'I-Twilio-Idempotency-Token': 'a5b0ce4e-98d4-4b4c-8f09-1c5f1ef3e0b1' }),
      parse(body),
      source,
    );
    expect(withToken).toEqual({
      type: 'message.received',
      deliveryId: 'a5b0ce4e-98d4-4b4c-8f09-1c5f1ef3e0b1',
      providerTime: null,
      subject: '+15005550006',
    });
    expectEnvelopeReady(withToken);
    expect(twilioAdapter.normalise(twilioRequest('', body), parse(body), source).deliveryId).toBe(
      'SM1:received',
    );
  });

  it('types status callbacks and calls', () => {
    const status = form({ MessageSid: 'SM2', MessageStatus: 'delivered', AccountSid: 'AC1' });
    expect(twilioAdapter.normalise(twilioRequest('', status), parse(status), source)).toMatchObject({
      type: 'message.delivered',
      deliveryId: 'SM2:delivered',
      subject: 'AC1',
    });
    const call = form({
      CallSid: 'CA1',
      CallStatus: 'completed',
      SequenceNumber: '3',
      Timestamp: 'Tue, 14 Jan 2020 21:04:04 +0000',
      From: '+1555',
    });
    expect(twilioAdapter.normalise(twilioRequest('', call), parse(call), source)).toEqual({
      type: 'call.completed',
      deliveryId: 'CA1:completed:3',
      providerTime: '2020-01-14T21:04:04.000Z',
      subject: '+1555',
    });
    // A gather result has no sequence number: no delivery id, so it dedupes on the body hash only.
    const gather = form(PARAMS);
    expect(twilioAdapter.normalise(twilioRequest('', gather), parse(gather), source)).toMatchObject({
      type: 'call',
      deliveryId: null,
    });
    const recording = form({ CallSid: 'CA1', RecordingSid: 'RE1', RecordingStatus: 'completed' });
    expect(twilioAdapter.normalise(twilioRequest('', recording), parse(recording), source)).toMatchObject({
      type: 'recording.completed',
      deliveryId: 'RE1:completed',
    });
  });

  it('types JSON bodies by their type field', () => {
    const body = { type: 'com.twilio.messaging.message.delivered', id: 'EZ123' };
    expect(twilioAdapter.normalise(twilioRequest('', ''), body, source)).toMatchObject({
      type: 'com.twilio.messaging.message.delivered',
      deliveryId: 'EZ123',
    });
    expect(twilioAdapter.normalise(twilioRequest('', ''), [body], source).type).toBe('unknown');
  });
});
