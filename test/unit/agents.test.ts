import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowanceAsPattern, formatAgentKey, outsideAllowance, parseAgentKey } from '../../core/agents';
import { matchesPattern } from '../../core/pattern';

const PRS = { 'detail-type': [{ prefix: 'pull_request.' }] };
const GITHUB = { source: ['webhook.github'] };

describe('agent key format', () => {
  it('round-trips and rejects anything else', () => {
    const secret = 'A'.repeat(43);
    expect(parseAgentKey(formatAgentKey('0123456789abcdef', secret))).toEqual({
      keyId: '0123456789abcdef',
      secret,
    });
    for (const bad of [
      '',
      'erk_',
      `erk_0123456789ABCDEF_${secret}`,
      `erk_0123456789abcdef_${secret}x`,
      secret,
    ])
      expect(parseAgentKey(bad)).toBeUndefined();
  });
});

describe('outsideAllowance', () => {
  it('accepts the allowance itself, and narrower patterns', () => {
    expect(outsideAllowance(PRS, [PRS])).toBeUndefined();
    expect(outsideAllowance({ 'detail-type': ['pull_request.opened'] }, [PRS])).toBeUndefined();
    expect(outsideAllowance({ 'detail-type': [{ prefix: 'pull_request.o' }] }, [PRS])).toBeUndefined();
    expect(outsideAllowance({ ...PRS, ...GITHUB }, [PRS])).toBeUndefined();
    expect(outsideAllowance({ ...GITHUB, detail: { subject: ['o/r'] } }, [GITHUB])).toBeUndefined();
    expect(
      outsideAllowance({ $or: [PRS, { 'detail-type': ['issues.opened'] }] }, [
        PRS,
        { 'detail-type': [{ prefix: 'issues.' }] },
      ]),
    ).toBeUndefined();
  });

  it('refuses wider patterns, naming the field', () => {
    expect(outsideAllowance(GITHUB, [PRS])).toMatch(/detail-type \(the key requires/);
    expect(outsideAllowance({ 'detail-type': [{ prefix: 'pull' }] }, [PRS])).toMatch(/detail-type: /);
    expect(outsideAllowance({ 'detail-type': [{ 'anything-but': 'x' }] }, [PRS])).toMatch(/anything-but/);
    // One alternative outside is enough.
    expect(outsideAllowance({ $or: [PRS, GITHUB] }, [PRS])).toMatch(/outside this key's allowance/);
  });

  it('is sound: an event a pattern within the allowance matches is matched by the allowance', () => {
    const types = ['pull_request.opened', 'pull_request.closed', 'issues.opened', 'push'];
    const sources = ['webhook.github', 'webhook.stripe'];
    const matcher = fc.oneof(
      fc.constantFrom(...types).map((t) => t as unknown),
      fc.constantFrom('pull_request.', 'pull', 'issues.', '').map((p) => ({ prefix: p }) as unknown),
    );
    const pattern = fc.record(
      {
        'detail-type': fc.array(matcher, { minLength: 1, maxLength: 3 }),
        source: fc.array(fc.constantFrom(...sources), { minLength: 1, maxLength: 2 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(pattern, fc.array(pattern, { minLength: 1, maxLength: 2 }), (wanted, allowance) => {
        if (Object.keys(wanted).length === 0 || allowance.some((a) => Object.keys(a).length === 0)) return;
        if (outsideAllowance(wanted, allowance) !== undefined) return;
        const allowed = allowanceAsPattern(allowance);
        for (const t of types)
          for (const s of sources) {
            const event = { 'detail-type': t, source: s, detail: {} };
            if (matchesPattern(wanted, event)) expect(matchesPattern(allowed, event)).toBe(true);
          }
      }),
      { numRuns: 300 },
    );
  });
});
