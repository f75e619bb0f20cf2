import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from '../../lambdas/shared/codec';
import { DICTIONARY_V1 } from '../../lambdas/shared/codec-dictionary';
import { githubExample } from '../../local/sample-webhook';

const envelope = (data: string) =>
  `{"id":"01JDZ8N7F8ZP9Q6Y7X5W4V3T2S","source":"github","provider":"github","type":"pull_request.opened","deliveryId":"d","providerTime":null,"receivedAt":"2026-12-01T15:00:00.000Z","subject":"o/r","headers":{},"data":${data}}`;

describe('stored envelope codec', () => {
  it('gives back the exact text, digits and characters included', () => {
    for (const data of [
      JSON.stringify(githubExample('pull_request', 'opened')),
      '{"big":9007199254740993,"f":1.0e3,"s":"é😀\\u0000","a":[1, 2 ,3]}',
      '{}',
    ]) {
      expect(decodeEnvelope(encodeEnvelope(envelope(data)))).toBe(envelope(data));
    }
  });

  it('writes format 2 (deflate with the preset dictionary), smaller than format 1 for a GitHub payload', () => {
    const text = envelope(JSON.stringify(githubExample('pull_request', 'opened')));
    const stored = encodeEnvelope(text);
    expect(stored[0]).toBe(2);
    expect(stored.length).toBeLessThan(deflateRawSync(Buffer.from(text), { level: 6 }).length);
  });

  it('still reads format 1 (raw deflate, no dictionary), which items stored before format 2 hold', () => {
    const text = envelope('{"n":1}');
    const body = deflateRawSync(Buffer.from(text), { level: 6 });
    expect(decodeEnvelope(Buffer.concat([Buffer.from([1]), body]))).toBe(text);
  });

  it('refuses a format it does not know', () => {
    expect(() => decodeEnvelope(Buffer.from([9, 1, 2]))).toThrow(/unknown format 9/);
  });

  it('keeps the dictionary byte for byte: stored envelopes inflate only with these exact bytes', () => {
    // A different dictionary is a new format (codec.ts), never an edit of this one.
    expect(createHash('sha256').update(DICTIONARY_V1).digest('hex')).toBe(
      'a31f2729dcc1555ed351ede45443f31ccf93099ce7e962b19c1314b8b1314349',
    );
  });
});
