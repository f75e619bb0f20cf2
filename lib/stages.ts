/**
 * Deployment stages modelled in code. The stack receives one of these as a prop; nothing in `lib/` reads
 * `process.env`.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { HANDLERS, type HandlerName } from '../core/plan';
import type { StageName } from '../core/stages';
import type { WebSocketAccessLogs } from './live-stream';

export type { StageName };

export interface StageConfig {
  readonly name: StageName;
  /** How long Lambda and API access logs are kept. */
  readonly logRetention: RetentionDays;
  /** What happens to the event store and payload bucket when the stack is deleted. */
  readonly dataRemovalPolicy: RemovalPolicy;
  /** Powertools log level of every function. */
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * Share of invocations that log at DEBUG whatever `logLevel` says (Powertools' POWERTOOLS_LOGGER_SAMPLE_RATE,
   * decided anew for every invocation): the detail of a few requests without the cost of all.
   */
  readonly logSampleRate: number;
  /**
   * Functions that start X-Ray traces (tracing mode Active: Lambda samples the first request each second and 5 % of
   * the others, a rate nobody can change: X-Ray sampling rules apply to API Gateway REST APIs, AppSync, Step Functions
   * and SDK-instrumented hosts, not to Lambda, https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html);
   * the others are PassThrough: they start no trace and pass an upstream trace context on without segments of their
   * own (https://aws.amazon.com/blogs/compute/streamlining-trace-sampling-behavior-for-aws-lambda-functions-with-aws-x-ray/). At volume a trace per request would cost more than the rest of the
   * stack, so prod traces the webhook path (ingest) and deliveries only.
   */
  readonly activeTracing: readonly HandlerName[];
  /** How often the sweeper republishes events whose PutEvents failed. */
  readonly sweepInterval: Duration;
  /**
   * Access logs of the WebSocket stage; anything but `off` needs the account's API Gateway CloudWatch Logs role
   * (see WebSocketAccessLogs). Override with `cdk deploy -c websocketAccessLogs=account-role-exists`.
   */
  readonly websocketAccessLogs: WebSocketAccessLogs;
}

export const STAGES: Readonly<Record<StageName, StageConfig>> = {
  dev: {
    name: 'dev',
    logRetention: RetentionDays.ONE_WEEK,
    dataRemovalPolicy: RemovalPolicy.DESTROY,
    logLevel: 'DEBUG',
    logSampleRate: 0,
    activeTracing: HANDLERS,
    sweepInterval: Duration.minutes(5),
    websocketAccessLogs: 'off',
  },
  staging: {
    name: 'staging',
    logRetention: RetentionDays.ONE_MONTH,
    dataRemovalPolicy: RemovalPolicy.RETAIN,
    logLevel: 'INFO',
    logSampleRate: 0.1,
    activeTracing: HANDLERS,
    sweepInterval: Duration.minutes(1),
    websocketAccessLogs: 'off',
  },
  prod: {
    name: 'prod',
    logRetention: RetentionDays.THREE_MONTHS,
    dataRemovalPolicy: RemovalPolicy.RETAIN,
    logLevel: 'INFO',
    logSampleRate: 0.01,
    activeTracing: ['ingest', 'delivery'],
    sweepInterval: Duration.minutes(1),
    websocketAccessLogs: 'off',
  },
};

const ACCESS_LOG_SETTINGS: readonly WebSocketAccessLogs[] = [
  'off',
  'account-role-exists',
  'create-account-role',
];

/** A stage by name, with the `websocketAccessLogs` context value when given. */
export function stageConfig(name: string, websocketAccessLogs?: unknown): StageConfig {
  if (!(name in STAGES)) {
    throw new Error(`Unknown stage "${name}": expected one of ${Object.keys(STAGES).join(', ')}`);
  }
  const stage = STAGES[name as StageName];
  if (websocketAccessLogs === undefined) return stage;
  if (!ACCESS_LOG_SETTINGS.includes(websocketAccessLogs as WebSocketAccessLogs)) {
    throw new Error(
      `websocketAccessLogs must be one of ${ACCESS_LOG_SETTINGS.join(', ')}, got "${String(websocketAccessLogs)}"`,
    );
  }
  return { ...stage, websocketAccessLogs: websocketAccessLogs as WebSocketAccessLogs };
}
