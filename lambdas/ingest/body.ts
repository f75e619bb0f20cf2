/**
 * Body decoding after a valid signature: content type, UTF-8, BOM, JSON and depth checks.
 * Pure; returns the parsed value or the exact HTTP answer for the client's mistake.
 */
import { MAX_JSON_DEPTH } from '../../core/contracts';
import type { BodyFormat } from './providers/types';

export type ParsedBody =
  | {
      readonly ok: true;
      readonly value: unknown;
      readonly format: BodyFormat;
      /** The JSON text `value` was parsed from, when there is one (reused verbatim in the envelope's JSON). */
      readonly json?: string;
      /** Holds an integer EventBridge refuses: the payload must travel by pointer, never inside a bus entry. */
      readonly outsideInt64?: boolean;
    }
  | { readonly ok: false; readonly statusCode: 400 | 415; readonly error: string; readonly message: string };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Media type without parameters, lower-cased: `application/json; charset=utf-8` → `application/json`. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

export function formatOf(contentType: string | undefined): BodyFormat | undefined {
  const type = mediaType(contentType);
  if (type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json')))
    return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  return undefined;
}

/** EventBridge accepts JSON integers only within the signed 64-bit range (PutEvents API reference). */
const INT64_LIMIT = 2 ** 63;

/**
 * One walk over a parsed JSON value: does it nest deeper than `limit`, and does it hold a number EventBridge would
 * refuse (an integer outside the signed 64-bit range)? Walking the parsed value costs a few µs where scanning the text
 * costs tens; V8's JSON.parse is iterative, so parsing first is safe (and only signed bodies get here).
 */
export function inspectJson(value: unknown, limit: number): { tooDeep: boolean; outsideInt64: boolean } {
  const facts = { tooDeep: false, outsideInt64: false };
  const walk = (node: unknown, depth: number): void => {
    if (typeof node === 'number') {
      if (Number.isInteger(node) && Math.abs(node) >= INT64_LIMIT) facts.outsideInt64 = true;
      return;
    }
    if (typeof node !== 'object' || node === null || facts.tooDeep) return;
    if (depth >= limit) {
      facts.tooDeep = true;
      return;
    }
    if (Array.isArray(node)) for (let i = 0; i < node.length; i++) walk(node[i], depth + 1);
    else for (const key in node) walk((node as Record<string, unknown>)[key], depth + 1);
  };
  walk(value, 0);
  return facts;
}

function parseJson(text: string): ParsedBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, statusCode: 400, error: 'invalid_json', message: 'body is not valid JSON' };
  }
  const facts = inspectJson(value, MAX_JSON_DEPTH);
  if (facts.tooDeep) {
    return {
      ok: false,
      statusCode: 400,
      error: 'json_too_deep',
      message: `JSON nests deeper than ${MAX_JSON_DEPTH}`,
    };
  }
  return { ok: true, value, format: 'json', json: text, outsideInt64: facts.outsideInt64 };
}

/**
 * Decodes a verified body. Form bodies become an object of fields; a form whose only field is `payload` holding
 * JSON (GitHub's form content type, Slack interactivity) yields that JSON.
 */
export function parseBody(
  body: Buffer,
  contentType: string | undefined,
  accepted: readonly BodyFormat[],
): ParsedBody {
  const format = formatOf(contentType);
  if (!format || !accepted.includes(format)) {
    return {
      ok: false,
      statusCode: 415,
      error: 'unsupported_media_type',
      message: `content type "${mediaType(contentType) || '(none)'}" is not accepted; expected ${accepted
        .map((f) => (f === 'json' ? 'application/json' : 'application/x-www-form-urlencoded'))
        .join(' or ')}`,
    };
  }
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { ok: false, statusCode: 400, error: 'invalid_utf8', message: 'body is not valid UTF-8' };
  }
  if (text.charCodeAt(0) === 0xfeff) {
    return {
      ok: false,
      statusCode: 400,
      error: 'byte_order_mark',
      message: 'body starts with a byte order mark',
    };
  }
  if (format === 'json') return parseJson(text);

  const fields: Record<string, string> = Object.create(null);
  for (const [key, value] of new URLSearchParams(text)) fields[key] = value;
  const keys = Object.keys(fields);
  if (keys.length === 1 && keys[0] === 'payload' && /^\s*[[{]/.test(fields.payload ?? '')) {
    const inner = parseJson(fields.payload ?? '');
    return inner.ok ? { ...inner, format: 'form' } : inner;
  }
  return { ok: true, value: { ...fields }, format: 'form' };
}
