/**
 * Bundle size of every Lambda (esbuild with the options the CDK wrapper uses) and the ingest function's
 * module-init time in a fresh process, as a ratio to a bare `node -e 0` measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { ENV } from '../core/contracts';
import type { BenchFigure, BenchSuite } from './types';

export const HANDLERS = ['ingest', 'delivery', 'connections', 'broadcast', 'sweeper'] as const;

/** esbuild options matching lib/router-function.ts (minify, source maps, node22, CJS). */
async function bundle(name: string, outdir: string): Promise<string> {
  const outfile = path.join(outdir, `${name}.cjs`);
  await build({
    entryPoints: [`lambdas/${name}/handler.ts`],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

const INGEST_ENV = {
  [ENV.tableName]: 'events',
  [ENV.busName]: 'bus',
  [ENV.payloadBucket]: 'payloads',
  [ENV.retentionDays]: '30',
  [ENV.sources]: JSON.stringify([
    {
      name: 'github',
      eventSource: 'webhook.github',
      config: { name: 'github', provider: 'github', secret: { secretName: 's' } },
    },
  ]),
  AWS_REGION: 'us-east-1',
};

function medianMs(args: string[], env: NodeJS.ProcessEnv, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const out = spawnSync(process.execPath, args, { env, stdio: 'pipe' });
    if (out.status !== 0) throw new Error(`${args.join(' ')} failed: ${out.stderr}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return Number(times[Math.floor(times.length / 2)]!.toFixed(1));
}

const suite: BenchSuite = {
  name: 'bundles',
  async run() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'er-bundles-'));
    try {
      const figures: BenchFigure[] = [];
      let ingestFile = '';
      for (const name of HANDLERS) {
        const file = await bundle(name, dir);
        if (name === 'ingest') ingestFile = file;
        figures.push({
          name: `bundle.${name}.kib`,
          value: Number((statSync(file).size / 1024).toFixed(1)),
          unit: 'KiB',
          note: 'minified CJS bundle without its source map',
        });
      }
      const env = { ...process.env, ...INGEST_ENV };
      const runs = 15;
      const bare = medianMs(['-e', '0'], env, runs);
      const init = medianMs(['-e', `require(${JSON.stringify(ingestFile)})`], env, runs);
      figures.push({
        name: 'ingest.module_init.ms',
        value: init,
        unit: 'ms',
        floor: bare,
        note: `fresh process loading the ingest bundle vs bare node -e 0 (median of ${runs})`,
      });
      return figures;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
export default suite;
