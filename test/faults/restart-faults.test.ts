/**
 * The fault tier, restarts: `npm start --data-dir` stopped cleanly, and killed with SIGKILL mid-burst. Everything
 * acknowledged before is delivered (or recorded as failed) after the restart.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as scenarios from './scenarios';
import type { Outcome } from './support';

const outcomes: Outcome[] = [];
afterAll(() => {
  console.table(outcomes);
});

describe('restarts with --data-dir', () => {
  it('a clean stop with events waiting for a down target: all delivered after the restart', async () => {
    const o = await scenarios.cleanRestart();
    outcomes.push(o);
    expect(o).toMatchObject({ accepted: 30, delivered: 30, lost: 0 });
  });

  it('kill -9 in the middle of a burst: every acknowledged webhook is delivered after the restart', async () => {
    const o = await scenarios.killMidBurst();
    outcomes.push(o);
    expect(o.accepted).toBe(50);
    expect(o.lost).toBe(0);
  });
});
