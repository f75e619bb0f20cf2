/**
 * Verifies a JWT from the OIDC issuer the config names (`liveStream.oidc`) with `jose`: the signature against the
 * issuer's published keys (JWKS), then `iss`, `aud`, `exp` and `nbf` (with the clock tolerance), and the algorithm
 * against the allow-list. The token's subject becomes an agent: its name from `nameClaim`, its allowance from
 * `patternsClaim` (or `defaultPatterns`), its connection limit counted per subject like an agent key's.
 *
 * `jose` is loaded on the first JWT a function instance sees, never at init: a cold start without one does not pay for
 * it. The issuer's keys are fetched over HTTPS with a timeout and cached by the instance (jose's remote key set: kept
 * 10 minutes, fetched again at once for an unknown key id, at most every 30 s). Revocation is the issuer's business:
 * a token is good until it expires, so issue short-lived ones.
 */
import { createHash } from 'node:crypto';
import type { JWTVerifyGetKey } from 'jose';
import { allowanceFromClaim, discoveryUrl, isLoopbackHttp } from '../../core/oidc';
import type { OidcRuntime } from '../../core/runtime-config';

type Jose = typeof import('jose');
type KeySet = ReturnType<Jose['createRemoteJWKSet']>;

/** A verified token: the agent it names, what it may subscribe to, and the key its connections are counted under. */
export interface OidcIdentity {
  readonly ok: true;
  readonly agent: string;
  /** `oidc:<32 hex>`: SHA-256 of the issuer and the subject (any length, any characters) → a short, safe key. */
  readonly keyId: string;
  readonly subject: string;
  readonly allowance: Record<string, unknown>[];
  readonly maxConnections: number;
  /** The token's `exp` (seconds since the epoch, plus the clock tolerance): the connection ends then. */
  readonly notAfter: number;
}

/** Why a token is refused: 401 (not a valid token), 403 (valid, but it allows nothing), 503 (keys unavailable). */
export interface OidcRefusal {
  readonly ok: false;
  readonly status: 401 | 403 | 503;
  readonly error: string;
  readonly reason: string;
}

export type OidcVerifier = (token: string) => Promise<OidcIdentity | OidcRefusal>;

export interface OidcVerifierOptions {
  /** Milliseconds the discovery document and the key set may take each (the connect must answer within 10 s). */
  readonly timeoutMs?: number;
  /** After fetching the keys, an unknown key id fetches them again only this much later. @default 30_000 */
  readonly cooldownMs?: number;
  /** The time tokens are checked at (ms since the epoch). @default Date.now */
  readonly now?: () => number;
}

/** The key under which a subject's connections are counted (the live table's `AGENT#<keyId>` partition). */
export const oidcKeyId = (issuer: string, subject: string) =>
  `oidc:${createHash('sha256').update(issuer).update('\0').update(subject).digest('hex').slice(0, 32)}`;

/** The issuer's keys could not be had (network, timeout, an answer that is not a key set). */
class KeysUnavailable extends Error {}

/** Errors of the key lookup that say something about the token, not about the issuer's availability. */
const TOKEN_KEY_ERRORS = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
]);

const unauthorized = (reason: string): OidcRefusal => ({
  ok: false,
  status: 401,
  error: 'unauthorized',
  reason,
});
const iso = (seconds: unknown) =>
  typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : String(seconds);
const shown = (value: unknown) => JSON.stringify(value)?.slice(0, 200);

export function createOidcVerifier(config: OidcRuntime, options: OidcVerifierOptions = {}): OidcVerifier {
  const timeoutMs = options.timeoutMs ?? 3000;
  const now = options.now ?? Date.now;
  let jose: Promise<Jose> | undefined;
  let keySet: Promise<KeySet> | undefined;

  /** The JWKS URI: configured, or from the issuer's discovery document (which must name the same issuer). */
  async function jwksUri(): Promise<string> {
    if (config.jwksUri) return config.jwksUri;
    const url = discoveryUrl(config.issuer);
    let document: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await fetch(url, {
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
        headers: { accept: 'application/json' },
      });
      if (response.status !== 200) throw new Error(`it answered ${response.status}`);
      document = (await response.json()) as typeof document;
    } catch (error) {
      throw new KeysUnavailable(`the discovery document ${url} could not be read: ${describe(error)}`);
    }
    if (document?.issuer !== config.issuer)
      throw new KeysUnavailable(
        `the discovery document ${url} names the issuer ${shown(document?.issuer)}, not ${config.issuer}`,
      );
    const uri = document.jwks_uri;
    if (
      typeof uri !== 'string' ||
      !(uri.startsWith('https://') || (isLoopbackHttp(uri) && isLoopbackHttp(config.issuer)))
    )
      throw new KeysUnavailable(`the discovery document ${url} has no https jwks_uri`);
    return uri;
  }

  /** The issuer's key set, made once per instance (a failed discovery is tried again by the next token). */
  function keys(j: Jose): Promise<KeySet> {
    if (!keySet) {
      const made = jwksUri().then((uri) =>
        j.createRemoteJWKSet(new URL(uri), {
          timeoutDuration: timeoutMs,
          cooldownDuration: options.cooldownMs ?? 30_000,
          cacheMaxAge: 600_000,
        }),
      );
      keySet = made;
      made.catch(() => {
        if (keySet === made) keySet = undefined;
      });
    }
    return keySet;
  }

  return async (token) => {
    jose ??= import('jose');
    const j = await jose;
    let remote: KeySet;
    try {
      remote = await keys(j);
    } catch (error) {
      return unavailable(error);
    }
    // Errors of the lookup that are about the issuer (unreachable, slow, not a key set) are told apart from those
    // about the token (no key with its kid).
    const lookup: JWTVerifyGetKey = async (header, jws) => {
      try {
        return await remote(header, jws);
      } catch (error) {
        if (error instanceof j.errors.JOSEError && TOKEN_KEY_ERRORS.has(error.code)) throw error;
        throw new KeysUnavailable(`the issuer's keys could not be fetched: ${describe(error)}`);
      }
    };
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await j.jwtVerify(token, lookup, {
        issuer: config.issuer,
        audience: [...config.audience],
        algorithms: [...config.algorithms],
        clockTolerance: config.clockToleranceSeconds,
        currentDate: new Date(now()),
        // A token without `exp` would never end: revocation is its expiry.
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      if (error instanceof KeysUnavailable) return unavailable(error);
      return refusal(j, token, error);
    }
    const subject = payload.sub;
    if (typeof subject !== 'string' || subject === '')
      return unauthorized('the token\'s "sub" claim is not a non-empty string');
    const named = payload[config.nameClaim];
    const agent = (typeof named === 'string' && named !== '' ? named : subject).slice(0, 256);
    const claim = payload[config.patternsClaim];
    let allowance: Record<string, unknown>[];
    if (claim === undefined || claim === null) {
      if (!config.defaultPatterns)
        return {
          ok: false,
          status: 403,
          error: 'no_events_allowed',
          reason: `the token allows no events: it has no "${config.patternsClaim}" claim, and the stack allows none by default (liveStream.oidc.defaultPatterns)`,
        };
      allowance = [...config.defaultPatterns];
    } else {
      const parsed = allowanceFromClaim(claim);
      if (!parsed.ok)
        return {
          ok: false,
          status: 403,
          error: 'invalid_allowance',
          reason: `the token's "${config.patternsClaim}" claim is not a list of EventBridge patterns: ${parsed.reason}`,
        };
      allowance = parsed.patterns;
    }
    return {
      ok: true,
      agent,
      subject,
      keyId: oidcKeyId(config.issuer, subject),
      allowance,
      maxConnections: config.maxConnections,
      // `exp` is required above.
      notAfter: Number(payload.exp) + config.clockToleranceSeconds,
    };
  };

  function refusal(j: Jose, token: string, error: unknown): OidcRefusal {
    if (!(error instanceof j.errors.JOSEError)) throw error;
    const header = () => {
      try {
        return j.decodeProtectedHeader(token);
      } catch {
        return {};
      }
    };
    switch (error.code) {
      case 'ERR_JWT_EXPIRED': {
        const exp = (error as InstanceType<Jose['errors']['JWTExpired']>).payload?.exp;
        return unauthorized(`the token expired at ${iso(exp)}`);
      }
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
        const e = error as InstanceType<Jose['errors']['JWTClaimValidationFailed']>;
        if (e.reason === 'missing') return unauthorized(`the token has no "${e.claim}" claim`);
        if (e.claim === 'iss')
          return unauthorized(
            `the token's issuer ${shown(e.payload.iss)} is not this stack's issuer ${config.issuer}`,
          );
        if (e.claim === 'aud')
          return unauthorized(
            `the token's audience ${shown(e.payload.aud)} is not this stack's (${config.audience.join(', ')})`,
          );
        if (e.claim === 'nbf') return unauthorized(`the token is not valid before ${iso(e.payload.nbf)}`);
        return unauthorized(`the token's "${e.claim}" claim is invalid: ${e.message}`);
      }
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
        return unauthorized(
          `the token's algorithm ${shown(header().alg)} is not allowed (${config.algorithms.join(', ')})`,
        );
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return unauthorized("the token's signature does not verify with the issuer's key");
      case 'ERR_JWKS_NO_MATCHING_KEY': {
        const kid = header().kid;
        return unauthorized(
          kid === undefined
            ? "the token names no key id (kid), and no single key of the issuer's fits it"
            : `the issuer has no key with the token's key id ${shown(kid)}`,
        );
      }
      case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
        return unauthorized("the token names no key id (kid), and several of the issuer's keys fit it");
      default:
        // Malformed (ERR_JWS_INVALID, ERR_JWT_INVALID), an unsupported key: jose's message names what is wrong,
        // never the token.
        return unauthorized(`the token is not valid: ${error.message}`);
    }
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (error instanceof KeysUnavailable) return error.message;
  // fetch's own errors say "fetch failed"; the cause has the network's reason (ECONNREFUSED, a DNS failure).
  const detail = cause instanceof Error ? `: ${(cause as { code?: string }).code ?? cause.message}` : '';
  return `${error.name === 'TimeoutError' || error.name === 'JWKSTimeout' ? 'timed out' : error.message}${detail}`;
}

function unavailable(error: unknown): OidcRefusal {
  if (!(error instanceof KeysUnavailable)) throw error;
  return {
    ok: false,
    status: 503,
    error: 'issuer_unavailable',
    reason: `${error.message}; try again`,
  };
}
