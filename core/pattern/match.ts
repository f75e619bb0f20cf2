/**
 * Matching compiled patterns against events (parsed JSON). EventBridge semantics:
 * - a field matches when any of its match values matches any leaf value at that path; arrays in the event are
 *   flattened (an empty array, an object or a missing key has no leaf value);
 * - nested pattern objects walk into event objects; an array of objects matches when one element does;
 * - `exists: false` matches when there is no leaf value; `exists: true` when there is at least one (null counts).
 */
import { leafValueMatches } from './compile';
import type { LeafTest, NodeTest, Scalar } from './types';

/** Event arrays nested deeper than this are not followed (a stack guard; real events never get close). */
const MAX_ARRAY_DEPTH = 64;

const hasOwn = Object.prototype.hasOwnProperty;

/** The value at `key` of an object, own properties only (so `toString` or `__proto__` are never inherited). */
export function ownValue(obj: object, key: string): unknown {
  return hasOwn.call(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

/** Whether one alternative (an AND over fields) matches the value found at its position. */
export function matchNode(node: NodeTest, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return node.acceptsAbsent;
  if (!Array.isArray(value)) return matchObject(node, value);
  const r = matchArrayOfObjects(node, value, 0);
  return r === 1 || (r === 0 && node.acceptsAbsent);
}

/** 1: an element matched; -1: objects seen, none matched; 0: no object element at all. */
function matchArrayOfObjects(node: NodeTest, values: readonly unknown[], depth: number): number {
  let sawObject = 0;
  for (let i = 0; i < values.length; i++) {
    const el = values[i];
    if (typeof el !== 'object' || el === null) continue;
    if (Array.isArray(el)) {
      if (depth >= MAX_ARRAY_DEPTH) continue;
      const r = matchArrayOfObjects(node, el, depth + 1);
      if (r === 1) return 1;
      if (r === -1) sawObject = -1;
    } else {
      if (matchObject(node, el)) return 1;
      sawObject = -1;
    }
  }
  return sawObject === -1 ? -1 : 0;
}

export function matchObject(node: NodeTest, obj: object): boolean {
  const fields = node.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as NodeTest['fields'][number];
    const v = hasOwn.call(obj, f.key) ? (obj as Record<string, unknown>)[f.key] : undefined;
    if (f.leaf !== null && !matchLeaf(f.leaf, v)) return false;
    if (f.node !== null && !matchNode(f.node, v)) return false;
  }
  return true;
}

export function matchLeaf(leaf: LeafTest, value: unknown): boolean {
  if (value === undefined) return leaf.existsFalse;
  if (typeof value !== 'object' || value === null) {
    return leaf.existsTrue || leafValueMatches(leaf, value as Scalar);
  }
  if (!Array.isArray(value)) return leaf.existsFalse;
  const r = matchArrayLeaves(leaf, value, 0);
  if (r === 1) return true;
  return r === 0 ? leaf.existsFalse : false;
}

/** 1: a leaf value matched (or exists:true and there is one); -1: leaf values seen, none matched; 0: none. */
function matchArrayLeaves(leaf: LeafTest, values: readonly unknown[], depth: number): number {
  let saw = 0;
  for (let i = 0; i < values.length; i++) {
    const el = values[i];
    if (Array.isArray(el)) {
      if (depth >= MAX_ARRAY_DEPTH) continue;
      const r = matchArrayLeaves(leaf, el, depth + 1);
      if (r === 1) return 1;
      if (r === -1) saw = -1;
    } else if (typeof el !== 'object' || el === null) {
      if (leaf.existsTrue || leafValueMatches(leaf, el as Scalar)) return 1;
      saw = -1;
    }
  }
  return saw;
}

/** Every leaf (scalar) value reachable at `keys` from `value`, walking through arrays at every level. */
export function collectLeaves(
  value: unknown,
  keys: readonly string[],
  at: number,
  out: Scalar[],
  depth = 0,
): void {
  if (depth > MAX_ARRAY_DEPTH) return;
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const el of value) collectLeaves(el, keys, at, out, depth + 1);
    return;
  }
  const v = ownValue(value, keys[at] as string);
  if (at === keys.length - 1) pushScalars(v, out, 0);
  else collectLeaves(v, keys, at + 1, out, depth);
}

function pushScalars(value: unknown, out: Scalar[], depth: number): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null) {
    out.push(value as Scalar);
    return;
  }
  if (Array.isArray(value) && depth < MAX_ARRAY_DEPTH) {
    for (const el of value) pushScalars(el, out, depth + 1);
  }
}
