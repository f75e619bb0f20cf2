/**
 * The slices of the plan each handler needs at run time. The plan serialises them (core/plan.ts) and the handlers
 * read them back once at init. They were validated at synth (core/config.ts): the handlers only check that what
 * they read has the expected shape, without loading the config schemas on their cold-start path.
 */
import type { HttpTargetConfig, SourceConfig } from './config';

export interface RuntimeSource {
  readonly name: string;
  /** EventBridge `Source` of the source's events. */
  readonly eventSource: string;
  readonly config: SourceConfig;
}

export interface RuntimeTarget {
  readonly name: string;
  readonly config: HttpTargetConfig;
  /** Days an attempt and a failure record are kept. */
  readonly deliveryLogDays: number;
}

/** Parses a runtime slice, failing fast (at init) with the variable's name when it is not what the plan wrote. */
export function parseRuntimeJson<T>(name: string, raw: string, check: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`${name} is not valid JSON`);
  }
  if (!check(value)) throw new Error(`${name} does not hold what the plan writes there`);
  return value;
}

export const isRuntimeSources = (value: unknown): value is RuntimeSource[] =>
  Array.isArray(value) &&
  value.every(
    (s: Partial<RuntimeSource>) =>
      typeof s?.name === 'string' &&
      typeof s.eventSource === 'string' &&
      typeof s.config?.provider === 'string' &&
      typeof s.config.secret?.secretName === 'string',
  );

export const isRuntimeTarget = (value: unknown): value is RuntimeTarget => {
  const t = value as Partial<RuntimeTarget> | null;
  return (
    typeof t?.name === 'string' &&
    typeof t.deliveryLogDays === 'number' &&
    typeof t.config?.url === 'string' &&
    typeof t.config.retry?.maxAttempts === 'number' &&
    Array.isArray(t.config.retry.retryOn)
  );
};
