/** The fault tier, targets: down, down for good, slower than the timeout, 410, 429 with Retry-After, 500. */
import { afterAll, describe, expect, it } from 'vitest';
import * as scenarios from './scenarios';
import type { Outcome } from './support';

const outcomes: Outcome[] = [];
afterAll(() => {
  console.table(outcomes);
});

const run = async (scenario: () => Promise<Outcome>) => {
  const outcome = await scenario();
  outcomes.push(outcome);
  return outcome;
};

describe('a misbehaving target', () => {
  it('down for a few seconds: every event is delivered once it is back', async () => {
    expect(await run(scenarios.targetDown)).toMatchObject({
      accepted: 10,
      delivered: 10,
      lost: 0,
      duplicates: 0,
    });
  });

  it('down long enough to open its circuit breaker: the queue pauses, then a probe resumes it; all delivered', async () => {
    expect(await run(scenarios.breakerOpens)).toMatchObject({
      accepted: 20,
      delivered: 20,
      failed: 0,
      lost: 0,
    });
  });

  it('down for good: every event is recorded as failed after its last attempt', async () => {
    expect(await run(scenarios.targetDownForGood)).toMatchObject({ accepted: 10, failed: 10, lost: 0 });
  });

  it('slower than its timeout: delivered, and the duplicates a receiver must drop are counted', async () => {
    const o = await run(scenarios.targetSlow);
    expect(o).toMatchObject({ accepted: 10, delivered: 10, lost: 0 });
    // Every first attempt timed out after the target had taken the event: each event arrived twice.
    expect(o.duplicates).toBe(10);
  });

  it('410 Gone: paused (events wait in the queue), then all delivered after a resume', async () => {
    expect(await run(scenarios.targetGone)).toMatchObject({
      accepted: 10,
      delivered: 10,
      lost: 0,
      duplicates: 0,
    });
  });

  it('429 with Retry-After: delivered after backing off', async () => {
    expect(await run(scenarios.targetThrottling)).toMatchObject({
      accepted: 10,
      delivered: 10,
      lost: 0,
      duplicates: 0,
    });
  });

  it('500 twice per event: delivered on the third attempt', async () => {
    expect(await run(scenarios.targetErrors)).toMatchObject({
      accepted: 10,
      delivered: 10,
      lost: 0,
      duplicates: 0,
    });
  });
});
