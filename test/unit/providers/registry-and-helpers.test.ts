import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PROVIDERS } from '../../../core/contracts';
import { ADAPTERS, getAdapter } from '../../../lambdas/ingest/providers';
import { bytesEqual, decodeBase64, decodeHex } from '../../../lambdas/ingest/providers/hmac';
import {
  checkWindow,
  isoFromEpoch,
  isoFromHttpDate,
  isoFromIsoString,
  parseIntegerTimestamp,
} from '../../../lambdas/ingest/providers/timestamp';
import { deliveryId, eventType, header, prop } from '../../../lambdas/ingest/providers/util';
import { request } from './helpers';

const SIGNATURE_HEADERS = [
  'x-hub-signature-256',
  'x-hub-signature',
  'stripe-signature',
  'x-slack-signature',
  'linear-signature',
  'webhook-signature',
  'svix-signature',
  'x-shopify-hmac-sha256',
  'x-twilio-signature',
  'authorization',
  'cookie',
];

describe('registry', () => {
  it('has one adapter per provider, named after it', () => {
    for (const provider of PROVIDERS) {
      const adapter = getAdapter(provider);
      expect(adapter.provider).toBe(provider);
      expect(adapter.bodyFormats.length).toBeGreaterThan(0);
      expect(adapter.defaultToleranceSeconds).toBeGreaterThan(0);
    }
    expect(Object.keys(ADAPTERS).sort()).toEqual([...PROVIDERS].sort());
    expect(() => getAdapter('nope' as never)).toThrow(/no adapter/);
    expect(() => getAdapter('__proto__' as never)).toThrow(/no adapter/);
  });

  it('never keeps signature or credential headers, and lists lower-case names', () => {
    for (const adapter of Object.values(ADAPTERS)) {
      for (const name of adapter.keptHeaders) {
        expect(name).toBe(name.toLowerCase());
        expect(SIGNATURE_HEADERS).not.toContain(name);
      }
    }
  });

  it('uses 60 s for Linear and 300 s elsewhere', () => {
    expect(getAdapter('linear').defaultToleranceSeconds).toBe(60);
    for (const p of PROVIDERS.filter((p) => p !== 'linear'))
      expect(getAdapter(p).defaultToleranceSeconds).toBe(300);
  });
});

describe('hmac helpers', () => {
  it('decodes hex only at the exact length', () => {
    const hex = 'ab'.repeat(32);
    expect(decodeHex(hex, 32)?.length).toBe(32);
    expect(decodeHex(hex.toUpperCase(), 32)?.equals(Buffer.from(hex, 'hex'))).toBe(true);
    expect(decodeHex(hex.slice(1), 32)).toBeNull();
    expect(decodeHex(`${hex.slice(0, 62)}zz`, 32)).toBeNull(); // Buffer.from would silently yield 31 bytes
    expect(decodeHex(`${hex}00`, 32)).toBeNull();
    expect(decodeHex(` ${hex.slice(1)}`, 32)).toBeNull();
  });

  it('decodes base64 only when canonical and of the exact length', () => {
    const bytes = Buffer.alloc(32, 7);
    const b64 = bytes.toString('base64');
    expect(decodeBase64(b64, 32)?.equals(bytes)).toBe(true);
    expect(decodeBase64(b64.replace(/=$/, ''), 32)).toBeNull();
    expect(decodeBase64(b64.replace('B', '-'), 32)).toBeNull();
    expect(decodeBase64(`${b64.slice(0, 42)}x=`, 32)).toBeNull(); // non-zero padding bits
    expect(decodeBase64(Buffer.alloc(20).toString('base64'), 32)).toBeNull();
  });

  it('compares without throwing on length mismatch', () => {
    expect(bytesEqual(Buffer.from('ab'), Buffer.from('abc'))).toBe(false);
    expect(bytesEqual(Buffer.alloc(0), Buffer.alloc(0))).toBe(false);
    expect(bytesEqual(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
  });
});

describe('timestamp helpers', () => {
  it('parses unsigned decimal integers only', () => {
    expect(parseIntegerTimestamp('1700000000')).toBe(1_700_000_000);
    expect(parseIntegerTimestamp('0')).toBe(0);
    for (const bad of [
      undefined,
      '',
      ' 1',
      '1 ',
      '+1',
      '-1',
      '1.0',
      '1e3',
      '0x10',
      'Infinity',
      '١٢٣',
      '9'.repeat(16),
    ]) {
      expect(parseIntegerTimestamp(bad)).toBeNull();
    }
  });

  it('checks a symmetric window, inclusive at the edges', () => {
    const now = 1_000_000_000;
    expect(checkWindow(now - 300_000, now, 300).ok).toBe(true);
    expect(checkWindow(now + 300_000, now, 300).ok).toBe(true);
    expect(checkWindow(now - 300_001, now, 300)).toEqual({ ok: false, reason: 'timestamp is too old' });
    expect(checkWindow(now + 300_001, now, 300)).toEqual({ ok: false, reason: 'timestamp is in the future' });
    expect(checkWindow(Number.NaN, now, 300).ok).toBe(false);
  });

  it('produces envelope-valid ISO strings or null', () => {
    const datetime = z.string().datetime();
    for (const iso of [
      isoFromEpoch(1_700_000_000, 's'),
      isoFromEpoch(1_700_000_000_000, 'ms'),
      isoFromIsoString('2023-03-29T18:00:27.877041743Z'),
      isoFromIsoString('2023-03-29T20:00:27+02:00'),
      isoFromHttpDate('Tue, 14 Jan 2020 21:04:04 +0000'),
    ]) {
      expect(iso !== null && datetime.safeParse(iso).success).toBe(true);
    }
    expect(isoFromIsoString('2023-03-29T20:00:27+02:00')).toBe('2023-03-29T18:00:27.000Z');
    for (const bad of [
      isoFromEpoch(1_700_000_000_000, 's'),
      isoFromEpoch(Number.NaN, 's'),
      isoFromEpoch(8.64e15 + 1, 'ms'),
      isoFromIsoString('1'),
      isoFromIsoString('2023-02-30T00:00:00Z'.replace('30', '3x')),
      isoFromIsoString(1_700_000_000),
      isoFromHttpDate('yesterday'),
    ]) {
      expect(bad).toBeNull();
    }
  });
});

describe('util helpers', () => {
  it('reads only own string headers', () => {
    const req = request({ 'X-Test': 'v' }, '');
    expect(header(req, 'x-test')).toBe('v');
    expect(header(req, 'X-TEST')).toBe('v');
    expect(header(req, 'constructor')).toBeUndefined();
    expect(header(req, 'toString')).toBeUndefined();
    expect(header({ ...req, headers: { a: 1 } as never }, 'a')).toBeUndefined();
  });

  it('reads only own properties of plain objects', () => {
    const parsed = JSON.parse('{"__proto__":{"type":"x"}}');
    expect(prop(parsed, 'type')).toBeUndefined();
    expect(prop({}, 'constructor')).toBeUndefined();
    expect(prop(['a'], '0')).toBeUndefined();
    expect(prop(null, 'type')).toBeUndefined();
  });

  it('bounds types and delivery ids', () => {
    expect(eventType('x'.repeat(200)).length).toBe(128);
    expect(eventType('  ')).toBe('unknown');
    expect(deliveryId('a'.repeat(300))).toMatch(/^id-sha256:[0-9a-f]{64}$/);
    expect(deliveryId('a'.repeat(300))).not.toBe(deliveryId('a'.repeat(301)));
    expect(deliveryId(' ')).toBeNull();
  });
});
