/** Algebraic properties of the matcher, checked with fast-check. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePattern, matchesPattern } from '../../../core/pattern';
import { escapeWildcard } from '../../../core/pattern/wildcard';
import { event as eventArb, flatPattern } from './arbitraries';

const scalar = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -100, max: 100 }),
  fc.boolean(),
  fc.constant(null),
);
const word = fc.constantFrom('a', 'b', 'ab', 'ba', 'A', '');

describe('matcher properties', () => {
  it('anything-but is the complement of the same exact match on a present leaf', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.string({ maxLength: 3 }), { minLength: 1, maxLength: 3 }),
          fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 3 }),
        ),
        fc.oneof(
          fc.string({ maxLength: 3 }),
          fc.integer({ min: -5, max: 5 }),
          fc.boolean(),
          fc.constant(null),
        ),
        (values, v) => {
          const exact = matchesPattern({ f: values }, { f: v });
          const but = matchesPattern({ f: [{ 'anything-but': values }] }, { f: v });
          expect(but).toBe(!exact);
        },
      ),
    );
  });

  it('anything-but prefix is the complement of prefix on string leaves, and matches non-strings', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 2 }),
        fc.oneof(fc.string({ maxLength: 4 }), scalar),
        (p, v) => {
          const yes = matchesPattern({ f: [{ prefix: p }] }, { f: v });
          const but = matchesPattern({ f: [{ 'anything-but': { prefix: p } }] }, { f: v });
          expect(but).toBe(typeof v !== 'string' || !yes);
        },
      ),
    );
  });

  it('$or equals the union of its branches', () => {
    fc.assert(
      fc.property(fc.array(flatPattern, { minLength: 2, maxLength: 4 }), eventArb, (branches, ev) => {
        const union = branches.some((b) => matchesPattern(b, ev));
        expect(matchesPattern({ $or: branches }, ev)).toBe(union);
      }),
      { numRuns: 300 },
    );
  });

  it('a list of values is the union of one-value lists', () => {
    fc.assert(
      fc.property(
        fc.array(scalar, { minLength: 1, maxLength: 4 }),
        fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })),
        (values, v) => {
          const whole = matchesPattern({ f: values }, { f: v });
          expect(whole).toBe(values.some((x) => matchesPattern({ f: [x] }, { f: v })));
        },
      ),
    );
  });

  it('an array in the event matches when one of its elements would', () => {
    fc.assert(
      fc.property(flatPattern, fc.array(scalar, { maxLength: 4 }), (p, values) => {
        const leafOnly = { f: (p.source ?? ['x']) as unknown[] };
        const asArray = matchesPattern(leafOnly, { f: values });
        const anyElement = values.some((v) => matchesPattern(leafOnly, { f: v }));
        const hasExistsFalse = leafOnly.f.some(
          (x) => typeof x === 'object' && x !== null && 'exists' in x && x.exists === false,
        );
        if (values.length > 0) expect(asArray).toBe(anyElement);
        else expect(asArray).toBe(hasExistsFalse);
      }),
    );
  });

  it('exists:true and exists:false are complements', () => {
    fc.assert(
      fc.property(
        fc.option(fc.oneof(scalar, fc.array(scalar, { maxLength: 2 }), fc.constant({ x: 1 })), {
          nil: undefined,
        }),
        (v) => {
          const ev = v === undefined ? {} : { f: v };
          expect(matchesPattern({ f: [{ exists: true }] }, ev)).toBe(
            !matchesPattern({ f: [{ exists: false }] }, ev),
          );
        },
      ),
    );
  });

  it('numeric ranges agree with plain comparisons for comparable numbers', () => {
    const n = fc.integer({ min: -1_000_000, max: 1_000_000 }).map((i) => i / 1000);
    fc.assert(
      fc.property(n, n, n, fc.boolean(), fc.boolean(), (a, b, v, incLow, incHigh) => {
        fc.pre(a < b);
        const p = { f: [{ numeric: [incLow ? '>=' : '>', a, incHigh ? '<=' : '<', b] }] };
        const expected = (incLow ? v >= a : v > a) && (incHigh ? v <= b : v < b);
        expect(matchesPattern(p, { f: v })).toBe(expected);
        expect(matchesPattern(p, { f: String(v) })).toBe(false);
      }),
    );
  });

  it('prefix, suffix and ignore-case variants agree with string operations', () => {
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join('')),
        fc.array(word, { maxLength: 4 }).map((w) => w.join('')),
        (p, v) => {
          expect(matchesPattern({ f: [{ prefix: p }] }, { f: v })).toBe(v.startsWith(p));
          expect(matchesPattern({ f: [{ suffix: p }] }, { f: v })).toBe(v.endsWith(p));
          expect(matchesPattern({ f: [{ prefix: { 'equals-ignore-case': p } }] }, { f: v })).toBe(
            v.toLowerCase().startsWith(p.toLowerCase()),
          );
          expect(matchesPattern({ f: [{ 'equals-ignore-case': p }] }, { f: v })).toBe(
            v.toLowerCase() === p.toLowerCase(),
          );
        },
      ),
    );
  });

  it('a wildcard of escaped text matches exactly that text, and *text* means includes', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 5 }), fc.string({ maxLength: 8 }), (t, v) => {
        expect(matchesPattern({ f: [{ wildcard: escapeWildcard(t) }] }, { f: v })).toBe(v === t);
        const contains = matchesPattern(
          { f: [{ wildcard: t === '' ? '*' : `*${escapeWildcard(t)}*` }] },
          { f: v },
        );
        expect(contains).toBe(v.includes(t));
      }),
    );
  });

  it('compiling once and matching many equals matching one-off', () => {
    fc.assert(
      fc.property(flatPattern, fc.array(eventArb, { maxLength: 5 }), (p, events) => {
        const compiled = compilePattern(p);
        for (const ev of events) expect(compiled.matches(ev)).toBe(matchesPattern(structuredClone(p), ev));
      }),
    );
  });
});
