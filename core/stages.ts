/**
 * The deployment stages. `lib/stages.ts` gives each its AWS settings (log retention, removal policy, tracing…); the
 * plan takes each stage's alarm defaults from `core/alarms.ts`. The local stack plans as `dev`.
 */
export const STAGE_NAMES = ['dev', 'staging', 'prod'] as const;
export type StageName = (typeof STAGE_NAMES)[number];
