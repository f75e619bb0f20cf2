/**
 * Builders for the filters people write most. Each returns a plain, validated EventBridge pattern (JSON), so the
 * result can go to an EventBridge rule, a WebSocket subscription or `compilePattern` alike.
 *
 * Our events: Source `webhook.<source name>`, detail-type = envelope type (e.g. `pull_request.opened`), detail =
 * the envelope {id, source, provider, type, deliveryId, providerTime, receivedAt, subject, headers, data}.
 */
import { compileAlternatives } from './compile';
import { childPath, type EventPattern, PatternError } from './errors';
import { escapeWildcard } from './wildcard';

/** Same as EVENT_SOURCE_PREFIX in core/contracts (kept local so the pattern module stays dependency-free). */
export const WEBHOOK_SOURCE_PREFIX = 'webhook.';

type Scalar = string | number | boolean | null;
type NumericOp = '=' | '<' | '<=' | '>' | '>=';

function checked(pattern: EventPattern): EventPattern {
  compileAlternatives(pattern);
  return pattern;
}

/** Events from these source names (EventBridge Source `webhook.<name>`). */
export function fromSource(...names: string[]): EventPattern {
  if (names.length === 0) throw new PatternError('source', 'fromSource needs at least one source name');
  return checked({ source: names.map((n) => `${WEBHOOK_SOURCE_PREFIX}${n}`) });
}

/** Events whose detail-type (envelope type) is one of these, e.g. `pull_request.opened`. */
export function eventType(...types: string[]): EventPattern {
  if (types.length === 0) throw new PatternError('detail-type', 'eventType needs at least one type');
  return checked({ 'detail-type': types });
}

/** Events whose detail-type starts with this, e.g. `pull_request.`. */
export function eventTypePrefix(prefix: string): EventPattern {
  return checked({ 'detail-type': [{ prefix }] });
}

export interface FieldOptions {
  /** `detail` (default): the path is inside the envelope, e.g. `data.action`. `event`: from the event root. */
  readonly from?: 'detail' | 'event';
}

/** Conditions on one field. Paths are dotted (`data.pull_request.state`) or an array of keys. */
export class FieldBuilder {
  private readonly keys: readonly string[];
  private readonly path: string;

  constructor(path: string | readonly string[], options: FieldOptions = {}) {
    const keys = typeof path === 'string' ? path.split('.') : [...path];
    const root = options.from === 'event' ? [] : ['detail'];
    if (keys.length === 0 || keys.some((k) => k === '')) {
      throw new PatternError('$', `field path ${JSON.stringify(path)} has an empty segment`);
    }
    this.keys = [...root, ...keys];
    this.path = this.keys.reduce((p, k) => childPath(p, k), '$');
  }

  /** The field's value is exactly `value` (strings never equal numbers: "5" is not 5). */
  equals(value: Scalar): EventPattern {
    return this.leaf([value]);
  }

  /** The field's value is one of `values`. */
  in(values: readonly Scalar[]): EventPattern {
    if (values.length === 0) throw new PatternError(this.path, 'in() needs at least one value');
    return this.leaf([...values]);
  }

  /** The field has a value (`exists: true`), or has none (`exists: false`). Leaf values only, as on AWS. */
  exists(present = true): EventPattern {
    return this.leaf([{ exists: present }]);
  }

  /** A numeric comparison: `numeric('>', 5)` or a range `numeric('>=', 0, '<', 10)`. JSON numbers only. */
  numeric(op: NumericOp, value: number): EventPattern;
  numeric(op: '>' | '>=', low: number, op2: '<' | '<=', high: number): EventPattern;
  numeric(op: NumericOp, value: number, op2?: '<' | '<=', high?: number): EventPattern {
    const expr: (string | number)[] = [op, value];
    if (op2 !== undefined && high !== undefined) expr.push(op2, high);
    return this.leaf([{ numeric: expr }]);
  }

  prefix(text: string, options: { ignoreCase?: boolean } = {}): EventPattern {
    return this.leaf([{ prefix: options.ignoreCase ? { 'equals-ignore-case': text } : text }]);
  }

  suffix(text: string, options: { ignoreCase?: boolean } = {}): EventPattern {
    return this.leaf([{ suffix: options.ignoreCase ? { 'equals-ignore-case': text } : text }]);
  }

  equalsIgnoreCase(text: string): EventPattern {
    return this.leaf([{ 'equals-ignore-case': text }]);
  }

  /** The string contains `text` (written as the wildcard `*text*`, with `*` and `\` in `text` escaped). */
  contains(text: string): EventPattern {
    return this.leaf([{ wildcard: text === '' ? '*' : `*${escapeWildcard(text)}*` }]);
  }

  /** A wildcard, e.g. `repos/*\/issues` (`*` = any characters). */
  wildcard(pattern: string): EventPattern {
    return this.leaf([{ wildcard: pattern }]);
  }

  /** Any value except these (all strings or all numbers). */
  anythingBut(...values: string[] | number[]): EventPattern {
    if (values.length === 0) throw new PatternError(this.path, 'anythingBut() needs at least one value');
    return this.leaf([{ 'anything-but': values.length === 1 ? values[0] : values }]);
  }

  /** An IP address in the CIDR block, e.g. `10.0.0.0/24` (IPv4 or IPv6). */
  cidr(block: string): EventPattern {
    return this.leaf([{ cidr: block }]);
  }

  /** EventBridge has no regular expressions: always throws, pointing at what to use instead. */
  regex(_source: string | RegExp): never {
    throw new PatternError(
      this.path,
      'EventBridge patterns have no regular expressions; use prefix(), suffix(), contains(), wildcard() or equalsIgnoreCase()',
    );
  }

  private leaf(values: unknown[]): EventPattern {
    let node: unknown = values;
    for (let i = this.keys.length - 1; i >= 0; i--) node = { [this.keys[i] as string]: node };
    return checked(node as EventPattern);
  }
}

/** Conditions on a field of the envelope (`data.action`), or of the event root with `{from: 'event'}`. */
export function field(path: string | readonly string[], options?: FieldOptions): FieldBuilder {
  return new FieldBuilder(path, options);
}

/** A pattern matching events that match any of the patterns (`$or`). */
export function anyOf(...patterns: EventPattern[]): EventPattern {
  if (patterns.length === 0) throw new PatternError('$or', 'anyOf needs at least one pattern');
  if (patterns.length === 1) return checked(patterns[0] as EventPattern);
  return checked({ $or: patterns.map((p) => structuredClone(p)) });
}

/**
 * A pattern matching events that match all the patterns (fields merged). Two conditions on the same field can
 * only be merged when they are equal, or are a lower and an upper numeric bound; otherwise this throws, since
 * EventBridge cannot require two different conditions of one field.
 */
export function allOf(...patterns: EventPattern[]): EventPattern {
  let out: EventPattern = {};
  for (const p of patterns) out = merge(out, p, '$');
  if (Object.keys(out).length === 0)
    throw new PatternError('$', 'allOf needs at least one non-empty pattern');
  return checked(out);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(a: EventPattern, b: EventPattern, path: string): EventPattern {
  const out: EventPattern = structuredClone(a);
  for (const [key, bv] of Object.entries(b)) {
    const here = childPath(path, key);
    if (!(key in out)) {
      out[key] = structuredClone(bv);
      continue;
    }
    const av = out[key];
    if (key === '$or' && Array.isArray(av) && Array.isArray(bv)) {
      // (a1 | a2) & (b1 | b2): put b's $or inside each branch of a's.
      out[key] = av.map((branch) => merge(branch as EventPattern, { $or: bv }, here));
    } else if (isObject(av) && isObject(bv)) {
      out[key] = merge(av, bv, here);
    } else if (JSON.stringify(av) === JSON.stringify(bv)) {
      // identical condition: keep one
    } else {
      const range = mergeNumericBounds(av, bv);
      if (range === undefined) {
        throw new PatternError(
          here,
          'both patterns constrain this field differently; EventBridge cannot AND two conditions on one field (list the values in one array, or use a numeric range)',
        );
      }
      out[key] = range;
    }
  }
  return out;
}

/** [{numeric: ['>', 1]}] & [{numeric: ['<', 5]}] → [{numeric: ['>', 1, '<', 5]}]. */
function mergeNumericBounds(a: unknown, b: unknown): unknown[] | undefined {
  const bound = (v: unknown): [string, number] | undefined => {
    if (!Array.isArray(v) || v.length !== 1 || !isObject(v[0])) return undefined;
    const expr = v[0].numeric;
    if (
      !Array.isArray(expr) ||
      expr.length !== 2 ||
      typeof expr[0] !== 'string' ||
      typeof expr[1] !== 'number'
    ) {
      return undefined;
    }
    return [expr[0], expr[1]];
  };
  const x = bound(a);
  const y = bound(b);
  if (x === undefined || y === undefined) return undefined;
  const isLow = (op: string) => op === '>' || op === '>=';
  const isHigh = (op: string) => op === '<' || op === '<=';
  const [low, high] = isLow(x[0]) && isHigh(y[0]) ? [x, y] : isLow(y[0]) && isHigh(x[0]) ? [y, x] : [];
  if (low === undefined || high === undefined) return undefined;
  return [{ numeric: [low[0], low[1], high[0], high[1]] }];
}
