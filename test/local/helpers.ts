/** Shared helpers of the local-runtime tests: bounded waits, config fixtures. */
import { type HttpTargetConfig, type HttpTargetInput, TargetSchema } from '../../core/config';

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
  );
}

/** An HTTP target on this machine (http and loopback allowed, as the local stack allows its own agents). */
export function httpTarget(overrides: Partial<HttpTargetInput> & { name: string }): HttpTargetConfig {
  const target = TargetSchema.parse({
    kind: 'http',
    url: 'http://127.0.0.1:9/hook',
    filter: { source: ['webhook.github'] },
    allowInsecure: true,
    allowPrivateNetwork: true,
    ...overrides,
  });
  if (target.kind !== 'http') throw new Error('not an HTTP target');
  return target;
}
