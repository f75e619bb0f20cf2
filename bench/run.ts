/**
 * `npm run bench`: runs every suite in bench/*.bench.ts (or those named on the command line) and writes
 * bench/results.json with one entry per figure, measured in this run. `--help` prints the suites and writes nothing.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchFigure, BenchSuite } from './types';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
const suiteOf = (file: string) => file.slice(0, -'.bench.ts'.length);

if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    [
      'usage: npm run bench [-- <suite>...]',
      '',
      'Runs the benchmark suites (all of them, or those whose file name starts with a given word) and writes',
      'bench/results.json: one figure per line of the report {name, value, unit, floor, ratio, goal, note}, the floor',
      'measured in the same run. Figures of suites not run are kept from the previous results.',
      '',
      `suites: ${available.map(suiteOf).join(', ')}`,
      '',
      'Environment: BENCH_E2E_SECONDS, BENCH_E2E_CONCURRENCY, BENCH_E2E_RATE, BENCH_E2E_LATENCY_SECONDS,',
      'BENCH_E2E_CLIENTS, BENCH_E2E_INGEST_ENVS, BENCH_E2E_TARGET_ENVS (e2e); BENCH_ROUNDS (cold-start and cpu rounds). `npm run cost` prints the cost model.',
      '',
    ].join('\n'),
  );
  process.exit(0);
}
const unknownFlag = args.find((a) => a.startsWith('-'));
if (unknownFlag) {
  process.stderr.write(`unknown option ${unknownFlag} (see npm run bench -- --help)\n`);
  process.exit(2);
}
const files = available.filter((f) => args.length === 0 || args.some((w) => f.startsWith(w)));
const unmatched = args.filter((w) => !available.some((f) => f.startsWith(w)));
if (unmatched.length > 0) {
  process.stderr.write(
    `no suite named ${unmatched.join(', ')}; suites: ${available.map(suiteOf).join(', ')}\n`,
  );
  process.exit(2);
}

type Recorded = BenchFigure & { suite: string; measuredAt: string; loadAverage: number };
const resultsPath = path.join(here, 'results.json');
const previous: Recorded[] = existsSync(resultsPath)
  ? JSON.parse(readFileSync(resultsPath, 'utf8')).figures
  : [];
const ran = new Set<string>();
const figures: Recorded[] = [];
for (const file of files) {
  const suite = (await import(pathToFileURL(path.join(here, file)).href)).default as BenchSuite;
  ran.add(suite.name);
  process.stdout.write(`▶ ${suite.name}\n`);
  const measuredAt = new Date().toISOString();
  // The machine may be shared: its 1-minute load average when the suite started, next to each of its figures.
  const loadAverage = Number(os.loadavg()[0]!.toFixed(2));
  for (const measured of await suite.run()) {
    const figure: Recorded = { ...measured, suite: suite.name, measuredAt, loadAverage };
    if (figure.floor !== undefined && figure.ratio === undefined && figure.floor !== 0) {
      figure.ratio = Number((figure.value / figure.floor).toFixed(3));
    }
    figures.push(figure);
    const extra =
      figure.ratio !== undefined ? `  (floor ${figure.floor} ${figure.unit}, ratio ${figure.ratio})` : '';
    process.stdout.write(`  ${figure.name}: ${figure.value} ${figure.unit}${extra}\n`);
  }
}

// Running a subset (`npm run bench -- pattern`) keeps the other suites' last figures.
const kept = previous.filter((f) => !ran.has(f.suite));
const results = {
  generatedAt: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version },
  figures: [...kept, ...figures].sort((a, b) => a.suite.localeCompare(b.suite)),
};
writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`wrote bench/results.json (${figures.length} figures)\n`);
