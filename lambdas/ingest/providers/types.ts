/**
 * The verifier seam: one ProviderAdapter per provider. Pure (node:crypto only), no I/O, no AWS imports.
 * The ingest domain (lambdas/ingest/ingest.ts) calls `verify` on the raw bytes, then parses the body, then `normalise`.
 */
import type { SourceConfig } from '../../../core/config';

/** The request as the ingest handler sees it, independent of API Gateway. */
export interface WebhookRequest {
  /** Header names lower-cased; duplicate headers joined with ", " (API Gateway HTTP API behaviour). */
  readonly headers: Readonly<Record<string, string>>;
  /** Exact bytes the provider sent (base64-decoded when the gateway flagged `isBase64Encoded`). */
  readonly body: Buffer;
  /** Full public URL the provider called, including the query string (Twilio signs it). */
  readonly url: string;
  /** Parsed query string parameters. */
  readonly query: Readonly<Record<string, string>>;
}

export interface VerifyContext {
  /** Active secrets for the source (several during rotation); any one may match. */
  readonly secrets: readonly string[];
  /** Current time in ms since epoch (injected for tests). */
  readonly now: number;
  /** Symmetric tolerance for signed timestamps, in seconds. */
  readonly toleranceSeconds: number;
  readonly source: SourceConfig;
}

export type Verification = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** What a provider's payload says about itself, for the envelope. */
export interface Normalised {
  /** Dotted event type, e.g. `pull_request.opened`. */
  readonly type: string;
  /** Provider delivery id (dedupe key), if any. */
  readonly deliveryId: string | null;
  /** Provider event/send time as ISO-8601, if any. */
  readonly providerTime: string | null;
  readonly subject: string | null;
  /**
   * When set, the provider expects this exact answer instead of a stored event
   * (e.g. Slack `url_verification` → the challenge). Nothing is stored or routed.
   */
  readonly handshake?: { readonly statusCode: number; readonly contentType: string; readonly body: string };
}

/** Body formats a provider sends. */
export type BodyFormat = 'json' | 'form';

export interface ProviderAdapter {
  readonly provider: SourceConfig['provider'];
  /** Default timestamp tolerance (seconds) when the source does not override it. */
  readonly defaultToleranceSeconds: number;
  /** Content types the provider sends after a valid signature; anything else is 415. */
  readonly bodyFormats: readonly BodyFormat[];
  /** Headers copied into the envelope (lower-case); never signature headers. */
  readonly keptHeaders: readonly string[];
  /**
   * Optional: the headers to keep for one source when they depend on its config (the generic adapter keeps its
   * configured delivery-id, event-type and timestamp headers). When present, use it instead of `keptHeaders`.
   */
  keptHeadersFor?(source: SourceConfig): readonly string[];
  /** Checks the signature on the raw bytes. Never throws on any input. */
  verify(request: WebhookRequest, context: VerifyContext): Verification;
  /**
   * Derives type, delivery id, time and subject from headers and the parsed body. `body` is the parsed JSON value
   * or, for form bodies, a plain object of the form fields. Never throws on any input.
   */
  normalise(request: WebhookRequest, body: unknown, source: SourceConfig): Normalised;
}
