/**
 * Deployment stages modelled in code. The stack receives one of these as a prop; nothing in `lib/` reads
 * `process.env`.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

export type StageName = 'dev' | 'staging' | 'prod';

export interface StageConfig {
  readonly name: StageName;
  /** How long Lambda and API access logs are kept. */
  readonly logRetention: RetentionDays;
  /** What happens to the event store and payload bucket when the stack is deleted. */
  readonly dataRemovalPolicy: RemovalPolicy;
  /** Powertools log level of every function. */
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** How often the sweeper republishes events whose PutEvents failed. */
  readonly sweepInterval: Duration;
}

export const STAGES: Readonly<Record<StageName, StageConfig>> = {
  dev: {
    name: 'dev',
    logRetention: RetentionDays.ONE_WEEK,
    dataRemovalPolicy: RemovalPolicy.DESTROY,
    logLevel: 'DEBUG',
    sweepInterval: Duration.minutes(5),
  },
  staging: {
    name: 'staging',
    logRetention: RetentionDays.ONE_MONTH,
    dataRemovalPolicy: RemovalPolicy.RETAIN,
    logLevel: 'INFO',
    sweepInterval: Duration.minutes(1),
  },
  prod: {
    name: 'prod',
    logRetention: RetentionDays.THREE_MONTHS,
    dataRemovalPolicy: RemovalPolicy.RETAIN,
    logLevel: 'INFO',
    sweepInterval: Duration.minutes(1),
  },
};

export function stageConfig(name: string): StageConfig {
  if (name in STAGES) return STAGES[name as StageName];
  throw new Error(`Unknown stage "${name}": expected one of ${Object.keys(STAGES).join(', ')}`);
}
