/**
 * How an envelope's JSON text is stored: compressed, with a one-byte header naming the format, so that the format
 * can change without rewriting stored items. DynamoDB bills writes per kilobyte; a 21 KB GitHub payload deflates to
 * about 2 KB. The text comes back byte for byte (numbers keep every digit).
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';

const FORMAT_DEFLATE = 1;

/** Largest text we ever inflate: a stored envelope is at most the DynamoDB item limit before compression × ratio. */
const MAX_INFLATED_BYTES = 8 * 1024 * 1024;

export function encodeEnvelope(json: string): Uint8Array {
  const body = deflateRawSync(Buffer.from(json, 'utf8'), { level: 6 });
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = FORMAT_DEFLATE;
  body.copy(out, 1);
  return out;
}

export function decodeEnvelope(stored: Uint8Array): string {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (bytes[0] !== FORMAT_DEFLATE) throw new Error(`stored envelope has unknown format ${bytes[0]}`);
  return inflateRawSync(bytes.subarray(1), { maxOutputLength: MAX_INFLATED_BYTES }).toString('utf8');
}
