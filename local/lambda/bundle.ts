/**
 * Handlers bundled once per stack start with lib/bundling.ts — the bundler `cdk deploy` uses — so each execution
 * environment loads the same ESM code as the deployed function instead of running the TypeScript loader (tsx) in
 * every worker thread. Measured on the 2-core dev box: a worker loading a handler through tsx costs ~2–3 s of CPU,
 * a bundled one ~0.3 s, which matters most when the pool grows under load.
 *
 * A handler that does not build (syntax error, missing import; test fixtures elsewhere in the tree) is left to the
 * tsx path, so its environment reports the init error the way it always did.
 */
import { bundleHandler } from '../../lib/bundling';

export interface HandlerBundles {
  /** The bundle directory of a handler path (its `index.mjs`), undefined when it did not build. */
  get(handlerPath: string): string | undefined;
}

export async function bundleHandlers(handlerPaths: readonly string[]): Promise<HandlerBundles> {
  const out = new Map<string, string>();
  await Promise.all(
    [...new Set(handlerPaths)].map(async (handlerPath) => {
      try {
        out.set(handlerPath, await bundleHandler(handlerPath));
      } catch {
        // Left to tsx: the environment reports the init error itself.
      }
    }),
  );
  return { get: (handlerPath) => out.get(handlerPath) };
}
