/**
 * Defensive accessors for headers and untrusted parsed bodies. Pure; nothing here throws on any input.
 * Bodies may be any JSON (arrays, null, strings, objects with `__proto__` keys): only own properties are read.
 */
import { createHash } from 'node:crypto';
import type { Normalised, Verification, WebhookRequest } from './types';

/** A header value by name (looked up lower-cased, own properties only); undefined when absent or not a string. */
export function header(request: WebhookRequest, name: string): string | undefined {
  const headers: unknown = request?.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const key = name.toLowerCase();
  if (!Object.hasOwn(headers, key)) return undefined;
  const value = (headers as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
}

/** A header value that is present and not blank, trimmed. */
export function headerText(request: WebhookRequest, name: string): string | undefined {
  const value = header(request, name)?.trim();
  return value ? value : undefined;
}

/** The raw body as a Buffer, whatever the caller passed (defensive: verify must never throw). */
export function bodyBytes(request: WebhookRequest): Buffer {
  const body: unknown = request?.body;
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.alloc(0);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own property of a plain object; undefined for arrays, primitives, null and inherited names. */
export function prop(value: unknown, key: string): unknown {
  return isRecord(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

/** Own property path, e.g. `path(body, 'data', 'object', 'id')`. */
export function path(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) current = prop(current, key);
  return current;
}

/** A non-blank string, trimmed; undefined otherwise. */
export function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed ? trimmed : undefined;
}

/** An identifier as a string: non-blank strings as given, safe integers in decimal (ids stay strings). */
export function idText(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return text(value);
}

/** First defined result. */
export function firstOf<T>(...values: (T | undefined)[]): T | undefined {
  for (const value of values) if (value !== undefined) return value;
  return undefined;
}

/** EventBridge `DetailType` allows at most 128 characters; the envelope type becomes it. */
export const MAX_TYPE_LENGTH = 128;

/** A usable event type: trimmed, at most 128 characters, `fallback` when blank. */
export function eventType(value: string | undefined, fallback = 'unknown'): string {
  const trimmed = value?.trim();
  if (!trimmed) return fallback;
  return trimmed.length > MAX_TYPE_LENGTH ? trimmed.slice(0, MAX_TYPE_LENGTH) : trimmed;
}

/** Delivery ids longer than this are replaced by a digest so that the dedupe key stays a sane DynamoDB key. */
export const MAX_DELIVERY_ID_LENGTH = 256;

export function deliveryId(value: string | undefined): string | null {
  const trimmed = value?.trim();
  if (!trimmed) return null;
  if (trimmed.length <= MAX_DELIVERY_ID_LENGTH) return trimmed;
  return `id-sha256:${createHash('sha256').update(trimmed).digest('hex')}`;
}

/** Subjects are labels, not keys: trimmed and capped. */
export const MAX_SUBJECT_LENGTH = 512;

export function subject(value: string | undefined): string | null {
  const trimmed = value?.trim();
  if (!trimmed) return null;
  return trimmed.length > MAX_SUBJECT_LENGTH ? trimmed.slice(0, MAX_SUBJECT_LENGTH) : trimmed;
}

export const OK: Verification = { ok: true };
export const fail = (reason: string): Verification => ({ ok: false, reason });

/**
 * Runs a verifier and turns any unexpected exception into a rejection, so that `verify` keeps its never-throws
 * contract even on inputs nobody thought of. The reason never includes the error message (it could echo input).
 */
export function guardVerify(run: () => Verification): Verification {
  try {
    return run();
  } catch {
    return fail('signature could not be checked');
  }
}

/** Runs a normaliser; on an unexpected exception the event is still stored, typed `fallbackType`. */
export function guardNormalise(fallbackType: string, run: () => Normalised): Normalised {
  try {
    return run();
  } catch {
    return { type: fallbackType, deliveryId: null, providerTime: null, subject: null };
  }
}
