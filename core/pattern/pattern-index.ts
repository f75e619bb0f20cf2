/**
 * Many compiled patterns against one event. Each `$or` alternative of each pattern is filed under one "anchor"
 * field: a leaf that can only match through exact values or case-sensitive prefixes (so the event must carry one
 * of those values at that path for the alternative to match). Matching an event looks up the event's values at
 * the anchored paths and evaluates only the alternatives found there, plus the few that have no such leaf.
 * The anchor is chosen when a pattern is added: the candidate leaf whose buckets are currently smallest.
 */
import { compileAlternatives } from './compile';
import { collectLeaves, matchNode } from './match';
import { type LeafTest, type NodeTest, type Scalar, scalarKey } from './types';

interface Registered<K> {
  readonly key: K;
  readonly seq: number;
  readonly alternatives: Alternative<K>[];
  stamp: number;
}

interface Alternative<K> {
  readonly owner: Registered<K>;
  readonly node: NodeTest;
  anchor: PathIndex<K> | null;
  keys: readonly string[];
  prefixes: readonly string[];
  stamp: number;
}

interface PathIndex<K> {
  readonly keys: readonly string[];
  readonly exact: Map<string, Set<Alternative<K>>>;
  readonly prefix: Map<string, Set<Alternative<K>>>;
  /** Distinct prefix lengths in use → how many prefix buckets have that length. */
  readonly prefixLengths: Map<number, number>;
  size: number;
}

interface Candidate {
  readonly keys: readonly string[];
  readonly leaf: LeafTest;
}

function anchorCandidates(node: NodeTest, keys: readonly string[], out: Candidate[]): void {
  for (const f of node.fields) {
    const here = [...keys, f.key];
    if (f.leaf !== null && f.leaf.indexKeys !== null) out.push({ keys: here, leaf: f.leaf });
    if (f.node !== null) anchorCandidates(f.node, here, out);
  }
}

const pathId = (keys: readonly string[]) => JSON.stringify(keys);

export class PatternIndex<K> {
  private readonly entries = new Map<K, Registered<K>>();
  private readonly paths = new Map<string, PathIndex<K>>();
  private readonly unanchored = new Set<Alternative<K>>();
  private seq = 0;
  private stamp = 0;
  private evaluated = 0;

  /** Adds (or replaces) the pattern registered under `key`. Throws PatternError for an invalid pattern. */
  add(key: K, pattern: unknown): void {
    const compiled = compileAlternatives(pattern);
    this.remove(key);
    const owner: Registered<K> = { key, seq: this.seq++, alternatives: [], stamp: 0 };
    for (const node of compiled.alternatives) {
      const alt: Alternative<K> = { owner, node, anchor: null, keys: [], prefixes: [], stamp: 0 };
      owner.alternatives.push(alt);
      this.file(alt);
    }
    this.entries.set(key, owner);
  }

  remove(key: K): void {
    const owner = this.entries.get(key);
    if (owner === undefined) return;
    for (const alt of owner.alternatives) this.unfile(alt);
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** How many pattern alternatives the last `match` evaluated (the rest were skipped by the index). */
  get lastEvaluatedCount(): number {
    return this.evaluated;
  }

  /** Keys of the patterns that match the event, in the order they were added. */
  match(event: unknown): K[] {
    this.evaluated = 0;
    if (this.entries.size === 0) return [];
    const stamp = ++this.stamp;
    const hits: Registered<K>[] = [];
    const consider = (alt: Alternative<K>) => {
      if (alt.stamp === stamp || alt.owner.stamp === stamp) return;
      alt.stamp = stamp;
      this.evaluated++;
      if (matchNode(alt.node, event)) {
        alt.owner.stamp = stamp;
        hits.push(alt.owner);
      }
    };
    for (const alt of this.unanchored) consider(alt);
    if (typeof event === 'object' && event !== null) {
      const values: Scalar[] = [];
      for (const index of this.paths.values()) {
        if (index.size === 0) continue;
        values.length = 0;
        collectLeaves(event, index.keys, 0, values);
        for (const v of values) {
          const bucket = index.exact.get(scalarKey(v));
          if (bucket !== undefined) for (const alt of bucket) consider(alt);
          if (typeof v === 'string' && index.prefixLengths.size > 0) {
            for (const len of index.prefixLengths.keys()) {
              if (len > v.length) continue;
              const pb = index.prefix.get(v.slice(0, len));
              if (pb !== undefined) for (const alt of pb) consider(alt);
            }
          }
        }
      }
    }
    if (hits.length > 1) hits.sort((a, b) => a.seq - b.seq);
    return hits.map((h) => h.key);
  }

  private file(alt: Alternative<K>): void {
    const candidates: Candidate[] = [];
    anchorCandidates(alt.node, [], candidates);
    let best: Candidate | undefined;
    let bestCost = Number.POSITIVE_INFINITY;
    for (const c of candidates) {
      const index = this.paths.get(pathId(c.keys));
      let cost = 0;
      for (const k of c.leaf.indexKeys ?? []) cost += index?.exact.get(k)?.size ?? 0;
      for (const p of c.leaf.indexPrefixes) cost += (index?.prefix.get(p)?.size ?? 0) + 1;
      // Slight preference for exact-only leaves and deeper paths when the buckets are equally full.
      cost += c.leaf.indexPrefixes.length > 0 ? 0.5 : 0;
      cost -= c.keys.length * 0.01;
      if (cost < bestCost) {
        bestCost = cost;
        best = c;
      }
    }
    if (best === undefined) {
      this.unanchored.add(alt);
      return;
    }
    const id = pathId(best.keys);
    let index = this.paths.get(id);
    if (index === undefined) {
      index = { keys: best.keys, exact: new Map(), prefix: new Map(), prefixLengths: new Map(), size: 0 };
      this.paths.set(id, index);
    }
    alt.anchor = index;
    alt.keys = best.leaf.indexKeys ?? [];
    alt.prefixes = best.leaf.indexPrefixes;
    for (const k of alt.keys) addTo(index.exact, k, alt);
    for (const p of alt.prefixes) {
      if (addTo(index.prefix, p, alt)) {
        index.prefixLengths.set(p.length, (index.prefixLengths.get(p.length) ?? 0) + 1);
      }
    }
    index.size++;
  }

  private unfile(alt: Alternative<K>): void {
    const index = alt.anchor;
    if (index === null) {
      this.unanchored.delete(alt);
      return;
    }
    for (const k of alt.keys) removeFrom(index.exact, k, alt);
    for (const p of alt.prefixes) {
      if (removeFrom(index.prefix, p, alt)) {
        const n = (index.prefixLengths.get(p.length) ?? 1) - 1;
        if (n === 0) index.prefixLengths.delete(p.length);
        else index.prefixLengths.set(p.length, n);
      }
    }
    index.size--;
    if (index.size === 0) this.paths.delete(pathId(index.keys));
  }
}

/** Adds to a bucket; true when the bucket was created. */
function addTo<K>(map: Map<string, Set<Alternative<K>>>, key: string, alt: Alternative<K>): boolean {
  const bucket = map.get(key);
  if (bucket !== undefined) {
    bucket.add(alt);
    return false;
  }
  map.set(key, new Set([alt]));
  return true;
}

/** Removes from a bucket; true when the bucket became empty and was deleted. */
function removeFrom<K>(map: Map<string, Set<Alternative<K>>>, key: string, alt: Alternative<K>): boolean {
  const bucket = map.get(key);
  if (bucket === undefined) return false;
  bucket.delete(alt);
  if (bucket.size > 0) return false;
  map.delete(key);
  return true;
}
