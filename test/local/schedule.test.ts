import { describe, expect, it } from 'vitest';
import { LocalSchedule } from '../../local/services/schedule';

function fakeFunction(outcomes: ('ok' | 'fail')[], durationMs = 0) {
  const calls: number[] = [];
  return {
    calls,
    invoke: async () => {
      calls.push(Date.now());
      if (durationMs) await new Promise((r) => setTimeout(r, durationMs));
      if ((outcomes.shift() ?? 'ok') === 'fail') throw new Error('sweep failed');
      return 'done';
    },
  };
}

describe('LocalSchedule (an EventBridge schedule invoking a function asynchronously)', () => {
  it('never retries a failed run when the plan says 0 retries: the next tick covers it', async () => {
    const fn = fakeFunction(['fail', 'ok']);
    const errors: string[] = [];
    const schedule = new LocalSchedule({
      function: fn,
      event: {},
      retryAttempts: 0,
      asyncRetryAttempts: 0,
      maxEventAgeSeconds: 60,
      onError: (e) => errors.push(e.message),
    });
    await schedule.tick();
    expect(fn.calls).toHaveLength(1);
    expect(errors).toEqual(['sweep failed']);
    await schedule.tick();
    expect(fn.calls).toHaveLength(2);
  });

  it('retries a failed run as often as Lambda would when asked to', async () => {
    const fn = fakeFunction(['fail', 'fail', 'ok']);
    const schedule = new LocalSchedule({
      function: fn,
      event: {},
      retryAttempts: 0,
      asyncRetryAttempts: 2,
      maxEventAgeSeconds: 60,
    });
    await schedule.tick();
    expect(fn.calls).toHaveLength(3);
  });

  it('queues ticks behind a running invoke and drops those that waited past the maximum event age', async () => {
    let clock = 0;
    const fn = {
      calls: 0,
      invoke: async () => {
        fn.calls++;
        clock += 90_000; // each run takes 90 s of schedule time
      },
    };
    const schedule = new LocalSchedule({
      function: fn,
      event: {},
      retryAttempts: 0,
      asyncRetryAttempts: 0,
      maxEventAgeSeconds: 60,
      now: () => clock,
    });
    const first = schedule.tick();
    const second = schedule.tick(); // queued at 0, starts at 90 s: too old
    await Promise.all([first, second]);
    expect(fn.calls).toBe(1);
    expect(schedule.dropped).toBe(1);
    expect(schedule.describe()).toEqual({ retryAttempts: 0, asyncRetryAttempts: 0, maxEventAgeSeconds: 60 });
  });
});
