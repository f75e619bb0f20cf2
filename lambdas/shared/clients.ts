/**
 * Every AWS SDK client of the handlers gets a bounded request: a call that hangs must fail in time for the function
 * to answer (ingest) or to finish its batch without timing out (delivery, sweeper) — a timed-out batch would be
 * received again whole, and records already delivered would be sent twice.
 */
export const timeouts = {
  /** Ingest: providers wait seconds (Slack 3 s); a slow dependency becomes a clean 503 the sender retries. */
  request: { maxAttempts: 2, requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 } },
  /** S3 on the request path moves up to a few MB. */
  requestLarge: { maxAttempts: 2, requestHandler: { connectionTimeout: 1_000, requestTimeout: 4_000 } },
  /** Background functions (delivery, sweeper, broadcast): a little more patience, still bounded. */
  background: { maxAttempts: 3, requestHandler: { connectionTimeout: 2_000, requestTimeout: 3_000 } },
} as const;

/**
 * A client config whose resolved middleware is cached per command class (`cacheMiddleware`): the SDK then skips
 * building each command's middleware stack on every call, a tenth of a small call's CPU. Only for low-level clients
 * called without per-call options; lib-dynamodb refuses it (its commands carry state the cache would reuse).
 */
export const cachedMiddleware = <T extends object>(config: T) => ({ ...config, cacheMiddleware: true });

/**
 * A client created on its first call, its package loaded then (`import()` of a module under `aws/`: a chunk of its
 * own), not at init. For the clients a function needs only now and then — S3 for large payloads, SQS and Lambda on a
 * failed delivery, Secrets Manager once per cached secret — so that a cold start loads only the clients every event
 * uses (bench/cold-start.bench.ts). Only `send` is offered: that is all the domain code calls.
 */
export function lazyClient<C extends { send: (...args: never[]) => Promise<unknown> }>(
  create: () => Promise<C>,
): Pick<C, 'send'> {
  let client: Promise<C> | undefined;
  const load = () => {
    const loading = create();
    // A failed load is not kept: the next call tries again.
    loading.catch(() => {
      if (client === loading) client = undefined;
    });
    return loading;
  };
  const send = (...args: never[]) => {
    client ??= load();
    return client.then((c) => c.send(...args));
  };
  return { send } as Pick<C, 'send'>;
}
