/**
 * Handlers bundled once per stack start with esbuild (as the CDK wrapper deploys them: one self-contained file per
 * function), so each execution environment loads plain JavaScript instead of running the TypeScript loader (tsx)
 * in every worker thread. Measured on the 2-core dev box: a worker loading a handler through tsx costs ~2–3 s of
 * CPU (its own loader-hooks thread included), a bundled one ~0.3 s — which matters most when the pool grows under
 * load and environments start while traffic is flowing.
 *
 * A handler that does not build (syntax error, missing import) is left to the tsx path, so its environment reports
 * the init error the way it always did.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface HandlerBundles {
  /** The bundle of a handler path, undefined when it did not build (load it through tsx then). */
  get(handlerPath: string): string | undefined;
  /** Deletes the bundles (after the functions are closed). */
  remove(): void;
}

/**
 * Bundles each handler module to `<tmp>/event-router-local-XXXX/<i>-<name>.mjs` (ESM, node20, linked source
 * maps), one directory per call (stacks never share or overwrite each other's bundles).
 */
export async function bundleHandlers(handlerPaths: readonly string[]): Promise<HandlerBundles> {
  const out = new Map<string, string>();
  const dir = mkdtempSync(path.join(tmpdir(), 'event-router-local-'));
  const bundles: HandlerBundles = {
    get: (handlerPath) => out.get(handlerPath),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return bundles;
  }
  await Promise.all(
    [...new Set(handlerPaths)].map(async (handlerPath, i) => {
      const outfile = path.join(dir, `${i}-${path.basename(handlerPath).replace(/\.[cm]?[jt]s$/, '')}.mjs`);
      try {
        await esbuild.build({
          entryPoints: [handlerPath],
          outfile,
          bundle: true,
          platform: 'node',
          target: 'node20',
          format: 'esm',
          sourcemap: 'linked',
          logLevel: 'silent',
          // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
          banner: {
            js: "import { createRequire as __localCreateRequire } from 'node:module'; const require = __localCreateRequire(import.meta.url);",
          },
        });
        out.set(handlerPath, outfile);
      } catch {
        // Left to tsx: the environment reports the init error itself.
      }
    }),
  );
  return bundles;
}
