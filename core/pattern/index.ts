/**
 * PLACEHOLDER — replaced by the pattern-engine work (issue 3). Only the exported API is fixed here.
 */
export type EventPattern = { [key: string]: unknown };

export class PatternError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'PatternError';
  }
}

/** Throws PatternError when EventBridge would reject the pattern. */
export function validatePattern(pattern: unknown): asserts pattern is EventPattern {
  if (typeof pattern !== 'object' || pattern === null || Array.isArray(pattern)) {
    throw new PatternError('$', 'a pattern must be a JSON object');
  }
}

export interface CompiledPattern {
  readonly pattern: EventPattern;
  matches(event: unknown): boolean;
}

export function compilePattern(pattern: unknown): CompiledPattern {
  validatePattern(pattern);
  return { pattern, matches: (event) => naiveMatch(pattern, event) };
}

export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern).matches(event);
}

function naiveMatch(pattern: EventPattern, event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const record = event as Record<string, unknown>;
  return Object.entries(pattern).every(([key, rule]) => {
    const value = record[key];
    if (Array.isArray(rule)) return rule.some((r) => r === value);
    return naiveMatch(rule as EventPattern, value);
  });
}

/** Many patterns against one event. */
export class PatternIndex<K> {
  private readonly entries = new Map<K, CompiledPattern>();
  add(key: K, pattern: unknown): void {
    this.entries.set(key, compilePattern(pattern));
  }
  remove(key: K): void {
    this.entries.delete(key);
  }
  get size(): number {
    return this.entries.size;
  }
  match(event: unknown): K[] {
    const out: K[] = [];
    for (const [key, compiled] of this.entries) if (compiled.matches(event)) out.push(key);
    return out;
  }
}
