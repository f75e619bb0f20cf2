/**
 * Twilio: `X-Twilio-Signature: <base64>` = HMAC-SHA1(auth token, <full public URL> + for each POST parameter sorted
 * by name: name + value). Repeated parameters contribute each distinct value, sorted. JSON bodies are signed through
 * the URL instead: it carries `bodySHA256=<sha256 hex of the body>`, the signature covers the URL alone, and the body
 * must hash to that value. Nothing time-related is signed.
 *
 * The URL is tried as received, without and with the default port, then normalised by the WHATWG URL parser and with
 * a legacy `querystring` re-encoding of the query, as `twilio.validateRequest` (twilio-node 6) does.
 *
 * - type: `message.<status>` for messages (`MessageStatus`/`SmsStatus` lower-cased; inbound messages are
 *   `message.received`), `call.<CallStatus>` for voice (`call.ringing`, `call.completed`), `recording.<status>` and
 *   `transcription.<status>`; for JSON bodies `body.type`; otherwise `unknown`.
 * - deliveryId: `I-Twilio-Idempotency-Token` when present; else `<MessageSid>:<status>` for messages,
 *   `<RecordingSid>:<status>` for recordings, `<CallSid>:<CallStatus>:<SequenceNumber>` for call status callbacks;
 *   else null (voice webhooks such as `<Gather>` results repeat CallSid and status, so they dedupe on the body hash).
 * - providerTime: `Timestamp` (RFC 2822, call status callbacks), else null.
 * - subject: `From`, else `AccountSid`.
 */
import { createHash } from 'node:crypto';
import { parse as parseQuerystring, stringify as stringifyQuerystring } from 'node:querystring';
import {
  anyKeyMatches,
  bytesEqual,
  DIGEST_BYTES,
  decodeBase64,
  decodeHex,
  hmac,
  usableSecrets,
} from './hmac';
import { isoFromHttpDate } from './timestamp';
import type { ProviderAdapter } from './types';
import {
  bodyBytes,
  deliveryId,
  eventType,
  fail,
  firstOf,
  guardNormalise,
  guardVerify,
  header,
  headerText,
  idText,
  OK,
  prop,
  subject,
  text,
} from './util';

export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';
const BODY_HASH_PARAM = 'bodySHA256';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

interface UrlParts {
  scheme: string;
  userInfo: string;
  host: string;
  port: string;
  rest: string;
}

/** Splits a URL without normalising it (the path and query keep the exact characters Twilio signed). */
function splitUrl(url: string): UrlParts | null {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!match) return null;
  const [prefix, scheme = '', authority = ''] = match;
  const userInfoEnd = authority.lastIndexOf('@');
  const hostAndPort = authority.slice(userInfoEnd + 1);
  const portStart = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? '' : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

function addPort(url: string): string {
  const parts = splitUrl(url);
  if (!parts || parts.port) return url;
  const port = parts.scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return parts.scheme + parts.userInfo + parts.host + port + parts.rest;
}

function removePort(url: string): string {
  const parts = splitUrl(url);
  return parts ? parts.scheme + parts.userInfo + parts.host + parts.rest : url;
}

function withLegacyQuerystring(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1 || queryStart === url.length - 1) return url;
  return `${url.slice(0, queryStart)}?${stringifyQuerystring(parseQuerystring(url.slice(queryStart + 1)))}`;
}

/** Every spelling of the URL that Twilio's own validator accepts, without duplicates. */
export function twilioUrlCandidates(url: string): string[] {
  const candidates = [removePort(url), addPort(url)];
  try {
    const normalised = new URL(url).toString();
    const without = removePort(normalised);
    const withPort = addPort(normalised);
    candidates.push(without, withPort, withLegacyQuerystring(without), withLegacyQuerystring(withPort));
  } catch {
    // Not a WHATWG-parsable URL: only the spellings as received.
  }
  return [...new Set(candidates)];
}

/** The query value of `name` in the URL; `null` when absent, `false` when repeated or unparsable. */
function singleQueryValue(url: string, name: string): string | null | false {
  try {
    const values = new URL(url).searchParams.getAll(name);
    if (values.length === 0) return null;
    return values.length === 1 ? (values[0] ?? null) : false;
  } catch {
    return url.includes(name) ? false : null;
  }
}

/** Form parameters, with repeated names collected (Twilio signs each distinct value, sorted). */
function formParams(body: Buffer): Map<string, string[]> | null {
  let textBody: string;
  try {
    textBody = utf8.decode(body);
  } catch {
    return null;
  }
  const params = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(textBody)) {
    const values = params.get(key);
    if (values) values.push(value);
    else params.set(key, [value]);
  }
  return params;
}

/** The string Twilio signs after the URL: names sorted, each followed by its distinct values sorted. */
function paramString(params: Map<string, string[]>): string {
  let out = '';
  for (const key of [...params.keys()].sort()) {
    for (const value of [...new Set(params.get(key))].sort()) out += key + value;
  }
  return out;
}

export const twilioAdapter: ProviderAdapter = {
  provider: 'twilio',
  defaultToleranceSeconds: 300,
  bodyFormats: ['form', 'json'],
  keptHeaders: ['i-twilio-idempotency-token', 'x-home-region', 'user-agent', 'content-type'],

  verify: (request, context) =>
    guardVerify(() => {
      const value = header(request, TWILIO_SIGNATURE_HEADER);
      if (value === undefined || value === '') return fail(`missing ${TWILIO_SIGNATURE_HEADER} header`);
      if (value.includes(',')) return fail(`several values in ${TWILIO_SIGNATURE_HEADER}`);
      const signature = decodeBase64(value, DIGEST_BYTES.sha1);
      if (!signature) return fail(`${TWILIO_SIGNATURE_HEADER} is not canonical base64 of 20 bytes`);
      const url = typeof request.url === 'string' ? request.url : '';
      if (url === '') return fail('request URL unknown');
      const secrets = usableSecrets(context.secrets ?? []);
      if (secrets.length === 0) return fail('no auth token configured');
      const body = bodyBytes(request);

      const bodyHash = singleQueryValue(url, BODY_HASH_PARAM);
      if (bodyHash === false) return fail(`several or unreadable ${BODY_HASH_PARAM} in URL`);
      let params = '';
      if (bodyHash === null) {
        const parsed = formParams(body);
        if (!parsed) return fail('form body is not UTF-8');
        params = paramString(parsed);
      }
      const urls = twilioUrlCandidates(url);
      const matched = urls.some((candidate) =>
        anyKeyMatches(secrets, (key) => hmac('sha1', key, [candidate, params]), [signature]),
      );
      if (!matched) return fail('signature does not match');
      if (bodyHash !== null) {
        const expected = decodeHex(bodyHash, DIGEST_BYTES.sha256);
        const actual = createHash('sha256').update(body).digest();
        // Twilio sends lower-case hex; `decodeHex` also takes upper case, which spells the same bytes.
        if (!expected || !bytesEqual(expected, actual)) return fail(`body does not match ${BODY_HASH_PARAM}`);
      }
      return OK;
    }),

  normalise: (request, body) =>
    guardNormalise('unknown', () => {
      const field = (name: string) => text(prop(body, name));
      const lower = (value: string | undefined) => value?.toLowerCase();
      const token = headerText(request, 'i-twilio-idempotency-token');

      let type: string;
      let fallbackId: string | undefined;
      const recordingSid = field('RecordingSid');
      const transcriptionSid = field('TranscriptionSid');
      const messageSid = firstOf(field('MessageSid'), field('SmsSid'));
      const callSid = field('CallSid');
      if (recordingSid) {
        const status = lower(field('RecordingStatus'));
        type = status ? `recording.${status}` : 'recording';
        fallbackId = status ? `${recordingSid}:${status}` : undefined;
      } else if (transcriptionSid) {
        const status = lower(field('TranscriptionStatus'));
        type = status ? `transcription.${status}` : 'transcription';
        fallbackId = status ? `${transcriptionSid}:${status}` : undefined;
      } else if (messageSid) {
        const status = lower(firstOf(field('MessageStatus'), field('SmsStatus'))) ?? 'received';
        type = `message.${status}`;
        fallbackId = `${messageSid}:${status}`;
      } else if (callSid) {
        const status = lower(field('CallStatus'));
        type = status ? `call.${status}` : 'call';
        const sequence = idText(prop(body, 'SequenceNumber'));
        fallbackId = status && sequence ? `${callSid}:${status}:${sequence}` : undefined;
      } else {
        type = field('type') ?? 'unknown';
        fallbackId = idText(prop(body, 'id'));
      }

      return {
        type: eventType(type),
        deliveryId: deliveryId(firstOf(token, fallbackId)),
        providerTime: isoFromHttpDate(field('Timestamp')),
        subject: subject(firstOf(field('From'), field('AccountSid'))),
      };
    }),
};
