/**
 * OIDC tokens on the live stream, the pure part: the settings' defaults, what a JWT looks like, where an issuer's
 * discovery document is, and how a token's claim becomes an agent's allowance. The connections function verifies
 * tokens (lambdas/connections/oidc.ts); the config validates the settings (core/config.ts).
 */
import { AGENT_LIMITS } from './agents';
import { parseSubscription } from './subscription';

/**
 * Signature algorithms a config may allow: asymmetric only. An HMAC (`HS256`) key would be a secret shared with the
 * issuer, and `none` signs nothing.
 */
export const OIDC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type OidcAlgorithm = (typeof OIDC_ALGORITHMS)[number];

export const OIDC_DEFAULTS = {
  /** The claim holding the EventBridge patterns the token allows. */
  patternsClaim: 'event_router_patterns',
  /** The claim naming the agent (its connections' `agent`). */
  nameClaim: 'sub',
  algorithms: ['RS256', 'ES256'] as OidcAlgorithm[],
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat`. */
  clockToleranceSeconds: 30,
  maxConnections: AGENT_LIMITS.defaultMaxConnections,
} as const;

/** The most characters of a presented token that is verified (API Gateway caps a request's headers at 10 KB). */
export const MAX_TOKEN_CHARS = 8192;

/** Three base64url parts (header, payload, signature): what a presented credential must look like to be a JWT. */
const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export const looksLikeJwt = (text: string) => text.length <= MAX_TOKEN_CHARS && JWT_RE.test(text);

/**
 * The discovery document of an issuer: its identifier without a trailing `/`, then
 * `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0, §4).
 */
export const discoveryUrl = (issuer: string) =>
  `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;

/** Host names of the loopback interface: an `http://` issuer is accepted there only (the local stack, tests). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether a URL is `http://` on a loopback address. */
export function isLoopbackHttp(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname);
  } catch {
    return false;
  }
}

/**
 * Why an issuer or JWKS URL is not acceptable, or undefined: https, or http on a loopback address (for the local
 * stack and tests; the CDK stack refuses those at synth, a deployed function cannot reach them).
 */
export function oidcUrlProblem(url: string, what: 'issuer' | 'jwksUri'): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'must be a URL';
  }
  if (u.protocol !== 'https:' && !isLoopbackHttp(url))
    return 'must be an https URL (http:// only on a loopback address, for the local stack and tests)';
  if (u.username || u.password) return 'must carry no user name or password';
  // An issuer identifier has no query or fragment (OpenID Connect Discovery 1.0, §3).
  if (what === 'issuer' && (u.search || u.hash)) return 'must have no query or fragment';
  return undefined;
}

/**
 * The allowance a token's claim grants: a JSON array of EventBridge patterns, one pattern, or a string holding the
 * JSON of either (identity providers that only issue string claims); an array may also hold the patterns as JSON
 * strings (multi-valued string attributes). Each pattern is checked as an agent key's is (core/subscription.ts
 * limits), and there may be AGENT_LIMITS.maxPatterns at most.
 */
export function allowanceFromClaim(
  value: unknown,
): { ok: true; patterns: Record<string, unknown>[] } | { ok: false; reason: string } {
  let claim = value;
  if (typeof claim === 'string') {
    try {
      claim = JSON.parse(claim);
    } catch {
      return {
        ok: false,
        reason:
          'a string that is not JSON (a string claim holds the JSON of a pattern or of an array of them)',
      };
    }
  }
  const items = Array.isArray(claim) ? claim : [claim];
  if (items.length === 0) return { ok: false, reason: 'it lists no pattern' };
  if (items.length > AGENT_LIMITS.maxPatterns)
    return {
      ok: false,
      reason: `it lists ${items.length} patterns; at most ${AGENT_LIMITS.maxPatterns} are allowed`,
    };
  const patterns: Record<string, unknown>[] = [];
  for (const [i, item] of items.entries()) {
    // A string item is a pattern's JSON text (parseSubscription parses it).
    const parsed = parseSubscription(item);
    if (!parsed.ok) return { ok: false, reason: `${Array.isArray(claim) ? `[${i}]: ` : ''}${parsed.reason}` };
    patterns.push(parsed.pattern);
  }
  return { ok: true, patterns };
}
