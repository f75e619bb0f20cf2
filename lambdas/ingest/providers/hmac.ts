/**
 * HMAC helpers shared by the provider adapters. Pure (node:crypto only).
 *
 * Signatures are compared as decoded bytes with `crypto.timingSafeEqual`, after their format has been validated:
 * `Buffer.from('abzz', 'hex')` silently yields one byte and `timingSafeEqual` throws on a length mismatch, so a
 * candidate that is not exactly the digest length in a canonical encoding never reaches the comparison.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type SignatureEncoding = 'hex' | 'base64';

/** Digest length in bytes per algorithm. */
export const DIGEST_BYTES: Readonly<Record<HmacAlgorithm, number>> = { sha1: 20, sha256: 32, sha512: 64 };

const HEX_RE = /^[0-9a-fA-F]*$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes hex of exactly `bytes` bytes (either letter case); null for anything else. */
export function decodeHex(text: string, bytes: number): Buffer | null {
  if (text.length !== bytes * 2 || !HEX_RE.test(text)) return null;
  return Buffer.from(text, 'hex');
}

/** Decodes canonical, padded standard base64 of exactly `bytes` bytes; null for anything else. */
export function decodeBase64(text: string, bytes: number): Buffer | null {
  if (text.length !== Math.ceil(bytes / 3) * 4 || !BASE64_RE.test(text)) return null;
  const decoded = Buffer.from(text, 'base64');
  // Re-encoding rejects non-zero padding bits and misplaced `=`: only the canonical spelling round-trips.
  if (decoded.length !== bytes || decoded.toString('base64') !== text) return null;
  return decoded;
}

export function decodeSignature(text: string, encoding: SignatureEncoding, bytes: number): Buffer | null {
  return encoding === 'hex' ? decodeHex(text, bytes) : decodeBase64(text, bytes);
}

/** HMAC of the concatenated parts (strings as UTF-8, buffers as their bytes). */
export function hmac(
  algorithm: HmacAlgorithm,
  key: string | Buffer,
  parts: readonly (string | Buffer)[],
): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Constant-time equality of two byte strings; false (never a throw) when the lengths differ. */
export function bytesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/** Secrets that can sign: empty strings are a misconfiguration that would let anyone sign, so they never count. */
export function usableSecrets(secrets: readonly unknown[]): string[] {
  return secrets.filter((s): s is string => typeof s === 'string' && s.length > 0);
}

/**
 * True when one of the candidate signatures equals the HMAC computed with one of the keys. Every pair is compared
 * (no early exit on the secret loop) so that the time taken does not depend on which secret matched.
 */
export function anyKeyMatches(
  keys: readonly (string | Buffer)[],
  compute: (key: string | Buffer) => Buffer,
  candidates: readonly Buffer[],
): boolean {
  let matched = false;
  for (const key of keys) {
    const expected = compute(key);
    for (const candidate of candidates) {
      if (bytesEqual(expected, candidate)) matched = true;
    }
  }
  return matched;
}
