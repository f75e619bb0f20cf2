/**
 * The cost model's figures (bench/cost-model.ts, `npm run cost` prints its table): dollars per million webhooks for
 * the reference workload, all-in and without data transfer out, against Hookdeck's list price (the floor of the
 * comparison: a ratio ≤ 1 is at or below it), plus the measured quantities the model rests on.
 */

import { measureCost } from './cost-measure';
import { costModel, REFERENCE_WORKLOAD } from './cost-model';
import { PEERS } from './prices';
import { round } from './stats';
import type { BenchFigure, BenchSuite } from './types';

const suite: BenchSuite = {
  name: 'cost',
  async run() {
    const { measured, note } = await measureCost({
      rounds: 5,
      batch: 100,
      warmup: 300,
      webhooks: 40,
      connections: 0,
    });
    const model = costModel(measured, REFERENCE_WORKLOAD);
    const perAgent = costModel(measured, { ...REFERENCE_WORKLOAD, agents: 1 }).total - model.total;
    const largest = [...model.lines]
      .sort((a, b) => b.perMillion - a.perMillion)
      .slice(0, 5)
      .map((l) => `${l.service} ${l.item} $${round(l.perMillion, 2)}`)
      .join(', ');
    const figures: BenchFigure[] = [
      {
        name: 'cost.reference.all_in_per_million',
        value: round(model.total, 2),
        unit: 'USD',
        floor: PEERS.hookdeck.perMillion,
        ratio: round(model.total / PEERS.hookdeck.perMillion, 2),
        goal: { value: 10, better: 'lower' },
        note: `${REFERENCE_WORKLOAD.name}: flow, held data and fixed costs per million webhooks (npm run cost prints every line); floor = Hookdeck's list price per million events (Svix $${PEERS.svix.perMillion}); largest: ${largest}`,
      },
      {
        name: 'cost.reference.without_dto_per_million',
        value: round(model.withoutDto, 2),
        unit: 'USD',
        floor: round(model.floor, 2),
        goal: { value: 5, better: 'lower' },
        note: 'the same without data transfer out (the POST to the target and the answer); floor = what any design on these services pays per webhook (one HTTP API request, one bus event, one queue send + receive + delete, two invocations)',
      },
      {
        name: 'cost.reference.write_units_per_webhook',
        value: model.writeUnits,
        unit: 'WRU',
        note: `DynamoDB write units of ingest and delivery, from the measured request bodies; the event item is ${model.eventItemBytes} B`,
      },
      {
        name: 'cost.reference.log_bytes_per_webhook',
        value: Math.round(model.logBytesPerWebhook),
        unit: 'bytes',
        note: `CloudWatch Logs bytes per webhook: the functions' lines (${measured.logSource}), Lambda's START/END/REPORT, the HTTP API's access log; ${note}`,
      },
      {
        name: 'cost.per_agent_per_million',
        value: round(perAgent, 2),
        unit: 'USD',
        note: 'what each connected WebSocket agent adds: a message per event and its transfer out',
      },
    ];
    return figures;
  },
};
export default suite;
