import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePattern, type EventPattern, PatternError, PatternIndex } from '../../../core/pattern';
import { event as eventArb, pattern as patternArb } from './arbitraries';

function bruteForce(patterns: readonly [number, EventPattern][], event: unknown): number[] {
  return patterns.filter(([, p]) => compilePattern(p).matches(event)).map(([k]) => k);
}

describe('PatternIndex', () => {
  it('adds, matches in insertion order, replaces and removes', () => {
    const index = new PatternIndex<string>();
    index.add('b', { source: ['webhook.github'] });
    index.add('a', { 'detail-type': [{ prefix: 'pull_request.' }] });
    index.add('c', { detail: { data: { n: [{ numeric: ['>', 1] }] } } });
    expect(index.size).toBe(3);
    const ev = { source: 'webhook.github', 'detail-type': 'pull_request.opened', detail: { data: { n: 2 } } };
    expect(index.match(ev)).toEqual(['b', 'a', 'c']);
    index.add('b', { source: ['webhook.stripe'] });
    expect(index.size).toBe(3);
    expect(index.match(ev)).toEqual(['a', 'c']);
    index.remove('a');
    index.remove('missing');
    expect(index.size).toBe(2);
    expect(index.match(ev)).toEqual(['c']);
    index.remove('c');
    index.remove('b');
    expect(index.size).toBe(0);
    expect(index.match(ev)).toEqual([]);
  });

  it('keeps the old pattern when the replacement is invalid', () => {
    const index = new PatternIndex<number>();
    index.add(1, { source: ['x'] });
    expect(() => index.add(1, { source: [] })).toThrow(PatternError);
    expect(index.match({ source: 'x' })).toEqual([1]);
  });

  it('reports a key once even when several $or branches match', () => {
    const index = new PatternIndex<string>();
    index.add('k', { $or: [{ source: ['x'] }, { 'detail-type': ['y'] }, { id: [{ exists: true }] }] });
    expect(index.match({ source: 'x', 'detail-type': 'y', id: '1' })).toEqual(['k']);
  });

  it('finds anchored values inside event arrays and matches number vs string keys exactly', () => {
    const index = new PatternIndex<string>();
    index.add('num', { detail: { items: { n: [5] } } });
    index.add('str', { detail: { items: { n: ['5'] } } });
    index.add('pre', { detail: { items: { s: [{ prefix: 'ab' }] } } });
    expect(index.match({ detail: { items: [{ n: 1 }, [{ n: 5 }]] } })).toEqual(['num']);
    expect(index.match({ detail: { items: [{ n: '5', s: 'abc' }] } })).toEqual(['str', 'pre']);
    expect(index.match({ detail: { items: { s: 'a' } } })).toEqual([]);
  });

  it('object keys work (rule targets)', () => {
    const index = new PatternIndex<{ name: string }>();
    const rule = { name: 'r' };
    index.add(rule, { source: ['s'] });
    expect(index.match({ source: 's' })[0]).toBe(rule);
  });

  it('equals brute force over random patterns and events', () => {
    fc.assert(
      fc.property(
        fc.array(patternArb, { minLength: 1, maxLength: 40 }),
        fc.array(eventArb, { minLength: 1, maxLength: 10 }),
        (patterns, events) => {
          const keyed = patterns.map((p, i) => [i, p] as [number, EventPattern]);
          const index = new PatternIndex<number>();
          for (const [k, p] of keyed) index.add(k, p);
          for (const ev of events) expect(index.match(ev)).toEqual(bruteForce(keyed, ev));
          // Remove every other pattern and check again.
          for (const [k] of keyed) if (k % 2 === 0) index.remove(k);
          const rest = keyed.filter(([k]) => k % 2 === 1);
          expect(index.size).toBe(rest.length);
          for (const ev of events) expect(index.match(ev)).toEqual(bruteForce(rest, ev));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('at 10,000 patterns only the candidates the index finds are evaluated', () => {
    const index = new PatternIndex<number>();
    for (let i = 0; i < 10_000; i++)
      index.add(i, { source: ['webhook.github'], detail: { subject: [`repo-${i}`] } });
    const hits = index.match({ source: 'webhook.github', detail: { subject: 'repo-777' } });
    expect(hits).toEqual([777]);
    // Filed under the least crowded exact field (subject), so one pattern of 10,000 is evaluated.
    expect(index.lastEvaluatedCount).toBe(1);
    expect(index.match({ source: 'webhook.github', detail: { subject: 'nobody' } })).toEqual([]);
    expect(index.lastEvaluatedCount).toBe(0);
  });
});
