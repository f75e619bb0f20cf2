/**
 * The fault tier: the real local stack under outages, throttling, misbehaving targets and floods. For every
 * scenario: nothing acknowledged is lost (accepted = delivered + recorded as failed), and duplicates are counted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as scenarios from './scenarios';
import type { Outcome } from './support';

const outcomes: Outcome[] = [];
afterAll(() => {
  // The tally, for the log of the run (and the session note).
  console.table(outcomes);
});

const run = async (scenario: () => Promise<Outcome>) => {
  const outcome = await scenario();
  outcomes.push(outcome);
  return outcome;
};

describe('faults in the AWS services', () => {
  it('EventBridge throttling for a while: every accepted event is published afterwards and delivered once', async () => {
    const o = await run(scenarios.eventbridgeThrottled);
    expect(o).toMatchObject({ accepted: 20, delivered: 20, lost: 0, duplicates: 0 });
  });

  it('DynamoDB unavailable: nothing is acknowledged meanwhile; providers retry; nothing accepted is lost', async () => {
    const o = await run(scenarios.dynamodbUnavailable);
    expect(o).toMatchObject({ accepted: 20, lost: 0 });
    expect(o.delivered).toBe(20);
  });

  it('S3 unavailable: large payloads are not acknowledged meanwhile, and their deliveries wait for it', async () => {
    const o = await run(scenarios.s3Unavailable);
    expect(o).toMatchObject({ accepted: 10, delivered: 10, lost: 0 });
  });
});

describe('a flood and duplicates at the door', () => {
  it('50 identical webhooks at once: stored once, delivered once', async () => {
    const o = await run(scenarios.concurrentDuplicates);
    expect(o).toMatchObject({ accepted: 1, delivered: 1, lost: 0, duplicates: 0 });
  });

  it('an unsigned flood without the URL token never starves the real webhooks', async () => {
    const o = await run(scenarios.unsignedFlood);
    expect(o).toMatchObject({ accepted: 20, delivered: 20, lost: 0 });
  });
});
