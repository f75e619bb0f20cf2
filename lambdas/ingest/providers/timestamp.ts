/** Strict timestamp parsing and the symmetric freshness window. Pure. */

/** At most 15 digits: every value stays a safe integer in seconds or milliseconds. */
const INTEGER_RE = /^[0-9]{1,15}$/;

/**
 * Parses an unsigned decimal integer exactly as written: no sign, no spaces, no decimals, no exponent, no hex.
 * Returns null for anything else (`Number('')` is 0 and `parseInt('12abc')` is 12, so neither is used alone).
 */
export function parseIntegerTimestamp(text: string | undefined): number | null {
  if (text === undefined || !INTEGER_RE.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

export type WindowCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Symmetric window: the timestamp may be at most `toleranceSeconds` before or after `nowMs`. A future stamp is
 * rejected like a stale one (a sender's clock that far ahead is as suspicious as a replay).
 */
export function checkWindow(timestampMs: number, nowMs: number, toleranceSeconds: number): WindowCheck {
  if (!Number.isFinite(timestampMs) || !Number.isFinite(nowMs))
    return { ok: false, reason: 'invalid timestamp' };
  const tolerance = Number.isFinite(toleranceSeconds) && toleranceSeconds >= 0 ? toleranceSeconds : 0;
  const delta = nowMs - timestampMs;
  if (delta > tolerance * 1000) return { ok: false, reason: 'timestamp is too old' };
  if (-delta > tolerance * 1000) return { ok: false, reason: 'timestamp is in the future' };
  return { ok: true };
}

/** Converts a finite epoch value to ISO-8601, or null when it is not a representable date. */
export function isoFromEpoch(value: number, unit: 's' | 'ms'): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  return isoFromMs(unit === 's' ? value * 1000 : value);
}

/** RFC 3339 (and the envelope's `datetime`) has four-digit years; `toISOString` writes `+275760-…` beyond them. */
function isoFromMs(ms: number): string | null {
  const date = new Date(ms);
  if (!Number.isFinite(date.getTime())) return null;
  const year = date.getUTCFullYear();
  return year >= 0 && year <= 9999 ? date.toISOString() : null;
}

/** ISO-8601 date-time with a zone (`Z` or an offset); the only string shape accepted as a provider time. */
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/** Normalises an ISO-8601 string to `toISOString()` form (UTC, milliseconds); null when it is not one. */
export function isoFromIsoString(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 40 || !ISO_RE.test(value)) return null;
  return isoFromMs(Date.parse(value));
}

/** RFC 2822 date as Twilio sends it (`Tue, 14 Jan 2020 21:04:04 +0000`) or ISO; null otherwise. */
const RFC2822_RE =
  /^(?:[A-Za-z]{3}, )?\d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}(?::\d{2})? (?:[+-]\d{4}|GMT|UT|UTC|Z)$/;
export function isoFromHttpDate(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 40) return null;
  if (RFC2822_RE.test(value)) return isoFromMs(Date.parse(value));
  return isoFromIsoString(value);
}
