/**
 * Agent keys and their allowances, pure: the key's text format, and whether a subscription pattern stays within the
 * patterns a key allows. Shared by the connection handler (which checks), the management API (which creates keys)
 * and the client SDK (which only needs the format).
 */

/** Every agent key starts with this: `erk_<key id>_<secret>`. */
export const AGENT_KEY_PREFIX = 'erk_';
/** Key ids: 16 lower-case hex characters (64 random bits; the secret carries the strength). */
export const AGENT_KEY_ID_RE = /^[0-9a-f]{16}$/;
/** The secret: 43 base64url characters (32 random bytes). Letters, digits, `-` and `_` are all valid in a
 * `Sec-WebSocket-Protocol` token (RFC 6455 §4.1 → RFC 7230 tchar), so browsers can send the key there. */
const AGENT_KEY_RE = /^erk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface ParsedAgentKey {
  readonly keyId: string;
  readonly secret: string;
}

/** The id and secret of an agent key's text, or undefined when it is not one. */
export function parseAgentKey(text: string): ParsedAgentKey | undefined {
  const m = AGENT_KEY_RE.exec(text);
  return m ? { keyId: m[1] as string, secret: m[2] as string } : undefined;
}

export const formatAgentKey = (keyId: string, secret: string) => `${AGENT_KEY_PREFIX}${keyId}_${secret}`;

/** The WebSocket subprotocol clients offer alongside their key (`Sec-WebSocket-Protocol: event-router, <key>`). */
export const LIVE_SUBPROTOCOL = 'event-router';

/** Limits on a key's allowance and its connections (issue 13, item 4). */
export const AGENT_LIMITS = {
  /** Patterns one key may allow. */
  maxPatterns: 10,
  /** Live connections one key may hold at once, unless the key says fewer. */
  defaultMaxConnections: 10,
  maxConnections: 100,
} as const;

type Alternative = Map<string, unknown[]>;

/**
 * The flat alternatives of a pattern: each a map from a field path (`detail.data.action`) to its matchers. `$or`
 * branches multiply out, as EventBridge expands them. Patterns are validated (and their combinations bounded)
 * before they get here.
 */
function alternatives(pattern: Record<string, unknown>, prefix = ''): Alternative[] {
  let out: Alternative[] = [new Map()];
  for (const [key, value] of Object.entries(pattern)) {
    let branches: Alternative[];
    if (key === '$or' && Array.isArray(value)) {
      branches = value.flatMap((branch) => alternatives(branch as Record<string, unknown>, prefix));
    } else if (Array.isArray(value)) {
      branches = [new Map([[`${prefix}${key}`, value]])];
    } else if (value !== null && typeof value === 'object') {
      branches = alternatives(value as Record<string, unknown>, `${prefix}${key}.`);
    } else {
      continue;
    }
    const next: Alternative[] = [];
    for (const left of out)
      for (const right of branches) {
        const merged = new Map(left);
        for (const [path, matchers] of right) merged.set(path, matchers);
        next.push(merged);
      }
    out = next;
  }
  return out;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const prefixOf = (matcher: unknown): string | undefined => {
  if (matcher === null || typeof matcher !== 'object' || Array.isArray(matcher)) return undefined;
  const p = (matcher as { prefix?: unknown }).prefix;
  return typeof p === 'string' && Object.keys(matcher).length === 1 ? p : undefined;
};

/**
 * Whether every value the requested matcher accepts is accepted by the allowed one. Conservative: only cases that
 * are certain (the same matcher, an exact value or a prefix under an allowed prefix) count; anything else is
 * treated as outside.
 */
function covers(allowed: unknown, requested: unknown): boolean {
  if (sameJson(allowed, requested)) return true;
  const allowedPrefix = prefixOf(allowed);
  if (allowedPrefix === undefined) return false;
  if (typeof requested === 'string') return requested.startsWith(allowedPrefix);
  const requestedPrefix = prefixOf(requested);
  return requestedPrefix?.startsWith(allowedPrefix) ?? false;
}

/** The first field where `requested` is wider than `allowed` (one alternative each), or undefined when it is not. */
function widerField(allowed: Alternative, requested: Alternative): string | undefined {
  for (const [path, allowedMatchers] of allowed) {
    const requestedMatchers = requested.get(path);
    if (!requestedMatchers) return `${path} (the key requires ${JSON.stringify(allowedMatchers)})`;
    for (const m of requestedMatchers)
      if (!allowedMatchers.some((a) => covers(a, m)))
        return `${path}: ${JSON.stringify(m)} is not within ${JSON.stringify(allowedMatchers)}`;
  }
  return undefined;
}

/**
 * Why `pattern` asks for events the allowance does not grant, or undefined when every event it matches is matched
 * by one of the allowed patterns. An alternative of the subscription is within the allowance when some allowed
 * alternative constrains no field that it leaves freer.
 */
export function outsideAllowance(
  pattern: Record<string, unknown>,
  allowance: readonly Record<string, unknown>[],
): string | undefined {
  const allowed = allowance.flatMap((p) => alternatives(p));
  for (const requested of alternatives(pattern)) {
    if (allowed.some((a) => widerField(a, requested) === undefined)) continue;
    const first = allowed[0];
    const why = first ? widerField(first, requested) : 'the key allows nothing';
    return `the pattern asks for events outside this key's allowance ${JSON.stringify(allowance)}: ${why}`;
  }
  return undefined;
}

/** The subscription of a key's connection that names no pattern: everything the key allows. */
export function allowanceAsPattern(allowance: readonly Record<string, unknown>[]): Record<string, unknown> {
  return allowance.length === 1 ? (allowance[0] as Record<string, unknown>) : { $or: [...allowance] };
}
