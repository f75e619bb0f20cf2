import { describe, expect, it } from 'vitest';
import { parseSecretValue } from '../../lambdas/shared/secrets';
import {
  signingKey,
  signStandardWebhook,
  standardWebhookHeaders,
} from '../../lambdas/shared/standard-webhooks';

describe('parseSecretValue', () => {
  it('reads one secret, or every secret of a JSON array (rotation)', () => {
    expect(parseSecretValue('s3cret\n')).toEqual(['s3cret']);
    expect(parseSecretValue('["new","old"]')).toEqual(['new', 'old']);
  });
  it('uses a value that only looks like an array as it is', () => {
    expect(parseSecretValue('[not json')).toEqual(['[not json']);
    expect(parseSecretValue('[1,2]')).toEqual(['[1,2]']);
  });
  it('rejects an empty secret', () => {
    expect(() => parseSecretValue('  ')).toThrow(/empty/);
  });
});

describe('Standard Webhooks signing', () => {
  // Test vector of the Standard Webhooks reference libraries.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  it('reproduces the spec library vector', () => {
    expect(
      signStandardWebhook(
        signingKey(secret),
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
  it('signs with every active key during rotation, space-separated', () => {
    const headers = standardWebhookHeaders(
      [signingKey(secret), signingKey(secret.replace('M', 'N'))],
      'id',
      1,
      '{}',
    );
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(headers['webhook-id']).toBe('id');
    expect(headers['webhook-timestamp']).toBe('1');
  });
  it('refuses a key shorter than 16 bytes', () => {
    expect(() => signingKey('whsec_c2hvcnQ=')).toThrow(/fewer than 16 bytes/);
  });
});
