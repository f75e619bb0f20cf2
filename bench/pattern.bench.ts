/**
 * Pattern engine: compiled single-pattern match throughput, and one event against 10,000 subscription patterns
 * through PatternIndex (with brute force over the same compiled patterns as the floor, timed in the same rounds:
 * each round times both back to back, order alternating, and the ratio is the median of the per-round ratios).
 */
import {
  allOf,
  compilePattern,
  type EventPattern,
  eventTypePrefix,
  field,
  fromSource,
  PatternIndex,
} from '../core/pattern';
import { type PairedRound, pairedSummary } from './stats';
import type { BenchFigure, BenchSuite } from './types';

const MAX_MS = 1500;

function envelopeEvent(source: string, type: string, data: Record<string, unknown>, subject: string) {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': type,
    source: `webhook.${source}`,
    account: '123456789012',
    time: '2026-01-02T03:04:05Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      id: '01JGXYZ',
      source,
      provider: source,
      type,
      deliveryId: 'd-1',
      providerTime: '2026-01-02T03:04:05Z',
      receivedAt: '2026-01-02T03:04:05.123Z',
      subject,
      headers: { 'user-agent': 'GitHub-Hookshot/abc' },
      data,
    },
  };
}

const prEvent = envelopeEvent(
  'github',
  'pull_request.opened',
  {
    action: 'opened',
    number: 42,
    title: 'Fix flaky test in CI',
    repository: { full_name: 'acme/repo-7' },
    labels: ['bug'],
  },
  'acme/repo-7#42',
);
const chargeEvent = envelopeEvent('stripe', 'charge.succeeded', { amount: 1999, currency: 'usd' }, 'ch_1');

/** Runs `fn` in batches until `MAX_MS` or `maxIterations`; returns operations per second. */
function throughput(fn: () => unknown, maxIterations = 20_000_000): number {
  for (let i = 0; i < 10_000; i++) fn(); // warm up
  const batch = 10_000;
  let done = 0;
  const start = performance.now();
  let elapsed = 0;
  while (done < maxIterations && elapsed < MAX_MS) {
    for (let i = 0; i < batch; i++) fn();
    done += batch;
    elapsed = performance.now() - start;
  }
  return Math.round(done / (elapsed / 1000));
}

const SOURCES = ['github', 'stripe', 'slack', 'linear', 'shopify', 'twilio', 'generic', 'standard-webhooks'];
const TYPES = [
  'pull_request.opened',
  'pull_request.closed',
  'push',
  'issues.opened',
  'charge.succeeded',
  'message',
];

/** Subscription patterns as WebSocket clients write them: mostly source + type (+ a data field), some odd ones. */
function subscriptions(n: number): EventPattern[] {
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)] as T;
  const out: EventPattern[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const source = pick(SOURCES);
    if (r < 0.35) out.push(allOf(fromSource(source), field('subject').prefix(`acme/repo-${i % 500}`)));
    else if (r < 0.6)
      out.push(allOf(fromSource(source), field('data.repository.full_name').equals(`acme/repo-${i % 2000}`)));
    else if (r < 0.75)
      out.push(allOf(fromSource(source), eventTypePrefix(pick(TYPES).split('.')[0] as string)));
    else if (r < 0.85) out.push(allOf(fromSource(source), field('data.action').in(['opened', 'closed'])));
    else if (r < 0.9) out.push(fromSource(source));
    else if (r < 0.95)
      out.push({ $or: [field('data.number').numeric('>', i % 100), field('subject').equals(`x-${i}`)] });
    else out.push(allOf(field('data.title').contains(`flaky-${i}`), field('data.labels').exists()));
  }
  return out;
}

const suite: BenchSuite = {
  name: 'pattern',
  async run(): Promise<BenchFigure[]> {
    const figures: BenchFigure[] = [];

    const simple = compilePattern({ source: ['webhook.github'], 'detail-type': ['pull_request.opened'] });
    let flip = 0;
    const simpleRate = throughput(() => simple.matches(++flip & 1 ? prEvent : chargeEvent));
    figures.push({
      name: 'pattern.simple.matches_per_second',
      value: simpleRate,
      unit: 'matches/s',
      goal: { value: 1_000_000, better: 'higher' },
      note: 'compiled {source, detail-type} exact pattern; events alternate match / no match',
    });

    const typical: [string, EventPattern][] = [
      [
        'prefix_and_field',
        allOf(fromSource('github'), eventTypePrefix('pull_request.'), field('data.action').equals('opened')),
      ],
      ['numeric_range', allOf(fromSource('github'), field('data.number').numeric('>', 10, '<=', 100))],
      [
        'anything_but_and_exists',
        allOf(field('data.action').anythingBut('closed', 'deleted'), field('data.labels').exists()),
      ],
      ['contains_wildcard', field('data.title').contains('flaky')],
      [
        'or_three_branches',
        { $or: [eventTypePrefix('issues.'), field('data.labels').in(['bug']), fromSource('stripe')] },
      ],
    ];
    for (const [name, p] of typical) {
      const compiled = compilePattern(p);
      if (!compiled.matches(prEvent)) throw new Error(`bench pattern ${name} should match the PR event`);
      figures.push({
        name: `pattern.typical.${name}.matches_per_second`,
        value: throughput(() => compiled.matches(prEvent)),
        unit: 'matches/s',
        note: JSON.stringify(p),
      });
    }

    const patterns = subscriptions(10_000);
    const index = new PatternIndex<number>();
    for (const [i, p] of patterns.entries()) index.add(i, p);
    const compiled = patterns.map((p) => compilePattern(p));
    const events = [
      prEvent,
      chargeEvent,
      envelopeEvent('github', 'push', { repository: { full_name: 'acme/repo-12' } }, 'acme/repo-12'),
      envelopeEvent('slack', 'message', { action: 'closed', number: 77 }, 'C123'),
    ];
    for (const ev of events) {
      const viaIndex = index.match(ev);
      const brute = compiled.flatMap((c, i) => (c.matches(ev) ? [i] : []));
      if (JSON.stringify(viaIndex) !== JSON.stringify(brute))
        throw new Error('index disagrees with brute force');
    }
    /** ms per event over `passes` passes through the events (bounded by MAX_MS). */
    const time = (fn: (ev: unknown) => unknown, passes: number) => {
      const start = performance.now();
      let n = 0;
      for (let p = 0; p < passes && (p === 0 || performance.now() - start < MAX_MS); p++)
        for (const ev of events) {
          fn(ev);
          n++;
        }
      return (performance.now() - start) / n;
    };
    const viaIndex = (ev: unknown) => index.match(ev);
    const brute = (ev: unknown) => compiled.filter((c) => c.matches(ev));
    time(viaIndex, 50); // warm up
    time(brute, 10);
    const rounds: PairedRound[] = [];
    const ROUNDS = 20;
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        const floor = time(brute, 5);
        rounds.push({ floor, value: time(viaIndex, 25) });
      } else {
        const value = time(viaIndex, 25);
        rounds.push({ value, floor: time(brute, 5) });
      }
    }
    const s = pairedSummary(rounds);
    figures.push({
      name: 'pattern.index.10k.ms_per_event',
      value: Number(s.value.toFixed(4)),
      unit: 'ms',
      floor: Number(s.floor.toFixed(4)),
      ratio: Number(s.ratio.toFixed(3)),
      goal: { value: 10, better: 'lower' },
      note: `ms to match one event against 10,000 subscription patterns via PatternIndex (median of ${s.rounds} paired rounds, ${events.length} events each); floor = evaluating all 10,000 compiled patterns in the same rounds; goal is the value`,
    });
    const hits = events.map((ev) => index.match(ev).length);
    figures.push({
      name: 'pattern.index.10k.matches_per_event',
      value: Math.round(hits.reduce((a, b) => a + b, 0) / hits.length),
      unit: 'patterns',
      note: 'mean number of the 10,000 patterns matching each benchmark event (so the timing is not of an empty result)',
    });
    return figures;
  },
};

export default suite;
