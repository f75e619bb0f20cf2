/**
 * The ingest hot path without I/O — precheck, verify, parse, normalise, build the envelope, the DynamoDB item (its
 * compressed envelope) and the PutEvents entry — for a ~26 KB GitHub payload, as a ratio to the floor: HMAC-SHA256
 * plus JSON.parse of the same bytes. Rounds time both back to back (order alternating); the ratio is the median of
 * the per-round ratios (bench/stats.ts).
 */
import { createHmac } from 'node:crypto';
import examples from '@octokit/webhooks-examples';
import { parseRouterConfig } from '../core/config';
import { planTopology, runtimeSources } from '../core/plan';
import { admitWebhook, type IngestRequest, precheck } from '../lambdas/ingest/ingest';
import { eventItem } from '../lambdas/shared/event-store';
import { toBusEntry } from '../lambdas/shared/publish';
import exampleConfig from '../router.config';
import { type PairedRound, pairedSummary } from './stats';
import type { BenchSuite } from './types';

const SECRET = 'bench-secret';

/** The largest pull_request example shipped by @octokit/webhooks-examples (real GitHub payload, ~26 KB). */
function largestPullRequest(): Buffer {
  const payloads = examples
    .filter((e: { name: string }) => e.name === 'pull_request')
    .flatMap((e: { examples: unknown[] }) => e.examples)
    .map((x: unknown) => Buffer.from(JSON.stringify(x)));
  return payloads.sort((a: Buffer, b: Buffer) => b.length - a.length)[0]!;
}

const ROUNDS = 30;
/** Calls per timed batch; a batch stops early past `BATCH_MS`, so a round is bounded in time too. */
const BATCH = 200;
const BATCH_MS = 400;

/** ns per call of one batch of `fn`. */
function nsPerCall(fn: () => void): number {
  const deadline = performance.now() + BATCH_MS;
  const start = process.hrtime.bigint();
  let n = 0;
  while (n < BATCH && (n < 10 || performance.now() < deadline)) {
    fn();
    n++;
  }
  return Number(process.hrtime.bigint() - start) / n;
}

const suite: BenchSuite = {
  name: 'ingest',
  async run() {
    const body = largestPullRequest();
    const parsed = JSON.parse(body.toString('utf8'));
    const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    const sources = new Map(
      runtimeSources(planTopology(parseRouterConfig(exampleConfig)).sources).map((s) => [s.name, s]),
    );
    const request: IngestRequest = {
      method: 'POST',
      sourceName: 'github',
      viaSourceRoute: true,
      url: 'https://example.test/webhooks/github/token',
      query: {},
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'pull_request',
        'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        'x-hub-signature-256': signature,
        'user-agent': 'GitHub-Hookshot/044aadd',
      },
    };
    const now = Date.now();
    const hotPath = () => {
      const checked = precheck(request, sources);
      if (checked.kind !== 'source') throw new Error('precheck rejected the bench request');
      const admission = admitWebhook(request, checked.source, [SECRET], now, 7);
      if (admission.kind !== 'accept')
        throw new Error(`bench request not accepted: ${admission.response.body}`);
      eventItem(admission.event, 0);
      toBusEntry(admission.event, 'bus');
    };
    const floor = () => {
      createHmac('sha256', SECRET).update(body).digest();
      JSON.parse(body.toString('utf8'));
    };
    hotPath();
    if (JSON.stringify(parsed).length !== body.length) throw new Error('payload is not compact JSON');

    for (let i = 0; i < 500; i++) {
      hotPath();
      floor();
    }
    // Paired rounds: both see the same machine state; the order alternates.
    const rounds: PairedRound[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        const f = nsPerCall(floor);
        rounds.push({ floor: f, value: nsPerCall(hotPath) });
      } else {
        const value = nsPerCall(hotPath);
        rounds.push({ value, floor: nsPerCall(floor) });
      }
    }
    const s = pairedSummary(rounds);
    const hot = s.value;
    const us = (ns: number) => Number((ns / 1000).toFixed(1));
    return [
      {
        name: 'ingest.hot_path.us',
        value: us(hot),
        unit: 'µs',
        floor: us(s.floor),
        ratio: Number(s.ratio.toFixed(3)),
        goal: { value: 1.5, better: 'lower' as const },
        note: `verify + parse + normalise + build the item (envelope compressed, format 2) and bus entry, ${body.length} B GitHub pull_request payload; floor = HMAC-SHA256 + JSON.parse; median of ${s.rounds} paired rounds of ${BATCH} (wall time), ratio = median of per-round ratios; goal (issue 5) is the ratio`,
      },
      {
        name: 'ingest.hot_path.per_second',
        value: Math.round(1e9 / hot),
        unit: 'webhooks/s',
        note: 'one core, no I/O',
      },
    ];
  },
};
export default suite;
