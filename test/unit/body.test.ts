import { describe, expect, it } from 'vitest';
import { inspectJson, parseBody } from '../../lambdas/ingest/body';

describe('inspectJson', () => {
  it('finds nesting deeper than the limit, and only then', () => {
    expect(inspectJson(JSON.parse(`${'['.repeat(64)}${']'.repeat(64)}`), 64).tooDeep).toBe(false);
    expect(inspectJson(JSON.parse(`${'['.repeat(65)}${']'.repeat(65)}`), 64).tooDeep).toBe(true);
    expect(inspectJson(JSON.parse(`${'{"a":'.repeat(65)}1${'}'.repeat(65)}`), 64).tooDeep).toBe(true);
  });

  it('flags integers EventBridge refuses (outside the signed 64-bit range), not big ones inside it', () => {
    expect(inspectJson(JSON.parse('{"a":[1,9007199254740993,-9223372036854775000]}'), 64).outsideInt64).toBe(
      false,
    );
    expect(inspectJson(JSON.parse('{"a":{"b":[123456789012345678901234567890]}}'), 64).outsideInt64).toBe(
      true,
    );
    expect(inspectJson(JSON.parse('{"a":-1e30}'), 64).outsideInt64).toBe(true);
    expect(inspectJson(JSON.parse('{"a":1.5e3,"b":"123456789012345678901234567890"}'), 64).outsideInt64).toBe(
      false,
    );
  });
});

describe('parseBody', () => {
  it('keeps the JSON text for splicing and reports a payload that must travel by pointer', () => {
    const parsed = parseBody(Buffer.from('{"n":123456789012345678901234567890}'), 'application/json', [
      'json',
    ]);
    expect(parsed).toMatchObject({
      ok: true,
      json: '{"n":123456789012345678901234567890}',
      outsideInt64: true,
    });
  });

  it('reads a form whose only field is a JSON payload (GitHub form content type)', () => {
    const body = Buffer.from(`payload=${encodeURIComponent('{"action":"opened"}')}`);
    expect(parseBody(body, 'application/x-www-form-urlencoded', ['json', 'form'])).toMatchObject({
      ok: true,
      value: { action: 'opened' },
      format: 'form',
    });
  });
});
