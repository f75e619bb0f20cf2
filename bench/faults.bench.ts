/**
 * The fault scenarios of test/faults on the real local stack, as figures: for each, how many accepted webhooks
 * were lost (must be 0) and how many deliveries a receiver saw twice (at-least-once; it dedupes on webhook-id).
 */
import * as scenarios from '../test/faults/scenarios';
import type { Outcome } from '../test/faults/support';
import type { BenchFigure, BenchSuite } from './types';

const RUNS: readonly (() => Promise<Outcome>)[] = [
  scenarios.eventbridgeThrottled,
  scenarios.dynamodbUnavailable,
  scenarios.s3Unavailable,
  scenarios.targetDown,
  scenarios.breakerOpens,
  scenarios.targetDownForGood,
  scenarios.targetSlow,
  scenarios.targetGone,
  scenarios.targetThrottling,
  scenarios.targetErrors,
  scenarios.concurrentDuplicates,
  scenarios.unsignedFlood,
  scenarios.cleanRestart,
  scenarios.killMidBurst,
];

const suite: BenchSuite = {
  name: 'faults',
  async run() {
    const figures: BenchFigure[] = [];
    for (const scenario of RUNS) {
      const o = await scenario();
      const counts = `accepted ${o.accepted}, delivered ${o.delivered}, recorded as failed ${o.failed}`;
      figures.push(
        {
          name: `faults.${o.scenario}.lost`,
          value: o.lost,
          unit: 'events',
          goal: { value: 0, better: 'lower' },
          note: counts,
        },
        {
          name: `faults.${o.scenario}.duplicates`,
          value: o.duplicates,
          unit: 'deliveries',
          note: 'extra deliveries of an event the receiver had already taken (same webhook-id)',
        },
      );
    }
    return figures;
  },
};
export default suite;
