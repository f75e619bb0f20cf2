/**
 * How an envelope's JSON text is stored: compressed, with a one-byte header naming the format, so that the format
 * can change without rewriting stored items. DynamoDB bills writes per kilobyte; a 21 KB GitHub payload deflates to
 * about 2 KB, and with the preset dictionary to about 1.7 KB — the event item then fits 2 write units instead of 3.
 * The text comes back byte for byte (numbers keep every digit).
 *
 * Formats (every one stays readable; only the newest is written):
 * 1. raw deflate, level 6;
 * 2. raw deflate, level 1, with DICTIONARY_V1 (codec-dictionary.ts) — GitHub and Stripe payload structure — preset:
 *    smaller than format 1 and cheaper to write (level 1 with the dictionary costs less CPU than level 6 without).
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DICTIONARY_V1 } from './codec-dictionary';

const FORMAT_DEFLATE = 1;
const FORMAT_DEFLATE_DICTIONARY_V1 = 2;

const DICTIONARY = Buffer.from(DICTIONARY_V1, 'utf8');

/** Largest text we ever inflate: a stored envelope is at most the DynamoDB item limit before compression × ratio. */
const MAX_INFLATED_BYTES = 8 * 1024 * 1024;

export function encodeEnvelope(json: string): Uint8Array {
  const body = deflateRawSync(Buffer.from(json, 'utf8'), { level: 1, dictionary: DICTIONARY });
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = FORMAT_DEFLATE_DICTIONARY_V1;
  body.copy(out, 1);
  return out;
}

export function decodeEnvelope(stored: Uint8Array): string {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const body = bytes.subarray(1);
  switch (bytes[0]) {
    case FORMAT_DEFLATE_DICTIONARY_V1:
      return inflateRawSync(body, { maxOutputLength: MAX_INFLATED_BYTES, dictionary: DICTIONARY }).toString(
        'utf8',
      );
    case FORMAT_DEFLATE:
      return inflateRawSync(body, { maxOutputLength: MAX_INFLATED_BYTES }).toString('utf8');
    default:
      throw new Error(`stored envelope has unknown format ${bytes[0]}`);
  }
}
