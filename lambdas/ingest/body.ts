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

/**
 * Whether a parsed JSON value nests deeper than `limit`. Walking the parsed value costs a few µs where scanning the
 * text costs tens; V8's JSON.parse is iterative, so parsing first is safe (and only signed bodies get here).
 */
export function depthExceeds(value: unknown, limit: number, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= limit) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (depthExceeds(value[i], limit, depth + 1)) return true;
    return false;
  }
  for (const key in value) {
    if (depthExceeds((value as Record<string, unknown>)[key], limit, depth + 1)) return true;
  }
  return false;
}

function parseJson(text: string): ParsedBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, statusCode: 400, error: 'invalid_json', message: 'body is not valid JSON' };
  }
  if (depthExceeds(value, MAX_JSON_DEPTH)) {
    return {
      ok: false,
      statusCode: 400,
      error: 'json_too_deep',
      message: `JSON nests deeper than ${MAX_JSON_DEPTH}`,
    };
  }
  return { ok: true, value, format: 'json', json: text };
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
