/**
 * The one way the handlers are bundled — for `cdk deploy` (lib/router-function.ts) and for `npm start`
 * (local/stack.ts) alike, so that what runs locally is what is deployed: ESM with code splitting (a dependency loaded
 * with `import()` becomes a chunk that only a cold start that needs it pays for), minified, with linked source maps.
 *
 * A function's code is its handler's bundle plus `runtime.json`: the slice of the router config the handler needs
 * (sources, its target). It grows with the config, so it travels in the code, not in environment variables (Lambda
 * allows 4 KB of those in all).
 *
 * Output goes to a content-addressed cache (`node_modules/.cache/event-router/`): the same inputs give the same
 * directory, concurrent builds agree, and nothing is left behind in the system's temporary folder.
 * Uses esbuild and node:fs only (no aws-cdk-lib): local/ imports it too.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, BuildResult } from 'esbuild';
import { LAMBDA_HANDLER } from '../core/plan';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(REPO_ROOT, 'node_modules', '.cache', 'event-router');

/** The file a function's runtime config is written to, next to its handler (`index.mjs`). */
export const RUNTIME_FILE = 'runtime.json';
/** The handler setting of every function: `index.mjs`, export `handler`. */
export const HANDLER = LAMBDA_HANDLER;
/**
 * `NODE_OPTIONS` of every deployed function: stack traces through the linked source maps. Exported so that the
 * cold-start bench runs the bundles with exactly the deployed flags.
 */
export const FUNCTION_NODE_OPTIONS = '--enable-source-maps';

/** esbuild options of every handler bundle. */
export function bundleOptions(entry: string): BuildOptions {
  return {
    entryPoints: { index: path.resolve(REPO_ROOT, entry) },
    bundle: true,
    platform: 'node',
    // Lambda runs Node 24; the same code runs on Node 20 locally.
    target: 'node20',
    format: 'esm',
    splitting: true,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
    sourcemap: 'linked',
    sourcesContent: false,
    // The AWS SDK ships in the bundle: the version we test with, tree-shaken.
    mainFields: ['module', 'main'],
    // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __erRequire } from 'node:module'; const require = __erRequire(import.meta.url);",
    },
    logLevel: 'silent',
    write: false,
    outdir: '/',
  };
}

type OutputFiles = NonNullable<BuildResult['outputFiles']>;

/** Writes build outputs into `<CACHE>/<kind>/<hash>` unless that directory already exists. Returns it. */
function storeOutputs(kind: string, outputs: readonly { path: string; contents: Uint8Array }[]): string {
  const hash = createHash('sha256');
  const files = [...outputs].sort((a, b) => a.path.localeCompare(b.path));
  for (const f of files) hash.update(f.path).update('\0').update(f.contents).update('\0');
  const dir = path.join(CACHE, kind, hash.digest('hex').slice(0, 24));
  if (existsSync(dir)) return dir;
  const staging = `${dir}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  mkdirSync(staging, { recursive: true });
  for (const f of files) {
    const target = path.join(staging, f.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, f.contents);
  }
  try {
    renameSync(staging, dir);
  } catch {
    // Another build wrote the same content first.
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

const asOutputs = (files: OutputFiles) =>
  files.map((f) => ({ path: path.relative('/', f.path), contents: f.contents }));

const built = new Map<string, string>();

/** esbuild loaded synchronously (its build API is async-only through `import()`; buildSync needs the module now). */
const esbuildSync = () => createRequire(import.meta.url)('esbuild') as typeof import('esbuild');

/** Bundles a handler (synchronously: CDK constructs build their code in the constructor). Memoised per process. */
export function bundleHandlerSync(entry: string): string {
  const cached = built.get(entry);
  if (cached) return cached;
  const result = esbuildSync().buildSync(bundleOptions(entry));
  const dir = storeOutputs('bundles', asOutputs(result.outputFiles ?? []));
  built.set(entry, dir);
  return dir;
}

/** Bundles a handler without blocking (the local stack starts its services meanwhile). Memoised per process. */
export async function bundleHandler(entry: string): Promise<string> {
  const cached = built.get(entry);
  if (cached) return cached;
  const esbuild = await import('esbuild');
  const result = await esbuild.build(bundleOptions(entry));
  const dir = storeOutputs('bundles', asOutputs(result.outputFiles ?? []));
  built.set(entry, dir);
  return dir;
}

/**
 * A function's code directory: its handler's bundle plus `runtime.json` (when it has a runtime config). Same inputs,
 * same directory — CDK's asset hash, and so the deploy, only change when the code or the config does.
 */
export function functionCode(bundleDir: string, runtime: unknown): string {
  const outputs: { path: string; contents: Uint8Array }[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const rel = path.join(prefix, entry.name);
      if (entry.isDirectory()) walk(path.join(dir, entry.name), rel);
      else outputs.push({ path: rel, contents: readFileSync(path.join(dir, entry.name)) });
    }
  };
  walk(bundleDir, '');
  if (runtime !== undefined)
    outputs.push({ path: RUNTIME_FILE, contents: Buffer.from(JSON.stringify(runtime)) });
  return storeOutputs('functions', outputs);
}
