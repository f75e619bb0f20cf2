/**
 * Validation and compilation of EventBridge event patterns, in one pass so the two can never disagree.
 *
 * Follows Event Ruler (the open-source engine behind EventBridge): `$or` is expanded into flat alternatives (at
 * most 1000), each alternative is an AND over field paths, and a leaf written twice in one alternative keeps the
 * last value written in document order (only possible when a path appears both inside and outside a `$or`).
 */
import { childPath, type EventPattern, indexPath, PatternError } from './errors';
import { inRange, ipToHex, looksLikeIp, parseCidr } from './ip';
import { comparableProblem, isComparable } from './numeric';
import {
  type FieldTest,
  type LeafTest,
  type NodeTest,
  type Scalar,
  scalarKey,
  type ValuePredicate,
} from './types';
import { parseWildcard, type Wildcard, wildcardMatches } from './wildcard';

/** EventBridge's limit on the alternatives a pattern may expand to through `$or`. */
export const MAX_COMBINATIONS = 1000;
/** Local safety limit on nesting (not an EventBridge rule): keeps hostile patterns from exhausting the stack. */
export const MAX_DEPTH = 64;

export const OPERATORS = [
  'prefix',
  'suffix',
  'equals-ignore-case',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
  'wildcard',
] as const;
const OPERATOR_SET: ReadonlySet<string> = new Set(OPERATORS);

/** Field names Event Ruler refuses inside a `$or` branch (operator names, present and reserved). */
const RESERVED_IN_OR: ReadonlySet<string> = new Set([
  'exactly',
  ...OPERATORS,
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

const SUPPORTED = OPERATORS.join(', ');

/** Operators people reach for that EventBridge does not have, with what to write instead. */
const NOT_EVENTBRIDGE: Readonly<Record<string, string>> = {
  regex:
    'EventBridge patterns have no regular expressions; use prefix, suffix, wildcard or equals-ignore-case',
  contains: 'to match a substring use {"wildcard": "*text*"}',
  'not-contains': 'use {"anything-but": {"wildcard": "*text*"}}',
  not: 'use anything-but',
  $not: 'use anything-but',
  and: 'fields of one pattern are already ANDed',
  $and: 'fields of one pattern are already ANDed',
  or: 'list alternatives in the array, or use "$or" as a field name',
  $or: 'write "$or" as a field name whose value is an array of patterns, not inside a value array',
  exactly: 'write the plain value instead (e.g. ["x"])',
  'equals-ignore-case-prefix': 'use {"prefix": {"equals-ignore-case": "..."}}',
  'not-wildcard': 'use {"anything-but": {"wildcard": "..."}}',
  'not-equals-ignore-case': 'use {"anything-but": {"equals-ignore-case": "..."}}',
  exist: 'the operator is spelled "exists"',
  range: 'use {"numeric": [">=", low, "<", high]}',
};

/** A pattern compiled to its `$or` alternatives. */
export interface Compiled {
  readonly alternatives: readonly NodeTest[];
}

// ---------------------------------------------------------------------------------------------------------------
// Alternative trees under construction

interface BuildEntry {
  leaf: LeafTest | null;
  sub: BuildTree | null;
}
type BuildTree = Map<string, BuildEntry>;

function copyTree(tree: BuildTree): BuildTree {
  const out: BuildTree = new Map();
  for (const [key, entry] of tree) {
    out.set(key, { leaf: entry.leaf, sub: entry.sub === null ? null : copyTree(entry.sub) });
  }
  return out;
}

function writeLeaf(alternatives: BuildTree[], keys: readonly string[], leaf: LeafTest): void {
  for (const root of alternatives) {
    let tree = root;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      let entry = tree.get(key);
      if (entry === undefined) {
        entry = { leaf: null, sub: null };
        tree.set(key, entry);
      }
      if (i === keys.length - 1) {
        entry.leaf = leaf;
      } else {
        if (entry.sub === null) entry.sub = new Map();
        tree = entry.sub;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pattern walk

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

export interface CompileOptions {
  /**
   * Most alternatives the pattern may expand to through `$or`, when a caller needs a tighter bound than EventBridge's
   * (the live stream compiles every subscriber's pattern).
   * @default MAX_COMBINATIONS
   */
  readonly maxCombinations?: number;
}

/** Validates and compiles a pattern; throws PatternError with the path and reason EventBridge would reject it for. */
export function compileAlternatives(pattern: unknown, options: CompileOptions = {}): Compiled {
  if (!isPlainObject(pattern)) {
    throw new PatternError('$', `a pattern must be a JSON object, not ${describe(pattern)}`);
  }
  const limit = Math.min(options.maxCombinations ?? MAX_COMBINATIONS, MAX_COMBINATIONS);
  const alternatives: BuildTree[] = [new Map()];
  parseObject(alternatives, [], pattern, '$', false, 0, limit);
  return { alternatives: alternatives.map((tree) => finishNode(tree)) };
}

function parseObject(
  alternatives: BuildTree[],
  keys: readonly string[],
  obj: Record<string, unknown>,
  path: string,
  insideOr: boolean,
  depth: number,
  limit: number,
): void {
  if (depth > MAX_DEPTH) throw new PatternError(path, `pattern nested deeper than ${MAX_DEPTH} levels`);
  const entries = Object.entries(obj);
  if (entries.length === 0) throw new PatternError(path, 'empty objects are not allowed');
  for (const [key, value] of entries) {
    const here = childPath(path, key);
    if (key === '$or') {
      parseOr(alternatives, keys, value, here, depth, limit);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) {
      throw new PatternError(
        here,
        `"${key}" is an operator name and cannot be used as a field name inside $or`,
      );
    }
    if (Array.isArray(value)) {
      writeLeaf(alternatives, [...keys, key], compileLeaf(value, here));
    } else if (isPlainObject(value)) {
      parseObject(alternatives, [...keys, key], value, here, insideOr, depth + 1, limit);
    } else {
      throw new PatternError(
        here,
        `a field must map to an array of match values or to a nested object, not ${describe(value)} (write [${JSON.stringify(value) ?? 'null'}])`,
      );
    }
  }
}

function parseOr(
  alternatives: BuildTree[],
  keys: readonly string[],
  value: unknown,
  path: string,
  depth: number,
  limit: number,
) {
  if (!Array.isArray(value)) {
    throw new PatternError(
      path,
      `$or must be an array of at least 2 pattern objects, not ${describe(value)}`,
    );
  }
  if (value.length < 2) {
    throw new PatternError(path, `$or needs at least 2 pattern objects (got ${value.length})`);
  }
  const before = alternatives.splice(0, alternatives.length);
  for (let i = 0; i < value.length; i++) {
    const branch = value[i];
    const here = indexPath(path, i);
    if (!isPlainObject(branch)) {
      throw new PatternError(here, `each $or item must be a pattern object, not ${describe(branch)}`);
    }
    const forked = before.map(copyTree);
    parseObject(forked, keys, branch, here, true, depth + 1, limit);
    alternatives.push(...forked);
    if (alternatives.length > limit) {
      throw new PatternError(
        path,
        limit === MAX_COMBINATIONS
          ? `pattern is too complex: $or expands to more than ${MAX_COMBINATIONS} combinations (EventBridge's limit)`
          : `pattern is too complex: $or expands to more than ${limit} combinations (the limit here)`,
      );
    }
  }
}

function finishNode(tree: BuildTree): NodeTest {
  const fields: FieldTest[] = [];
  for (const [key, entry] of tree) {
    fields.push({ key, leaf: entry.leaf, node: entry.sub === null ? null : finishNode(entry.sub) });
  }
  // Cheapest, most selective tests first: exact-value leaves, other leaves, then nested objects.
  const rank = (f: FieldTest) =>
    f.node !== null ? 2 : f.leaf !== null && f.leaf.predicates.length === 0 ? 0 : 1;
  fields.sort((a, b) => rank(a) - rank(b));
  const acceptsAbsent = fields.every(
    (f) => (f.leaf === null || f.leaf.existsFalse) && (f.node === null || f.node.acceptsAbsent),
  );
  return { fields, acceptsAbsent };
}

// ---------------------------------------------------------------------------------------------------------------
// Leaves: arrays of match values

interface LeafBuilder {
  existsTrue: boolean;
  existsFalse: boolean;
  strings: Set<string> | null;
  numbers: Set<number> | null;
  matchNull: boolean;
  matchTrue: boolean;
  matchFalse: boolean;
  ips: Set<string> | null;
  predicates: ValuePredicate[];
  indexable: boolean;
  prefixes: string[];
}

function compileLeaf(values: unknown[], path: string): LeafTest {
  if (values.length === 0) throw new PatternError(path, 'empty arrays are not allowed');
  const b: LeafBuilder = {
    existsTrue: false,
    existsFalse: false,
    strings: null,
    numbers: null,
    matchNull: false,
    matchTrue: false,
    matchFalse: false,
    ips: null,
    predicates: [],
    indexable: true,
    prefixes: [],
  };
  const keys: string[] = [];
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const here = indexPath(path, i);
    if (typeof value === 'string') {
      b.strings ??= new Set();
      b.strings.add(value);
      keys.push(scalarKey(value));
      if (looksLikeIp(value)) {
        const hex = ipToHex(value);
        if (hex !== undefined) {
          b.ips ??= new Set();
          b.ips.add(hex);
          b.indexable = false;
        }
      }
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new PatternError(here, `${value} is not a finite number`);
      b.numbers ??= new Set();
      b.numbers.add(value);
      keys.push(scalarKey(value));
    } else if (typeof value === 'boolean') {
      if (value) b.matchTrue = true;
      else b.matchFalse = true;
      keys.push(scalarKey(value));
    } else if (value === null) {
      b.matchNull = true;
      keys.push(scalarKey(null));
    } else if (Array.isArray(value)) {
      throw new PatternError(
        here,
        'a match value must be a string, number, true, false, null or an operator object, not an array',
      );
    } else if (isPlainObject(value)) {
      compileOperator(value, here, b);
    } else {
      throw new PatternError(here, `unsupported match value ${describe(value)}`);
    }
  }
  const indexable = b.indexable && !b.existsTrue && !b.existsFalse;
  return {
    existsTrue: b.existsTrue,
    existsFalse: b.existsFalse,
    strings: b.strings,
    numbers: b.numbers,
    matchNull: b.matchNull,
    matchTrue: b.matchTrue,
    matchFalse: b.matchFalse,
    ips: b.ips,
    predicates: b.predicates,
    indexKeys: indexable ? keys : null,
    indexPrefixes: indexable ? b.prefixes : [],
  };
}

function unknownOperator(name: string, path: string): never {
  const hint = NOT_EVENTBRIDGE[name];
  if (hint !== undefined) {
    throw new PatternError(path, `"${name}" is not an EventBridge operator: ${hint}`);
  }
  if (RESERVED_IN_OR.has(name)) {
    throw new PatternError(path, `"${name}" is reserved by Event Ruler but is not an EventBridge operator`);
  }
  throw new PatternError(path, `unknown operator "${name}" (EventBridge operators: ${SUPPORTED})`);
}

function compileOperator(expr: Record<string, unknown>, path: string, b: LeafBuilder): void {
  const names = Object.keys(expr);
  const name = names[0];
  if (name === undefined) {
    throw new PatternError(path, `empty match expression: name an operator (${SUPPORTED})`);
  }
  if (!OPERATOR_SET.has(name)) unknownOperator(name, path);
  const operand = expr[name];
  switch (name) {
    case 'prefix':
    case 'suffix':
      affixOperator(name, operand, path, b);
      break;
    case 'equals-ignore-case': {
      const text = requireString(operand, path, 'equals-ignore-case');
      b.predicates.push(equalsIgnoreCase(text));
      b.indexable = false;
      break;
    }
    case 'wildcard': {
      const w = requireWildcard(operand, path);
      b.predicates.push((v) => typeof v === 'string' && wildcardMatches(w, v));
      b.indexable = false;
      break;
    }
    case 'cidr': {
      if (typeof operand !== 'string') {
        throw new PatternError(path, `cidr must be a string like "10.0.0.0/24", not ${describe(operand)}`);
      }
      const range = parseCidr(operand);
      if (typeof range === 'string') throw new PatternError(path, `cidr: ${range}`);
      b.predicates.push((v) => {
        if (typeof v !== 'string') return false;
        const hex = ipToHex(v);
        return hex !== undefined && inRange(hex, range);
      });
      b.indexable = false;
      break;
    }
    case 'exists':
      if (typeof operand !== 'boolean') {
        throw new PatternError(path, `exists must be true or false, not ${describe(operand)}`);
      }
      if (operand) b.existsTrue = true;
      else b.existsFalse = true;
      break;
    case 'numeric':
      b.predicates.push(numericOperator(operand, path));
      b.indexable = false;
      break;
    case 'anything-but':
      b.predicates.push(anythingButOperator(operand, path));
      b.indexable = false;
      break;
  }
  if (names.length > 1) {
    throw new PatternError(
      path,
      `only one operator allowed per match expression (got ${names.map((n) => JSON.stringify(n)).join(', ')}); list alternatives as separate array items`,
    );
  }
}

function requireString(operand: unknown, path: string, operator: string): string {
  if (typeof operand !== 'string') {
    throw new PatternError(path, `${operator} must be a string, not ${describe(operand)}`);
  }
  return operand;
}

function requireWildcard(operand: unknown, path: string, operator = 'wildcard'): Wildcard {
  const text = requireString(operand, path, operator);
  const parsed = parseWildcard(text);
  if (typeof parsed === 'string')
    throw new PatternError(path, `${operator} ${JSON.stringify(text)}: ${parsed}`);
  return parsed;
}

function affixOperator(name: 'prefix' | 'suffix', operand: unknown, path: string, b: LeafBuilder): void {
  if (isPlainObject(operand)) {
    const inner = Object.keys(operand);
    if (inner.length === 0) {
      throw new PatternError(path, `${name} object must be {"equals-ignore-case": "..."}`);
    }
    if (inner[0] !== 'equals-ignore-case') {
      throw new PatternError(path, `unsupported ${name} operator "${inner[0]}" (only equals-ignore-case)`);
    }
    if (inner.length > 1)
      throw new PatternError(path, `${name} object must have the single key equals-ignore-case`);
    const text = requireString(operand['equals-ignore-case'], path, `${name}/equals-ignore-case`);
    const lower = text.toLowerCase();
    b.predicates.push(
      name === 'prefix'
        ? (v) =>
            typeof v === 'string' &&
            v.length >= text.length &&
            v.slice(0, text.length).toLowerCase() === lower
        : (v) =>
            typeof v === 'string' &&
            v.length >= text.length &&
            v.slice(v.length - text.length).toLowerCase() === lower,
    );
    b.indexable = false;
    return;
  }
  const text = requireString(operand, path, name);
  if (name === 'prefix') {
    b.predicates.push((v) => typeof v === 'string' && v.startsWith(text));
    b.prefixes.push(text);
  } else {
    b.predicates.push((v) => typeof v === 'string' && v.endsWith(text));
    b.indexable = false;
  }
}

function equalsIgnoreCase(text: string): ValuePredicate {
  const lower = text.toLowerCase();
  const upper = text.toUpperCase();
  return (v) => typeof v === 'string' && (v.toLowerCase() === lower || v.toUpperCase() === upper);
}

// ---------------------------------------------------------------------------------------------------------------
// numeric

type Bound = { value: number; inclusive: boolean } | null;

function numericValue(value: unknown, path: string, operator: string): number {
  if (typeof value !== 'number') {
    throw new PatternError(
      path,
      `numeric: the value after "${operator}" must be a JSON number, not ${describe(value)}`,
    );
  }
  const problem = comparableProblem(value);
  if (problem !== undefined) throw new PatternError(path, `numeric: ${problem}`);
  return value;
}

const NUMERIC_OPS = new Set(['=', '<', '<=', '>', '>=']);

function numericOperator(operand: unknown, path: string): ValuePredicate {
  if (!Array.isArray(operand)) {
    throw new PatternError(path, `numeric must be an array like [">", 0, "<=", 5], not ${describe(operand)}`);
  }
  if (operand.length === 0) throw new PatternError(path, 'numeric must not be empty');
  const op = operand[0];
  if (typeof op !== 'string') {
    throw new PatternError(
      path,
      `numeric must start with an operator (=, <, <=, >, >=), not ${describe(op)}`,
    );
  }
  if (!NUMERIC_OPS.has(op))
    throw new PatternError(path, `unknown numeric operator "${op}" (use =, <, <=, >, >=)`);
  if (operand.length < 2) throw new PatternError(path, `numeric: "${op}" needs a number after it`);
  const first = numericValue(operand[1], path, op);
  if (op === '=') {
    if (operand.length > 2)
      throw new PatternError(path, 'numeric: "=" takes a single number and ends the expression');
    return (v) => typeof v === 'number' && isComparable(v) && v === first;
  }
  if (op === '<' || op === '<=') {
    if (operand.length > 2) {
      throw new PatternError(
        path,
        'numeric: wrong operator order; a range is a lower bound (> or >=) followed by an upper bound (< or <=)',
      );
    }
    return rangePredicate(null, { value: first, inclusive: op === '<=' });
  }
  const low: Bound = { value: first, inclusive: op === '>=' };
  if (operand.length === 2) return rangePredicate(low, null);
  const op2 = operand[2];
  if (typeof op2 !== 'string') {
    throw new PatternError(path, `numeric: expected "<" or "<=" after the lower bound, not ${describe(op2)}`);
  }
  if (op2 === '>' || op2 === '>=' || op2 === '=') {
    throw new PatternError(
      path,
      `numeric: "${op}" cannot be followed by "${op2}"; a range is a lower bound (> or >=) followed by an upper bound (< or <=)`,
    );
  }
  if (op2 !== '<' && op2 !== '<=')
    throw new PatternError(path, `unknown numeric operator "${op2}" (use < or <=)`);
  if (operand.length < 4) throw new PatternError(path, `numeric: "${op2}" needs a number after it`);
  if (operand.length > 4)
    throw new PatternError(path, 'numeric: too many elements (at most [">", low, "<", high])');
  const second = numericValue(operand[3], path, op2);
  if (!(first < second)) {
    throw new PatternError(
      path,
      `numeric: range is inverted or empty (lower bound ${first} must be less than ${second})`,
    );
  }
  return rangePredicate(low, { value: second, inclusive: op2 === '<=' });
}

function rangePredicate(low: Bound, high: Bound): ValuePredicate {
  const lo = low === null ? Number.NEGATIVE_INFINITY : low.value;
  const hi = high === null ? Number.POSITIVE_INFINITY : high.value;
  const loIn = low === null || low.inclusive;
  const hiIn = high === null || high.inclusive;
  return (v) => {
    if (typeof v !== 'number' || !isComparable(v)) return false;
    if (loIn ? v < lo : v <= lo) return false;
    return hiIn ? v <= hi : v < hi;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// anything-but

const ANYTHING_BUT_NESTED = new Set(['prefix', 'suffix', 'equals-ignore-case', 'wildcard']);

function anythingButOperator(operand: unknown, path: string): ValuePredicate {
  if (typeof operand === 'string') return (v) => v !== operand;
  if (typeof operand === 'number') {
    const n = numericValue(operand, path, 'anything-but');
    return (v) => v !== n;
  }
  if (Array.isArray(operand)) {
    if (operand.length === 0) throw new PatternError(path, 'anything-but list must not be empty');
    const strings = new Set<string>();
    const numbers = new Set<number>();
    for (const item of operand) {
      if (typeof item === 'string') strings.add(item);
      else if (typeof item === 'number') numbers.add(numericValue(item, path, 'anything-but'));
      else {
        throw new PatternError(
          path,
          `anything-but list may hold only strings or only numbers, not ${describe(item)}`,
        );
      }
    }
    if (strings.size > 0 && numbers.size > 0) {
      throw new PatternError(path, 'anything-but list must be all strings or all numbers, not a mix');
    }
    if (strings.size > 0) return (v) => typeof v !== 'string' || !strings.has(v);
    return (v) => typeof v !== 'number' || !numbers.has(v);
  }
  if (isPlainObject(operand)) {
    const inner = Object.keys(operand);
    const name = inner[0];
    if (name === undefined) {
      throw new PatternError(
        path,
        'anything-but object must name prefix, suffix, equals-ignore-case or wildcard',
      );
    }
    if (!ANYTHING_BUT_NESTED.has(name)) {
      throw new PatternError(
        path,
        `unsupported anything-but operator "${name}" (only prefix, suffix, equals-ignore-case, wildcard)`,
      );
    }
    if (inner.length > 1) throw new PatternError(path, 'anything-but object must have a single key');
    const raw = operand[name];
    const texts = Array.isArray(raw) ? raw : [raw];
    if (texts.length === 0) throw new PatternError(path, `anything-but/${name} list must not be empty`);
    const label = `anything-but/${name}`;
    const strings = texts.map((t) => requireString(t, path, label));
    switch (name) {
      case 'prefix':
      case 'suffix': {
        if (strings.some((s) => s === ''))
          throw new PatternError(path, `${label}: empty prefix/suffix not allowed`);
        return name === 'prefix'
          ? (v) => typeof v !== 'string' || !strings.some((s) => v.startsWith(s))
          : (v) => typeof v !== 'string' || !strings.some((s) => v.endsWith(s));
      }
      case 'equals-ignore-case': {
        const tests = strings.map(equalsIgnoreCase);
        return (v) => !tests.some((t) => t(v));
      }
      default: {
        const wildcards = texts.map((t) => requireWildcard(t, path, label));
        return (v) => typeof v !== 'string' || !wildcards.some((w) => wildcardMatches(w, v));
      }
    }
  }
  throw new PatternError(
    path,
    `anything-but takes a string, a number, a list of them, or an object, not ${describe(operand)}`,
  );
}

/** Re-exported for the matcher: whether an exact-value list or a predicate matches one scalar. */
export function leafValueMatches(leaf: LeafTest, v: Scalar): boolean {
  switch (typeof v) {
    case 'string':
      if (leaf.strings?.has(v)) return true;
      if (leaf.ips !== null && looksLikeIp(v)) {
        const hex = ipToHex(v);
        if (hex !== undefined && leaf.ips.has(hex)) return true;
      }
      break;
    case 'number':
      if (leaf.numbers?.has(v)) return true;
      break;
    case 'boolean':
      if (v ? leaf.matchTrue : leaf.matchFalse) return true;
      break;
    default:
      if (v === null && leaf.matchNull) return true;
  }
  const preds = leaf.predicates;
  for (let i = 0; i < preds.length; i++) {
    if ((preds[i] as ValuePredicate)(v)) return true;
  }
  return false;
}

export type { EventPattern };
