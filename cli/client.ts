/**
 * The management API's client: every request signed with SigV4 (`execute-api`) by the stack's credentials — the
 * local ones for the local stack, the caller's AWS credentials for a deployed one — and retried when API Gateway
 * throttled it (429, before the function ran: safe for every method) or, for reads, when the service was briefly
 * unavailable.
 */
import type { z } from 'zod';
import { type Credentials, signRequest } from '../local/services/sigv4';

/** The API answered an error (`application/problem+json`, or API Gateway's own `{"message"}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors: readonly { path: string; message: string }[] = [],
  ) {
    super(detail);
  }
}

/** The stack could not be reached at all (connection refused, DNS, timeout). */
export class UnreachableError extends Error {}

export interface ClientOptions {
  /** Base URL of the HTTP API, without a trailing slash. */
  readonly baseUrl: string;
  readonly region: string;
  readonly credentials: Credentials | (() => Promise<Credentials>);
  /** @default 6 */
  readonly maxAttempts?: number;
  /** @default 200 */
  readonly baseDelayMs?: number;
  /** @default 30_000 (API Gateway's integration timeout) */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

const RETRY_READ = new Set([429, 502, 503, 504]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ManagementClient {
  constructor(private readonly options: ClientOptions) {}

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /**
   * Sends a request and parses the answer with `schema` (a response that does not match it is an error: the CLI
   * and the API disagree). `query` values that are undefined are left out.
   */
  async request<S extends z.ZodType>(
    schema: S,
    method: 'GET' | 'POST',
    path: string,
    init: { query?: Record<string, string | number | undefined>; body?: unknown } = {},
  ): Promise<z.infer<S>> {
    const url = new URL(`${this.options.baseUrl}${path}`);
    for (const [key, value] of Object.entries(init.query ?? {}))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const maxAttempts = this.options.maxAttempts ?? 6;
    const doFetch = this.options.fetch ?? fetch;
    for (let attempt = 1; ; attempt++) {
      const headers = await signRequest(
        { method, url, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body },
        this.options.credentials,
        this.options.region,
      );
      let response: Response;
      try {
        response = await doFetch(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body }),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
        // A read is retried; a write that may have reached the function is not (it could apply twice).
        if (method === 'GET' && attempt < maxAttempts) {
          await sleep(this.delay(attempt));
          continue;
        }
        throw new UnreachableError(`cannot reach ${this.options.baseUrl}: ${cause}`);
      }
      const text = await response.text();
      const retryable = response.status === 429 || (method === 'GET' && RETRY_READ.has(response.status));
      if (retryable && attempt < maxAttempts) {
        await sleep(this.delay(attempt));
        continue;
      }
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!response.ok) {
        const problem = (json ?? {}) as {
          detail?: string;
          message?: string;
          errors?: { path: string; message: string }[];
        };
        throw new ApiError(
          response.status,
          problem.detail ?? problem.message ?? (text.slice(0, 200) || response.statusText),
          problem.errors ?? [],
        );
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success)
        throw new Error(
          `unexpected answer from ${method} ${path}: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
        );
      return parsed.data;
    }
  }

  /** Full jitter backoff: a random wait up to base × 2^(attempt-1), at most 5 s. */
  private delay(attempt: number): number {
    return Math.random() * Math.min(5_000, (this.options.baseDelayMs ?? 200) * 2 ** (attempt - 1));
  }
}
