/** fast-check generators for patterns and events over a small shared vocabulary (so matches are common). */
import fc from 'fast-check';
import type { EventPattern } from '../../../core/pattern';

export const SOURCES = ['webhook.github', 'webhook.stripe', 'webhook.slack', 'Webhook.GitHub'];
export const TYPES = [
  'pull_request.opened',
  'pull_request.closed',
  'push',
  'issues.opened',
  'charge.succeeded',
];
export const ACTIONS = ['opened', 'closed', 'OPENED', 'synchronize', '', '5'];
export const NUMBERS = [0, 1, 5, 5.5, -3, 100, 1e10];
export const IPS = ['10.0.0.1', '10.0.1.7', '192.168.0.9', '2001:db8::1'];

const scalar = fc.oneof(
  fc.constantFrom(...ACTIONS),
  fc.constantFrom(...NUMBERS),
  fc.constant(null),
  fc.boolean(),
);

/** One match value (exact value or operator object) for a string-ish field drawn from `vocab`. */
function matchValue(vocab: readonly string[]): fc.Arbitrary<unknown> {
  const word = fc.constantFrom(...vocab);
  const piece = word.map((w) => w.slice(0, Math.max(1, Math.floor(w.length / 2))) || 'x');
  return fc.oneof(
    { weight: 6, arbitrary: word },
    { weight: 1, arbitrary: scalar },
    { weight: 2, arbitrary: piece.map((p) => ({ prefix: p })) },
    { weight: 1, arbitrary: piece.map((p) => ({ prefix: { 'equals-ignore-case': p.toUpperCase() } })) },
    { weight: 1, arbitrary: word.map((w) => ({ suffix: w.slice(-2) })) },
    { weight: 1, arbitrary: word.map((w) => ({ 'equals-ignore-case': w.toUpperCase() })) },
    {
      weight: 1,
      arbitrary: fc.array(word, { minLength: 1, maxLength: 2 }).map((ws) => ({ 'anything-but': ws })),
    },
    { weight: 1, arbitrary: piece.map((p) => ({ 'anything-but': { prefix: p } })) },
    { weight: 1, arbitrary: piece.map((p) => ({ wildcard: `*${p}*` })) },
    { weight: 1, arbitrary: fc.boolean().map((b) => ({ exists: b })) },
  );
}

const numericValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...NUMBERS.filter((n) => Math.abs(n) < 5e9)),
  fc.constantFrom(0, 5).map((n) => ({ numeric: ['>', n] })),
  fc.constantFrom(1, 5.5).map((n) => ({ numeric: ['>=', -3, '<', n] })),
  fc.constantFrom(100, 5).map((n) => ({ 'anything-but': n })),
  fc.boolean().map((b) => ({ exists: b })),
);

const leaf = (values: fc.Arbitrary<unknown>) => fc.array(values, { minLength: 1, maxLength: 3 });

/** A pattern without $or over source / detail-type / detail.data.* fields. */
export const flatPattern: fc.Arbitrary<EventPattern> = fc
  .record(
    {
      source: leaf(matchValue(SOURCES)),
      'detail-type': leaf(matchValue(TYPES)),
      action: leaf(matchValue(ACTIONS)),
      n: leaf(numericValue),
      ip: leaf(
        fc.oneof(
          fc.constantFrom(...IPS),
          fc.constantFrom({ cidr: '10.0.0.0/24' }, { cidr: '2001:db8::/32' }),
        ),
      ),
      tags: leaf(matchValue(['a', 'b', 'c'])),
    },
    { requiredKeys: [] },
  )
  .filter((r) => Object.keys(r).length > 0)
  .map((r) => {
    const p: EventPattern = {};
    if (r.source) p.source = r.source;
    if (r['detail-type']) p['detail-type'] = r['detail-type'];
    const data: EventPattern = {};
    if (r.action) data.action = r.action;
    if (r.n) data.n = r.n;
    if (r.ip) data.ip = r.ip;
    if (r.tags) data.tags = r.tags;
    if (Object.keys(data).length > 0) p.detail = { data };
    return p;
  });

/** A pattern that may use $or (top level or inside detail). */
export const pattern: fc.Arbitrary<EventPattern> = fc.oneof(
  { weight: 4, arbitrary: flatPattern },
  { weight: 1, arbitrary: fc.array(flatPattern, { minLength: 2, maxLength: 3 }).map((ps) => ({ $or: ps })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...SOURCES), leaf(matchValue(ACTIONS)), leaf(numericValue))
      .map(([s, a, n]) => ({ source: [s], detail: { $or: [{ data: { action: a } }, { data: { n } }] } })),
  },
);

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 4 });

/** An event in our envelope shape, with optional, array-valued and odd-typed fields. */
export const event: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    source: maybe(fc.constantFrom(...SOURCES)),
    type: maybe(fc.constantFrom(...TYPES)),
    action: maybe(
      fc.oneof(scalar, fc.array(fc.constantFrom(...ACTIONS), { maxLength: 3 }), fc.constant({ x: 1 })),
    ),
    n: maybe(fc.oneof(fc.constantFrom(...NUMBERS), fc.constant('5'), fc.array(fc.constantFrom(...NUMBERS)))),
    ip: maybe(fc.constantFrom(...IPS, 'not-an-ip')),
    tags: maybe(fc.array(fc.constantFrom('a', 'b', 'c', 'A'), { maxLength: 3 })),
  })
  .map((r) => {
    const data: Record<string, unknown> = {};
    for (const k of ['action', 'n', 'ip', 'tags'] as const) if (r[k] !== undefined) data[k] = r[k];
    const ev: Record<string, unknown> = {
      version: '0',
      id: 'e1',
      account: '123456789012',
      region: 'us-east-1',
    };
    if (r.source !== undefined) ev.source = r.source;
    if (r.type !== undefined) ev['detail-type'] = r.type;
    ev.detail = { data };
    return ev;
  });
