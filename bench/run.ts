/**
 * `npm run bench`: runs every suite in bench/*.bench.ts (or those named on the command line) and writes
 * bench/results.json with one entry per figure, measured in this run.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchFigure, BenchSuite } from './types';

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

type Recorded = BenchFigure & { suite: string; measuredAt: string };
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
  for (const measured of await suite.run()) {
    const figure: Recorded = { ...measured, suite: suite.name, measuredAt };
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
