/**
 * A target's rate limit under a backlog, on the local stack: the deliveries per second the target observes,
 * against the configured limit (the floor, same run). Goal: within ±10 % of the limit. Two limits, each measured
 * over the steady part of the run (the first and last second left out), with 5 concurrent delivery functions.
 */
import type { RouterConfigInput } from '../core/config';
import { startLocalStack } from '../local/stack';
import { githubWebhook, sendLikeAProvider, sendMany, sleep, startReceiver } from '../test/faults/support';
import type { BenchFigure, BenchSuite } from './types';

const LIMITS = [10, 25] as const;
/** Seconds of backlog per limit: long enough for a steady middle, bounded in time. */
const SECONDS = 8;

async function measure(limit: number): Promise<{ observed: number; delivered: number; sent: number }> {
  const arrivals: number[] = [];
  const receiver = await startReceiver(() => {
    arrivals.push(Date.now());
    return { status: 200 };
  });
  const config: RouterConfigInput = {
    sources: [
      {
        name: 'github',
        provider: 'github',
        secret: { secretName: 'bench/github' },
        rateLimitPerSecond: 500,
        burstLimit: 1000,
      },
    ],
    targets: [
      {
        name: 'limited',
        kind: 'http',
        url: receiver.url,
        allowInsecure: true,
        allowPrivateNetwork: true,
        filter: { source: ['webhook.github'] },
        rateLimitPerSecond: limit,
        concurrency: 5,
        batchSize: 10,
      },
    ],
    liveStream: { enabled: false },
  };
  const stack = await startLocalStack({
    config,
    sweepIntervalSeconds: null,
    pollWaitSeconds: 1,
    functionLogs: false,
    log: () => {},
    concurrency: { ingest: 2 },
  });
  try {
    // Pause the target while the backlog builds, so that it is all there when delivery starts.
    const mapping = stack.lambdaApi.mappings()[0]!;
    mapping.setEnabled(false);
    const sent = limit * SECONDS;
    const secret = stack.secrets.source('github');
    const results = await sendMany(sent, 10, () =>
      sendLikeAProvider(stack.webhookUrl('github'), githubWebhook(secret, {}), { attempts: 3 }),
    );
    await stack.drain();
    mapping.setEnabled(true);
    const deadline = Date.now() + (SECONDS + 20) * 1000;
    while (arrivals.length < results.length && Date.now() < deadline) await sleep(200);
    const first = arrivals[0]!;
    const last = arrivals.at(-1)!;
    // The steady part, in whole clock seconds: the limit holds per clock second (a fixed window, one counter per
    // second in the event store), so a window that is not a whole number of those seconds counts one second's
    // burst too many or too few (an 8.3 s window may hold 9 bursts: 10.8/s for a limit of 10). One second in from
    // each end.
    const from = Math.ceil(first / 1000) * 1000 + 1000;
    const to = Math.floor(last / 1000) * 1000 - 1000;
    const inWindow = arrivals.filter((t) => t >= from && t < to).length;
    return {
      observed: Number((inWindow / ((to - from) / 1000)).toFixed(2)),
      delivered: arrivals.length,
      sent,
    };
  } finally {
    await stack.stop();
    await receiver.stop();
  }
}

const suite: BenchSuite = {
  name: 'rate-limit',
  async run() {
    const figures: BenchFigure[] = [];
    for (const limit of LIMITS) {
      const { observed, delivered, sent } = await measure(limit);
      figures.push({
        name: `rate_limit.${limit}_per_second.observed`,
        value: observed,
        unit: 'deliveries/s',
        floor: limit,
        goal: { value: 1.1, better: 'lower' },
        note: `backlog of ${sent}, ${delivered} delivered, 5 concurrent delivery functions; goal: ratio within 0.9-1.1`,
      });
    }
    return figures;
  },
};
export default suite;
