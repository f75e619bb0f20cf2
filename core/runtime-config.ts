/**
 * The slices of the plan each handler needs at run time, serialised into its environment by the CDK stack and
 * the local runtime alike, and parsed back (with the same schemas) by the handlers.
 */
import type { z } from 'zod';
import { object, string } from 'zod';
import { HttpTargetSchema, SourceSchema } from './config';
import type { SourcePlan, TargetPlan } from './plan';

export const RuntimeSourceSchema = object({
  name: string(),
  eventSource: string(),
  config: SourceSchema,
});
export type RuntimeSource = z.infer<typeof RuntimeSourceSchema>;

export const RuntimeTargetSchema = object({
  name: string(),
  config: HttpTargetSchema,
  /** Secrets Manager id (ARN or name) of the target's Standard Webhooks signing secret. */
  signingSecretId: string().min(1),
});
export type RuntimeTarget = z.infer<typeof RuntimeTargetSchema>;

export function toRuntimeSources(sources: readonly SourcePlan[]): RuntimeSource[] {
  return sources.map((s) => ({ name: s.name, eventSource: s.eventSource, config: s.config }));
}

export function toRuntimeTarget(target: TargetPlan, signingSecretId: string): RuntimeTarget {
  return { name: target.name, config: target.config, signingSecretId };
}
