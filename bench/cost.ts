/**
 * `npm run cost`: dollars per million webhooks for the reference workload (bench/cost-model.ts), from the three
 * functions measured as deployed and a local run for their log bytes, priced with the dated table in
 * bench/prices.ts. Prints the table and the price sources; writes nothing (`npm run bench -- cost` records the
 * figures in bench/results.json).
 *
 * `npm run cost -- --per-month 100000000 --agents 10` changes the workload.
 */
import { parseArgs } from 'node:util';
import { measureCost } from './cost-measure';
import { costModel, costTable, leverTable, REFERENCE_WORKLOAD, serviceTable } from './cost-model';
import { PEERS, PRICES } from './prices';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const { values } = parseArgs({
  options: {
    'per-month': { type: 'string' },
    agents: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: npm run cost [-- --per-month <webhooks> --agents <n>]\n\nPrints dollars per million webhooks for the reference workload (README, Cost), measured and priced.\n',
  );
  process.exit(0);
}
const perMonth = values['per-month'] ? Number(values['per-month']) : REFERENCE_WORKLOAD.webhooksPerMonth;
const agents = values.agents ? Number(values.agents) : REFERENCE_WORKLOAD.agents;
if (!(perMonth > 0) || !(agents >= 0)) throw new Error('--per-month must be > 0 and --agents >= 0');

const { measured, note } = await measureCost({
  rounds: 5,
  batch: 100,
  warmup: 300,
  webhooks: 40,
  connections: agents,
});
const workload = {
  ...REFERENCE_WORKLOAD,
  webhooksPerMonth: perMonth,
  agents,
  name: `${(perMonth / 1e6).toLocaleString('en')} M webhooks a month (${(perMonth / 2_592_000).toFixed(1)}/s), one HTTP target, ${agents === 0 ? 'no WebSocket agent' : `${agents} WebSocket agents`}`,
};
const model = costModel(measured, workload);
process.stdout.write(
  `${costTable(model)}\n\nBy service (CloudWatch metrics with its logs):\n\n${serviceTable(model)}\n\n`,
);
process.stdout.write(
  'Levers the code does not pull, priced on the same measurements:\n\n| lever | all-in $ / million | saves |\n| --- | --- | --- |\n',
);
for (const l of leverTable(measured, workload))
  process.stdout.write(`| ${l.lever} | ${l.total.toFixed(2)} | ${l.saves.toFixed(2)} |\n`);
process.stdout.write('\nBy volume (all-in / without data transfer out, $ per million):\n');
for (const perMonthVolume of [1e6, 1e7, 1e8]) {
  const m = costModel(measured, { ...workload, webhooksPerMonth: perMonthVolume });
  process.stdout.write(
    `- ${perMonthVolume / 1e6} M a month: ${m.total.toFixed(2)} / ${m.withoutDto.toFixed(2)}\n`,
  );
}
process.stdout.write('\n');
process.stdout.write(`Measured: ${note}.\n`);
process.stdout.write(
  `Peers: Hookdeck $${PEERS.hookdeck.perMillion}/M list ($${PEERS.hookdeck.atVolume}/M at volume), Svix $${PEERS.svix.perMillion}/M.\n\nPrices (us-east-1):\n`,
);
for (const [name, p] of Object.entries(PRICES)) {
  process.stdout.write(
    `- ${name}: ${Number(p.value.toPrecision(6))} ${p.unit}${'rule' in p ? ` — ${p.rule}` : ''} — ${p.source}${'dated' in p ? ` (dated ${p.dated})` : ''}, looked up ${p.lookedUp}\n`,
  );
}
