/**
 * The alarm conditions of the plan (core/alarms.ts), evaluated against the local stack's metrics (local/metrics.ts):
 * what a deployment would alarm on, `npm start` reports as log lines — `ALARM dlq-depth pr-agent = 3` when a
 * condition starts to hold, `OK dlq-depth pr-agent = 0` when it no longer does — and so does the router's composite
 * (`ALARM router-unhealthy router = 1`: how many alarms are in ALARM).
 *
 * Each kind reads the same metric as its CloudWatch alarm (lib/alarms.ts), by the same namespace, name and
 * dimensions, over the same period. Two kinds are AWS-only (`LOCAL_DIFFERENCES.alarmsNotEvaluated`).
 */
import {
  type AlarmKind,
  type AlarmPlan,
  alarmLine,
  breaches,
  MIN_OUTCOMES_FOR_RATIO,
  ROUTER,
} from '../core/alarms';
import { DIMENSION, METRIC, METRICS_NAMESPACE } from '../core/metrics';
import type { Dimensions, LocalMetrics } from './metrics';
import { LOCAL_HTTP_API_ID } from './services/http-api';
import { evaluatedLocally } from './topology';

/** Where the alarms find the local queues. */
export interface LocalAlarmQueues {
  /** The queue and DLQ names of a target. */
  target(name: string): { readonly queueName: string; readonly dlqName: string };
  /** The broadcast DLQ's name. */
  readonly broadcastDlqName: string | undefined;
}

type Value = (metrics: LocalMetrics, alarm: AlarmPlan, queues: LocalAlarmQueues) => number | undefined;

const custom = (service: string, more: Dimensions = {}): Dimensions => ({ service, ...more });
const period = (alarm: AlarmPlan) => alarm.periodSeconds * 1000;
const sqs = (metrics: LocalMetrics, name: string, queueName: string, alarm: AlarmPlan) =>
  metrics.max('AWS/SQS', name, { QueueName: queueName }, period(alarm));

/** The value of each kind, as its CloudWatch alarm computes it; null for the kinds not evaluated locally. */
const VALUES: { readonly [K in AlarmKind]: Value | null } = {
  'dlq-depth': (m, a, q) => sqs(m, 'ApproximateNumberOfMessagesVisible', q.target(a.subject).dlqName, a),
  'oldest-message-age': (m, a, q) =>
    sqs(m, 'ApproximateAgeOfOldestMessage', q.target(a.subject).queueName, a),
  'delivery-failure-ratio': (m, a) => {
    const dims = custom('delivery', { [DIMENSION.target]: a.subject });
    const delivered = m.sum(METRICS_NAMESPACE, METRIC.deliverySucceeded, dims, period(a));
    const failed = m.sum(METRICS_NAMESPACE, METRIC.deliveryFailed, dims, period(a));
    return delivered + failed >= MIN_OUTCOMES_FOR_RATIO ? failed / (delivered + failed) : 0;
  },
  'target-paused': (m, a) =>
    m.latest(METRICS_NAMESPACE, METRIC.targetPaused, custom('delivery', { [DIMENSION.target]: a.subject })),
  'signature-failures': (m, a) =>
    m.sum(
      METRICS_NAMESPACE,
      METRIC.webhookRejected,
      custom('ingest', { [DIMENSION.source]: a.subject, [DIMENSION.reason]: 'invalid_signature' }),
      period(a),
    ),
  'source-throttled': (m, a) => {
    const dims = custom('ingest', { [DIMENSION.source]: a.subject });
    const admitted =
      m.sum(METRICS_NAMESPACE, METRIC.webhookAccepted, dims, period(a)) +
      m.sum(METRICS_NAMESPACE, METRIC.webhookDuplicate, dims, period(a));
    return admitted / a.periodSeconds;
  },
  'ingest-5xx': (m, a) => m.sum('AWS/ApiGateway', '5xx', { ApiId: LOCAL_HTTP_API_ID }, period(a)),
  'ingest-503': (m, a) => m.sum(METRICS_NAMESPACE, METRIC.webhookUnavailable, {}, period(a)),
  'ingest-429': (m, a) => m.sum(METRICS_NAMESPACE, METRIC.webhookThrottled, {}, period(a)),
  'events-poisoned': (m, a) => m.sum(METRICS_NAMESPACE, METRIC.eventsPoisoned, custom('sweeper'), period(a)),
  'oldest-pending-age': (m, a) =>
    m.max(METRICS_NAMESPACE, METRIC.oldestPendingAge, custom('sweeper'), period(a)),
  'broadcast-dlq-depth': (m, a, q) =>
    q.broadcastDlqName === undefined
      ? undefined
      : sqs(m, 'ApproximateNumberOfMessagesVisible', q.broadcastDlqName, a),
  'websocket-errors': null,
  'lambda-errors': (m, a) => m.sum('AWS/Lambda', 'Errors', { FunctionName: a.subject }, period(a)),
  'lambda-throttles': null,
  'lambda-duration': (m, a) =>
    m.percentile('AWS/Lambda', 'Duration', { FunctionName: a.subject }, 99, period(a)),
};

/** One evaluation of one alarm. */
export interface AlarmEvaluation {
  readonly alarm: AlarmPlan;
  /** The value, or undefined when there was no data. */
  readonly value: number | undefined;
  readonly state: 'OK' | 'ALARM';
}

/** The router's composite, as the local stack reports it. */
export const ROUTER_UNHEALTHY = { kind: 'router-unhealthy', subject: ROUTER } as const;

export interface LocalAlarmMonitorOptions {
  readonly alarms: readonly AlarmPlan[];
  readonly metrics: LocalMetrics;
  readonly queues: LocalAlarmQueues;
  /** Brings the sampled metrics (queue depths and ages) up to date before an evaluation. */
  readonly sample: () => void;
  /** Where `ALARM …` and `OK …` lines go. */
  readonly report: (line: string) => void;
}

/**
 * Evaluates the planned alarms, and reports each change of state: a condition that starts to hold (`ALARM`), one
 * that no longer does (`OK`). Alarms start OK and silent; a kind whose missing data keeps the state (a paused target,
 * a DLQ) keeps it while there is no value.
 */
export class LocalAlarmMonitor {
  /** The alarms this monitor evaluates: the plan's, less the AWS-only kinds. */
  readonly alarms: readonly AlarmPlan[];
  private readonly states = new Map<string, 'OK' | 'ALARM'>();
  private routerState: 'OK' | 'ALARM' = 'OK';

  constructor(private readonly options: LocalAlarmMonitorOptions) {
    this.alarms = options.alarms.filter((a) => evaluatedLocally(a.kind));
    for (const a of this.alarms) {
      if (VALUES[a.kind] === null)
        throw new Error(`alarm kind ${a.kind} has no local value and is not listed as AWS-only`);
    }
  }

  /** The state of each alarm now, by id. */
  state(): ReadonlyMap<string, 'OK' | 'ALARM'> {
    return new Map(this.alarms.map((a) => [a.id, this.states.get(a.id) ?? 'OK']));
  }

  /** Evaluates every alarm once and reports what changed. */
  evaluate(): AlarmEvaluation[] {
    this.options.sample();
    const out: AlarmEvaluation[] = [];
    for (const alarm of this.alarms) {
      const value = VALUES[alarm.kind]?.(this.options.metrics, alarm, this.options.queues);
      const before = this.states.get(alarm.id) ?? 'OK';
      const state =
        value === undefined
          ? alarm.missingData === 'keep'
            ? before
            : 'OK'
          : breaches(alarm, value)
            ? 'ALARM'
            : 'OK';
      if (state !== before) this.options.report(alarmLine(state, alarm, value ?? 0));
      this.states.set(alarm.id, state);
      out.push({ alarm, value, state });
    }
    const inAlarm = out.filter((e) => e.state === 'ALARM').length;
    const router = inAlarm > 0 ? 'ALARM' : 'OK';
    if (router !== this.routerState) this.options.report(alarmLine(router, ROUTER_UNHEALTHY, inAlarm));
    this.routerState = router;
    return out;
  }

  /** Evaluates every `intervalMs` until the returned stop is called. */
  start(intervalMs: number): () => Promise<void> {
    const timer = setInterval(() => {
      try {
        this.evaluate();
      } catch (error) {
        this.options.report(`alarm evaluation failed: ${(error as Error).message}`);
      }
    }, intervalMs);
    timer.unref();
    return async () => clearInterval(timer);
  }
}
