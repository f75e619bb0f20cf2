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

/** Deepest nesting of `[`/`{` in JSON text, stopping early once past `limit`. Strings are skipped. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return false;
}

function parseJson(text: string): ParsedBody {
  // A shallow document cannot exceed the limit: skip the scan for it (the hot path's common case).
  let opens = 0;
  for (let i = text.indexOf('{'); i !== -1 && opens <= MAX_JSON_DEPTH; i = text.indexOf('{', i + 1)) opens++;
  for (let i = text.indexOf('['); i !== -1 && opens <= MAX_JSON_DEPTH; i = text.indexOf('[', i + 1)) opens++;
  if (opens > MAX_JSON_DEPTH && jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    return {
      ok: false,
      statusCode: 400,
      error: 'json_too_deep',
      message: `JSON nests deeper than ${MAX_JSON_DEPTH}`,
    };
  }
  try {
    return { ok: true, value: JSON.parse(text), format: 'json', json: text };
  } catch {
    return { ok: false, statusCode: 400, error: 'invalid_json', message: 'body is not valid JSON' };
  }
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
