/**
 * EventBridge event patterns in pure TypeScript: validation with EventBridge's rules, compiled matching with
 * EventBridge's semantics, an index for matching one event against many patterns, and small builders.
 * See docs/patterns.md.
 */
import { type CompileOptions, compileAlternatives } from './compile';
import { type EventPattern, PatternError } from './errors';
import { matchNode } from './match';
import type { NodeTest } from './types';

export * from './builders';
export { type CompileOptions, MAX_COMBINATIONS, OPERATORS } from './compile';
export { type EventPattern, PatternError } from './errors';
export { NUMERIC_LIMIT, NUMERIC_MAX_DECIMALS } from './numeric';
export { PatternIndex } from './pattern-index';

/** Throws PatternError when EventBridge would reject the pattern (or it expands beyond `options.maxCombinations`). */
export function validatePattern(pattern: unknown, options?: CompileOptions): asserts pattern is EventPattern {
  compileAlternatives(pattern, options);
}

export interface CompiledPattern {
  readonly pattern: EventPattern;
  matches(event: unknown): boolean;
}

/** Validates and compiles a pattern once, for matching many events. Throws PatternError. */
export function compilePattern(pattern: unknown): CompiledPattern {
  const { alternatives } = compileAlternatives(pattern);
  const validated = pattern as EventPattern;
  if (alternatives.length === 1) {
    const only = alternatives[0] as NodeTest;
    return { pattern: validated, matches: (event) => matchNode(only, event) };
  }
  return {
    pattern: validated,
    matches: (event) => {
      for (const alt of alternatives) if (matchNode(alt, event)) return true;
      return false;
    },
  };
}

/** One-off match (compiles the pattern each call; use compilePattern to match many events). */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern).matches(event);
}

/** Type guard form of validatePattern: the PatternError, or undefined when the pattern is valid. */
export function patternProblem(pattern: unknown): PatternError | undefined {
  try {
    compileAlternatives(pattern);
    return undefined;
  } catch (error) {
    if (error instanceof PatternError) return error;
    throw error;
  }
}
