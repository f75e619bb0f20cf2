/**
 * The target seam of the delivery function: one Sender per kind of target (`index.ts` keys them on TargetKind).
 * A sender hands one event to its target and reports what happened; it never throws for the target's failures.
 * Everything around the call — attempts, backoff, the delivery log, the breaker, the rate limit, transforms — is the
 * same for every kind (deliver.ts).
 */
import type { TargetConfigOf, TargetKind } from '../../../core/config';
import type { Envelope } from '../../../core/contracts';
import type { SecretReader } from '../../shared/secrets';

export interface SendRequest {
  readonly envelope: Envelope;
  /** The JSON text to deliver: the envelope as it travelled (payload resolved), or the transform's output. */
  readonly body: string;
  /** Time allowed for this call. */
  readonly timeoutMs: number;
  readonly now: () => number;
}

export interface SendResult {
  /** The target took the event. */
  readonly ok: boolean;
  /** The HTTP status, when the target answered one. */
  readonly status?: number;
  readonly error?: string;
  /** The start of the target's answer (at most 1 KB), for the delivery log. */
  readonly response?: string;
  /** The target asked for this much time before the next attempt (`Retry-After`). */
  readonly retryAfterSeconds?: number;
  /** Another attempt may succeed (throttling, a server error, a timeout); false fails the delivery at once. */
  readonly retryable: boolean;
  /** The target said it is gone for good (HTTP 410): the target is paused until resumed by hand. */
  readonly gone?: boolean;
}

export interface Sender {
  send(request: SendRequest): Promise<SendResult>;
}

/** What a sender may use besides its target's config. */
export interface SenderContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a secret's active values (tests inject one; by default an HTTP sender makes its own). */
  readonly readSecrets?: SecretReader;
}

export type SenderFactory<K extends TargetKind> = (
  target: TargetConfigOf<K>,
  context: SenderContext,
) => Sender;

/** At most this much of a target's answer is kept in the delivery log (the HTTP client reads no more). */
export { RESPONSE_EXCERPT_BYTES } from '../../shared/http-client';

import { RESPONSE_EXCERPT_BYTES } from '../../shared/http-client';

/** The part of a text kept as an excerpt: at most RESPONSE_EXCERPT_BYTES of UTF-8. */
export function excerpt(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= RESPONSE_EXCERPT_BYTES
    ? text
    : bytes.subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
}
