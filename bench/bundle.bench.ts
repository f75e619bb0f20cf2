/**
 * Size of every Lambda's deployed code (lib/bundling.ts: the same ESM bundles `cdk deploy` uploads) and the ingest
 * function's module-init time in a fresh process, as a ratio to a bare `node -e 0` measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ENV } from '../core/contracts';
import { bundleHandler, functionCode } from '../lib/bundling';
import type { BenchFigure, BenchSuite } from './types';

export const HANDLERS = ['ingest', 'delivery', 'connections', 'broadcast', 'sweeper', 'routes'] as const;

/** Bytes of the JavaScript in a bundle directory (entry + chunks, source maps excluded). */
function codeBytes(dir: string): { entry: number; total: number } {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.mjs')) total += statSync(p).size;
    }
  };
  walk(dir);
  return { entry: statSync(path.join(dir, 'index.mjs')).size, total };
}

const INGEST_RUNTIME = {
  sources: [
    {
      name: 'github',
      eventSource: 'webhook.github',
      config: { name: 'github', provider: 'github', secret: { secretName: 's' } },
    },
  ],
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
    const figures: BenchFigure[] = [];
    let ingestDir = '';
    for (const name of HANDLERS) {
      const dir = await bundleHandler(`lambdas/${name}/handler.ts`);
      if (name === 'ingest') ingestDir = functionCode(dir, INGEST_RUNTIME);
      const { entry, total } = codeBytes(dir);
      figures.push({
        name: `bundle.${name}.kib`,
        value: Number((total / 1024).toFixed(1)),
        unit: 'KiB',
        note: `minified ESM: entry ${(entry / 1024).toFixed(1)} KiB + lazily loaded chunks, source maps excluded`,
      });
    }
    const env = {
      ...process.env,
      [ENV.tableName]: 'events',
      [ENV.busName]: 'bus',
      [ENV.payloadBucket]: 'payloads',
      [ENV.retentionDays]: '30',
      [ENV.dedupeDays]: '7',
      LAMBDA_TASK_ROOT: ingestDir,
      AWS_REGION: 'us-east-1',
    };
    const runs = 15;
    const bare = medianMs(['-e', '0'], env, runs);
    const entry = pathToFileURL(path.join(ingestDir, 'index.mjs')).href;
    const init = medianMs(['--input-type=module', '-e', `await import(${JSON.stringify(entry)})`], env, runs);
    figures.push({
      name: 'ingest.module_init.ms',
      value: init,
      unit: 'ms',
      floor: bare,
      note: `fresh process importing the deployed ingest bundle vs bare node -e 0 (median of ${runs})`,
    });
    return figures;
  },
};
export default suite;
