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
