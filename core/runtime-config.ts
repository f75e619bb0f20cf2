/**
 * The slices of the plan each handler needs at run time. The plan serialises them (core/plan.ts) and the handlers
 * read them back once at init. They were validated at synth (core/config.ts): the handlers only check that what
 * they read has the expected shape, without loading the config schemas on their cold-start path.
 */
import type { SourceConfig, TargetConfig } from './config';
import { TARGET_KINDS } from './contracts';

export interface RuntimeSource {
  readonly name: string;
  /** EventBridge `Source` of the source's events. */
  readonly eventSource: string;
  readonly config: SourceConfig;
}

export interface RuntimeTarget {
  readonly name: string;
  readonly config: TargetConfig;
  /** Days an attempt and a failure record are kept. */
  readonly deliveryLogDays: number;
}

/** The runtime config of the ingest and routes functions (ingest's also names the ordered targets, if any). */
export interface SourcesRuntime extends Partial<OrderedTargetsRuntime> {
  readonly sources: readonly RuntimeSource[];
}

/** The runtime config of a delivery function. */
export interface DeliveryRuntime {
  readonly target: RuntimeTarget;
}

/** The runtime config of the sweeper. */
export interface SweeperRuntime extends Partial<OrderedTargetsRuntime> {
  /** Backoff between publish attempts of one event (ms). */
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
}

/** Parses a function's runtime config, failing fast (at init) when it is not what the plan wrote. */
export function parseRuntime<T>(where: string, raw: string, check: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`${where} is not valid JSON`);
  }
  if (!check(value)) throw new Error(`${where} does not hold what the plan writes there`);
  return value;
}

export const isSourcesRuntime = (value: unknown): value is SourcesRuntime =>
  Array.isArray((value as Partial<SourcesRuntime> | null)?.sources) &&
  (value as SourcesRuntime).sources.every(
    (s: Partial<RuntimeSource>) =>
      typeof s?.name === 'string' &&
      typeof s.eventSource === 'string' &&
      typeof s.config?.provider === 'string' &&
      typeof s.config.secret?.secretName === 'string',
  );

export const isDeliveryRuntime = (value: unknown): value is DeliveryRuntime => {
  const t = (value as Partial<DeliveryRuntime> | null)?.target as Partial<RuntimeTarget> | undefined;
  return (
    typeof t?.name === 'string' &&
    typeof t.deliveryLogDays === 'number' &&
    t.config !== undefined &&
    (TARGET_KINDS as readonly unknown[]).includes(t.config.kind) &&
    typeof t.config.retry?.maxAttempts === 'number' &&
    Array.isArray(t.config.retry.retryOn)
  );
};

export const isSweeperRuntime = (value: unknown): value is SweeperRuntime => {
  const b = (value as Partial<SweeperRuntime> | null)?.backoff;
  return (
    typeof b?.initialMs === 'number' &&
    b.initialMs > 0 &&
    typeof b.maxMs === 'number' &&
    b.maxMs >= b.initialMs
  );
};

/** What the management function knows of each target (its queues are found by name: core/queues.ts). */
export interface ManagementTarget {
  readonly name: string;
  readonly kind: string;
  /** Where its events go (a URL, a queue, a function, a bus), for listings. */
  readonly endpoint: string;
  readonly filter: Record<string, unknown>;
  /** Ordered delivery: its queues are FIFO, grouped by this key. */
  readonly ordering?: { readonly key: string };
}

/** A target with ordered delivery, as the functions that publish events see it. */
export interface OrderedTargetRuntime {
  readonly name: string;
  readonly filter: Record<string, unknown>;
  /** Dot path of the envelope field whose value is the FIFO message group (core/ordering.ts). */
  readonly key: string;
}

/**
 * Part of the ingest, sweeper and management runtime configs when some target is ordered: those functions send each
 * event they publish to the ordered targets' FIFO queues themselves (core/plan.ts, TargetPlan.ordering).
 */
export interface OrderedTargetsRuntime {
  readonly orderedTargets: readonly OrderedTargetRuntime[];
}

/** The ordered targets of a runtime config (none when it has no `orderedTargets`). */
export function orderedTargetsOf(value: Partial<OrderedTargetsRuntime>): readonly OrderedTargetRuntime[] {
  const targets = value.orderedTargets ?? [];
  if (
    !Array.isArray(targets) ||
    !targets.every(
      (t) => typeof t?.name === 'string' && typeof t.key === 'string' && typeof t.filter === 'object',
    )
  )
    throw new Error('orderedTargets does not hold what the plan writes there');
  return targets;
}

/** The runtime config of the management function. */
export interface ManagementRuntime extends Partial<OrderedTargetsRuntime> {
  readonly targets: readonly ManagementTarget[];
  readonly retentionDays: number;
  readonly dedupeDays: number;
  readonly version: string;
}

export const isManagementRuntime = (value: unknown): value is ManagementRuntime => {
  const v = value as Partial<ManagementRuntime> | null;
  return (
    Array.isArray(v?.targets) &&
    v.targets.every(
      (t: Partial<ManagementTarget>) => typeof t?.name === 'string' && typeof t.filter === 'object',
    ) &&
    typeof v.retentionDays === 'number' &&
    typeof v.dedupeDays === 'number' &&
    typeof v.version === 'string'
  );
};

/**
 * What the connections function verifies OIDC tokens with: `liveStream.oidc` with its defaults filled and the
 * audience as a list (core/config.ts).
 */
export interface OidcRuntime {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly jwksUri?: string;
  readonly patternsClaim: string;
  readonly defaultPatterns?: readonly Record<string, unknown>[];
  readonly nameClaim: string;
  readonly maxConnections: number;
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
}

/** The runtime config of the connections function (`oidc` only when the config names an issuer). */
export interface ConnectionsRuntime {
  readonly oidc?: OidcRuntime;
}

const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string');

export const isConnectionsRuntime = (value: unknown): value is ConnectionsRuntime => {
  if (value === null || typeof value !== 'object') return false;
  const o = (value as { oidc?: Partial<OidcRuntime> }).oidc;
  if (o === undefined) return true;
  return (
    typeof o?.issuer === 'string' &&
    isStrings(o.audience) &&
    (o.jwksUri === undefined || typeof o.jwksUri === 'string') &&
    typeof o.patternsClaim === 'string' &&
    (o.defaultPatterns === undefined || Array.isArray(o.defaultPatterns)) &&
    typeof o.nameClaim === 'string' &&
    typeof o.maxConnections === 'number' &&
    isStrings(o.algorithms) &&
    typeof o.clockToleranceSeconds === 'number'
  );
};
