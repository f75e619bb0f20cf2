import { createHmac } from 'node:crypto';
import { LinearWebhookClient } from '@linear/sdk/webhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { linearAdapter } from '../../../lambdas/ingest/providers/linear';
import { expectEnvelopeReady, expectRejected, NOW_MS, request, sourceFor, verify } from './helpers';

const SECRET = 'lin_wh_3c8a1f0b6d2e4a7c9b1d3f5e7a9c1e3f';
const source = sourceFor('linear');
const sign = (body: string | Buffer, secret = SECRET) =>
  createHmac('sha256', secret).update(body).digest('hex');

const payload = (webhookTimestamp: unknown = NOW_MS) => ({
  action: 'create',
  type: 'Issue',
  createdAt: '2023-11-14T22:13:19.000Z',
  organizationId: 'org-1',
  url: 'https://linear.app/acme/issue/ENG-123/x',
  webhookTimestamp,
  webhookId: 'wh-1',
  data: { id: '2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9', identifier: 'ENG-123', title: 'Bug' },
});
const linearRequest = (body: string, signature = sign(body)) =>
  request(
    {
      'Linear-Signature': signature,
      'Linear-Delivery': 'c8a5c9d3-1f2e-4b6a-9c8d-7e6f5a4b3c2d',
      'Linear-Event': 'Issue',
    },
    body,
  );

/** The SDK's verdict at our fixed clock (it reads Date.now()). */
function sdkAccepts(body: string, signature: string, secret = SECRET): boolean {
  try {
    return new LinearWebhookClient(secret).verify(Buffer.from(body), signature);
  } catch {
    return false;
  }
}

describe('linear verify', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW_MS);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('accepts what the Linear SDK accepts', () => {
    const body = JSON.stringify(payload());
    expect(sdkAccepts(body, sign(body))).toBe(true);
    expect(verify('linear', linearRequest(body), [SECRET])).toEqual({ ok: true });
  });

  it('rejects what the SDK rejects: tampered body, wrong secret, stale and future stamps (±60 s)', () => {
    const body = JSON.stringify(payload());
    const tampered = body.replace('Bug', 'Bag');
    expect(sdkAccepts(tampered, sign(body))).toBe(false);
    expectRejected(verify('linear', linearRequest(tampered, sign(body)), [SECRET]), [SECRET]);
    expect(sdkAccepts(body, sign(body, 'other'))).toBe(false);
    expectRejected(verify('linear', linearRequest(body, sign(body, 'other')), [SECRET]));
    for (const offset of [-60_001, 60_001]) {
      const skewed = JSON.stringify(payload(NOW_MS + offset));
      expect(sdkAccepts(skewed, sign(skewed))).toBe(false);
      expectRejected(verify('linear', linearRequest(skewed), [SECRET]));
    }
    for (const offset of [-60_000, 60_000]) {
      const edge = JSON.stringify(payload(NOW_MS + offset));
      expect(sdkAccepts(edge, sign(edge))).toBe(true);
      expect(verify('linear', linearRequest(edge), [SECRET]).ok).toBe(true);
    }
  });

  it('rejects a signed JSON body whose webhookTimestamp is missing or not an integer', () => {
    for (const stamp of [undefined, null, String(NOW_MS), NOW_MS + 0.5, -1, 1e300]) {
      const body = JSON.stringify({ ...payload(), webhookTimestamp: stamp });
      expectRejected(verify('linear', linearRequest(body), [SECRET]));
    }
    for (const body of ['[]', 'null', '"x"', '42'])
      expectRejected(verify('linear', linearRequest(body), [SECRET]));
  });

  it('passes a correctly signed body that is not JSON, so the caller answers 400', () => {
    for (const body of ['not json', '{"webhookTimestamp":', '\uFEFF{"webhookTimestamp":1}']) {
      expect(verify('linear', linearRequest(body), [SECRET])).toEqual({ ok: true });
    }
    const invalidUtf8 = Buffer.from([0x7b, 0xff, 0x7d]);
    expect(verify('linear', { ...linearRequest(''), body: invalidUtf8 }, [SECRET]).ok).toBe(false);
    expect(
      verify('linear', { ...linearRequest('', sign(invalidUtf8)), body: invalidUtf8 }, [SECRET]).ok,
    ).toBe(true);
    // Unsigned garbage still fails on the signature.
    expectRejected(verify('linear', linearRequest('not json', sign('other')), [SECRET]));
  });

  it('accepts any rotated secret and uses the source tolerance', () => {
    const body = JSON.stringify(payload(NOW_MS - 120_000));
    expectRejected(verify('linear', linearRequest(body), ['old', SECRET]));
    expect(verify('linear', linearRequest(body), ['old', SECRET], { toleranceSeconds: 180 }).ok).toBe(true);
    expect(linearAdapter.defaultToleranceSeconds).toBe(60);
  });

  it('rejects prefixed or joined signatures', () => {
    const body = JSON.stringify(payload());
    expectRejected(verify('linear', linearRequest(body, `sha256=${sign(body)}`), [SECRET]));
    expect(
      expectRejected(verify('linear', linearRequest(body, `${sign(body)}, ${sign(body)}`), [SECRET])),
    ).toMatch(/several/);
  });
});

describe('linear normalise', () => {
  it('types <type>.<action> lower-cased, with delivery id, time and identifier', () => {
    const result = linearAdapter.normalise(linearRequest(''), payload(), source);
    expect(result).toEqual({
      type: 'issue.create',
      deliveryId: 'c8a5c9d3-1f2e-4b6a-9c8d-7e6f5a4b3c2d',
      providerTime: '2023-11-14T22:13:19.000Z',
      subject: 'ENG-123',
    });
    expectEnvelopeReady(result);
  });

  it('falls back to data.id, webhookTimestamp and partial types', () => {
    const body = { type: 'IssueLabel', webhookTimestamp: NOW_MS, data: { id: 'lbl-1' } };
    const result = linearAdapter.normalise(request({}, ''), body, source);
    expect(result).toEqual({
      type: 'issuelabel',
      deliveryId: null,
      providerTime: new Date(NOW_MS).toISOString(),
      subject: 'lbl-1',
    });
    expect(linearAdapter.normalise(request({}, ''), { action: 'remove' }, source).type).toBe(
      'unknown.remove',
    );
    expect(linearAdapter.normalise(request({}, ''), [], source).type).toBe('unknown');
  });
});
