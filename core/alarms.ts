/**
 * The router's alarms as data. `planAlarms` (called by the plan, core/plan.ts) turns the stage's default thresholds
 * and the router config's overrides into one list; `lib/alarms.ts` makes a CloudWatch alarm of each entry (on the
 * constructs' metric methods) and `local/alarms.ts` evaluates the same entries against the local stack's counters
 * and queues, so that `npm start` reports the conditions a deployment would alarm on.
 *
 * Every alarm evaluates one period (a single datapoint): the value is already a sum, a maximum or a percentile over
 * that period, so the local evaluation, which has no notion of datapoints, computes the same thing.
 */
import type { RouterConfig, SourceConfig, TargetConfig } from './config';
import { deliveryTimeoutSeconds } from './queues';
import { worstCaseSeconds } from './retry';
import type { StageName } from './stages';

/** Thresholds of one target's alarms. */
export interface TargetThresholds {
  /** Messages in the target's DLQ: alarm above this (0: any). */
  readonly dlqDepth: number;
  /**
   * Age of the oldest message in the target's queue, in seconds: alarm at or above. A default never goes below the
   * target's own worst-case retry schedule (a message being retried on schedule is not stuck).
   */
  readonly oldestMessageAgeSeconds: number;
  /** Events that failed for good among those that finished in 5 minutes: alarm at or above this share. */
  readonly failureRatio: number;
}

/** Thresholds of one source's alarms. */
export interface SourceThresholds {
  /** Signature failures (401) in 5 minutes: alarm at or above. */
  readonly signatureFailures: number;
  /** Share of the source route's throttle (`rateLimitPerSecond`) its traffic reaches over 5 minutes: alarm at or above. */
  readonly throttleShare: number;
}

/** Thresholds of the router's own alarms (ingest, sweeper, live stream, every function). */
export interface RouterThresholds {
  /** 5xx answers of the webhook API in 5 minutes. */
  readonly ingest5xx: number;
  /** 503 answers (storage or secret store unavailable) in 5 minutes. */
  readonly ingest503: number;
  /** 429 answers (throttled) in 5 minutes. */
  readonly ingest429: number;
  /** Events set aside as poisoned in 5 minutes: alarm above this (0: any). */
  readonly poisonedEvents: number;
  /** Age of the oldest accepted event not yet published, in seconds. */
  readonly oldestPendingAgeSeconds: number;
  /** Messages in the broadcast DLQ: alarm above this (0: any). */
  readonly broadcastDlqDepth: number;
  /** WebSocket API execution errors (calling the connections function failed) in 5 minutes. */
  readonly websocketErrors: number;
  /** A function's errors (crashes, timeouts) in 5 minutes. */
  readonly lambdaErrors: number;
  /** A function's throttled invocations in 5 minutes. */
  readonly lambdaThrottles: number;
  /** A function's p99 duration over 5 minutes as a share of its timeout. */
  readonly durationShareOfTimeout: number;
}

export type Thresholds = TargetThresholds & SourceThresholds & RouterThresholds;

/**
 * Defaults per stage: dev tolerates more (it is where things break on purpose), prod tells early. A DLQ that holds a
 * message, a poisoned event or a broadcast that was set aside alarm in every stage: each is an event someone has to
 * look at.
 */
export const STAGE_THRESHOLDS: Readonly<Record<StageName, Thresholds>> = {
  dev: {
    dlqDepth: 0,
    oldestMessageAgeSeconds: 3600,
    failureRatio: 0.5,
    signatureFailures: 20,
    throttleShare: 0.9,
    ingest5xx: 10,
    ingest503: 10,
    ingest429: 50,
    poisonedEvents: 0,
    oldestPendingAgeSeconds: 1800,
    broadcastDlqDepth: 0,
    websocketErrors: 20,
    lambdaErrors: 10,
    lambdaThrottles: 10,
    durationShareOfTimeout: 0.9,
  },
  staging: {
    dlqDepth: 0,
    oldestMessageAgeSeconds: 1800,
    failureRatio: 0.25,
    signatureFailures: 10,
    throttleShare: 0.8,
    ingest5xx: 5,
    ingest503: 5,
    ingest429: 20,
    poisonedEvents: 0,
    oldestPendingAgeSeconds: 900,
    broadcastDlqDepth: 0,
    websocketErrors: 10,
    lambdaErrors: 5,
    lambdaThrottles: 5,
    durationShareOfTimeout: 0.8,
  },
  prod: {
    dlqDepth: 0,
    oldestMessageAgeSeconds: 900,
    failureRatio: 0.1,
    signatureFailures: 10,
    throttleShare: 0.8,
    ingest5xx: 5,
    ingest503: 3,
    ingest429: 10,
    poisonedEvents: 0,
    oldestPendingAgeSeconds: 600,
    broadcastDlqDepth: 0,
    websocketErrors: 5,
    lambdaErrors: 3,
    lambdaThrottles: 1,
    durationShareOfTimeout: 0.8,
  },
};

/**
 * The failure ratio is only meaningful over enough outcomes: below this many (delivered + failed) in 5 minutes the
 * ratio counts as 0 — one failure out of two deliveries at night is not an incident.
 */
export const MIN_OUTCOMES_FOR_RATIO = 10;

/** Window of every counted alarm (sums, ratios, rates, percentiles). */
export const COUNT_PERIOD_SECONDS = 300;
/** Window of every level alarm (queue depth, message age, paused). */
export const LEVEL_PERIOD_SECONDS = 60;

export const ALARM_KINDS = [
  'dlq-depth',
  'oldest-message-age',
  'delivery-failure-ratio',
  'target-paused',
  'signature-failures',
  'source-throttled',
  'ingest-5xx',
  'ingest-503',
  'ingest-429',
  'events-poisoned',
  'oldest-pending-age',
  'broadcast-dlq-depth',
  'websocket-errors',
  'lambda-errors',
  'lambda-throttles',
  'lambda-duration',
] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

/** What an alarm is about: one target, one source, one function, or the router as a whole. */
export type AlarmScope = 'target' | 'source' | 'function' | 'router';

export interface AlarmKindInfo {
  readonly scope: AlarmScope;
  /** How the value compares with the threshold to alarm. */
  readonly comparison: '>' | '>=';
  readonly periodSeconds: number;
  /**
   * No data in a period: `ok` — nothing happened, the condition does not hold; `keep` — the last state stays (a state
   * reported only when it changes, such as a paused target; a dead-letter queue, whose metrics SQS publishes only
   * while the queue is active: a DLQ nobody touches must not look empty).
   */
  readonly missingData: 'ok' | 'keep';
  /** Unit of the value (and the threshold). */
  readonly unit: 'messages' | 'seconds' | 'ratio' | 'count' | 'per second' | 'ms' | 'paused';
  /** What the value is. */
  readonly value: string;
  /** What it means when the alarm fires. */
  readonly meaning: string;
  /** What to do. */
  readonly action: string;
}

export const ALARM_INFO: Readonly<Record<AlarmKind, AlarmKindInfo>> = {
  'dlq-depth': {
    scope: 'target',
    comparison: '>',
    periodSeconds: LEVEL_PERIOD_SECONDS,
    missingData: 'keep',
    unit: 'messages',
    value: "messages in the target's dead-letter queue",
    meaning:
      'Events failed for good: their last attempt failed, the target refused them at once, or EventBridge could not ' +
      'put them on the queue. Each one is also recorded in the event store (FAILED#<target>).',
    action:
      'Read the failure records or the "Recent failed deliveries" widget for the reason, fix the target (or its ' +
      'config), then redrive the DLQ into the queue (aws sqs start-message-move-task).',
  },
  'oldest-message-age': {
    scope: 'target',
    comparison: '>=',
    periodSeconds: LEVEL_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'seconds',
    value: "age of the oldest message in the target's queue",
    meaning:
      'Events wait longer than any retry schedule explains: the target is paused (410 or breaker), slow, rate ' +
      'limited below its traffic, or its delivery function keeps failing.',
    action:
      'Check target-paused and lambda-errors of its delivery function; raise concurrency or rateLimitPerSecond if the ' +
      'target keeps up; resume a paused target once it is back.',
  },
  'delivery-failure-ratio': {
    scope: 'target',
    comparison: '>=',
    periodSeconds: COUNT_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'ratio',
    value: `failed / (delivered + failed) over 5 minutes, 0 below ${MIN_OUTCOMES_FOR_RATIO} outcomes`,
    meaning:
      'A large share of the events that finished failed for good: the target rejects them or keeps failing.',
    action:
      "Look at the failures' statuses: 4xx means the target refuses the payload (a transform, a schema change); 5xx " +
      'and timeouts mean it is down. Fix, then redrive the DLQ.',
  },
  'target-paused': {
    scope: 'target',
    comparison: '>=',
    periodSeconds: LEVEL_PERIOD_SECONDS,
    missingData: 'keep',
    unit: 'paused',
    value: "1 while the target's queue is paused, 0 once it is consumed again",
    meaning:
      'The circuit breaker opened (the target kept failing) or the target answered 410 Gone. Events wait in its ' +
      'queue; nothing is lost while they are younger than 14 days.',
    action:
      'A breaker closes by itself once a probe succeeds. A 410 pauses until you resume it: fix the target, then ' +
      'enable its event source mapping (aws lambda update-event-source-mapping --enabled).',
  },
  'signature-failures': {
    scope: 'source',
    comparison: '>=',
    periodSeconds: COUNT_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'count',
    value: 'webhooks of the source answered 401 (invalid signature) in 5 minutes',
    meaning:
      "The source's secret does not match the provider's (every webhook is refused, and the provider gives up " +
      'after its retries), or someone who knows the URL sends forged requests.',
    action:
      'Compare the secret in Secrets Manager with the one set in the provider; during a rotation store both (a JSON ' +
      'array). If the secret is right, rotate the URL token: the URL has leaked.',
  },
  'source-throttled': {
    scope: 'source',
    comparison: '>=',
    periodSeconds: COUNT_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'per second',
    value: "webhooks per second reaching ingest through the source's route, against its throttle",
    meaning:
      "The source's traffic runs at its route's throttle: API Gateway answers the excess 429 before any function " +
      'runs (providers retry later, or give up).',
    action: "Raise the source's rateLimitPerSecond and burstLimit, or ask the provider to send fewer events.",
  },
  'ingest-5xx': {
    scope: 'router',
    comparison: '>=',
    periodSeconds: COUNT_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'count',
    value: 'webhook requests answered 5xx in 5 minutes (API Gateway 5xx of the webhook API)',
    meaning:
      'Webhooks were not accepted: ingest answered 503 (see ingest-503) or failed (crashed, timed out, throttled: ' +
      'API Gateway answers 500).',
    action: 'Check ingest-503 and the ingest function alarms; providers retry, nothing was acknowledged.',
  },
  'ingest-503': {
    scope: 'router',
    comparison: '>=',
    periodSeconds: COUNT_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'count',
    value: 'webhook requests answered 503 in 5 minutes',
    meaning:
      'The event store or the secret store was unavailable: ingest refused rather than acknowledge what it could ' +
      'not store.',
    action:
      'Look at the ingest log lines "storage or secret read failed" for the AWS error (throttling, permissions, an ' +
      'outage). Providers retry with the same delivery id.',
  },
  'ingest-429': {
    scope: 'router',
    comparison: '>=',
    periodSeconds: COUNT_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'count',
    value: 'webhook requests answered 429 in 5 minutes, all routes',
    meaning:
      "Requests were throttled before any function ran: a source's route at its limit (see source-throttled), or " +
      'the catch-all route flooded by requests without a valid URL token.',
    action:
      'If a source-throttled alarm fires too, raise that source. Otherwise someone probes the API: nothing reaches a ' +
      "source's route without its token.",
  },
  'events-poisoned': {
    scope: 'router',
    comparison: '>',
    periodSeconds: COUNT_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'count',
    value: 'accepted events EventBridge refused for good in 5 minutes',
    meaning:
      'The sweeper set accepted events aside (POISONED in the event store): EventBridge refused them with a ' +
      'permanent error. They are stored but were never routed.',
    action:
      'Read the sweeper\'s "set aside as poisoned" log lines for the error, fix the cause, then invoke the sweeper ' +
      'with {"republish": ["<event id>", …]}.',
  },
  'oldest-pending-age': {
    scope: 'router',
    comparison: '>=',
    periodSeconds: COUNT_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'seconds',
    value: 'age of the oldest accepted event not yet published (reported by every sweep)',
    meaning:
      'Accepted events are stored but not routed: publishing to EventBridge keeps failing (throttling, permissions, ' +
      'the bus) and the sweeper is behind.',
    action:
      'Check the sweeper log lines and EventBridge PutEvents errors; the sweeper publishes them once it can.',
  },
  'broadcast-dlq-depth': {
    scope: 'router',
    comparison: '>',
    periodSeconds: LEVEL_PERIOD_SECONDS,
    missingData: 'keep',
    unit: 'messages',
    value: 'messages in the broadcast dead-letter queue',
    meaning:
      'Live events were not pushed: the broadcast function crashed twice on a batch, or EventBridge could not put ' +
      'events on the broadcast queue. HTTP targets are not affected.',
    action:
      'Read the broadcast function errors; live events older than 5 minutes are stale, so purge the DLQ once the ' +
      'cause is fixed.',
  },
  'websocket-errors': {
    scope: 'router',
    comparison: '>=',
    periodSeconds: COUNT_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'count',
    value:
      'WebSocket API execution errors (API Gateway could not call the connections function) in 5 minutes',
    meaning:
      'Agents could not connect, subscribe or ping: calling the connections function failed (it crashed, timed out ' +
      'or was throttled). Refused tokens and patterns are answers, not errors, and do not count.',
    action: 'Check the connections function alarms and logs.',
  },
  'lambda-errors': {
    scope: 'function',
    comparison: '>=',
    periodSeconds: COUNT_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'count',
    value: 'invocations that failed (an exception, a timeout, an out-of-memory) in 5 minutes',
    meaning:
      'The function crashed. For ingest the webhook got a 500 (the provider retries); for delivery and broadcast the ' +
      'batch comes back after its visibility timeout.',
    action: 'Read the function\'s ERROR log lines ("unexpected …") and its X-Ray traces.',
  },
  'lambda-throttles': {
    scope: 'function',
    comparison: '>=',
    periodSeconds: COUNT_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'count',
    value: 'throttled invocations in 5 minutes',
    meaning: "The account's (or the function's reserved) concurrency is used up: invocations were refused.",
    action:
      'Raise the account concurrency quota, or set ingestReservedConcurrency so ingest keeps its share; lower ' +
      'targets[].concurrency if deliveries take it.',
  },
  'lambda-duration': {
    scope: 'function',
    comparison: '>=',
    periodSeconds: COUNT_PERIOD_SECONDS,
    missingData: 'ok',
    unit: 'ms',
    value: "p99 duration over 5 minutes, against the function's timeout",
    meaning: 'Invocations come close to their timeout: the next slow dependency turns them into errors.',
    action:
      'For a delivery function: the target is slow (lower its timeoutSeconds or batchSize); for others: look at the ' +
      'slow segments in X-Ray.',
  },
};

/** One alarm of the plan. */
export interface AlarmPlan {
  /** `<kind>/<subject>`: `dlq-depth/pr-agent`. The CloudWatch alarm is named `<stack>/<id>`. */
  readonly id: string;
  readonly kind: AlarmKind;
  /** What it watches: a target, a source or a function by name, or `router`. */
  readonly subject: string;
  readonly comparison: '>' | '>=';
  /** In the kind's unit: messages, seconds, a ratio, a count per period, webhooks per second, milliseconds. */
  readonly threshold: number;
  readonly periodSeconds: number;
  readonly missingData: 'ok' | 'keep';
}

/** The alarms of a router and where they notify. */
export interface AlarmsPlan {
  readonly stage: StageName;
  /** E-mail addresses subscribed to the notification topic. */
  readonly email: readonly string[];
  readonly alarms: readonly AlarmPlan[];
}

/** The router alarm's subject. */
export const ROUTER = 'router';

/** A function as the alarms see it. */
export interface AlarmedFunction {
  readonly name: string;
  readonly timeoutSeconds: number;
}

const alarm = (kind: AlarmKind, subject: string, threshold: number): AlarmPlan => {
  const info = ALARM_INFO[kind];
  return {
    id: `${kind}/${subject}`,
    kind,
    subject,
    comparison: info.comparison,
    threshold,
    periodSeconds: info.periodSeconds,
    missingData: info.missingData,
  };
};

/** A target's thresholds: its own, else the router-wide overrides, else the stage's (with the retry floor). */
export function targetThresholds(
  target: TargetConfig,
  router: Partial<Thresholds>,
  stage: StageName,
): TargetThresholds {
  const defaults = STAGE_THRESHOLDS[stage];
  const own = target.alarms ?? {};
  const retryFloor = Math.ceil(worstCaseSeconds(target.retry, deliveryTimeoutSeconds(target)));
  return {
    dlqDepth: own.dlqDepth ?? router.dlqDepth ?? defaults.dlqDepth,
    oldestMessageAgeSeconds:
      own.oldestMessageAgeSeconds ??
      router.oldestMessageAgeSeconds ??
      Math.max(defaults.oldestMessageAgeSeconds, retryFloor),
    failureRatio: own.failureRatio ?? router.failureRatio ?? defaults.failureRatio,
  };
}

export function sourceThresholds(
  source: SourceConfig,
  router: Partial<Thresholds>,
  stage: StageName,
): SourceThresholds {
  const defaults = STAGE_THRESHOLDS[stage];
  const own = source.alarms ?? {};
  return {
    signatureFailures: own.signatureFailures ?? router.signatureFailures ?? defaults.signatureFailures,
    throttleShare: own.throttleShare ?? router.throttleShare ?? defaults.throttleShare,
  };
}

/**
 * Every alarm of a router: per target, per source, per function and for the router, in that order. `liveStream`
 * adds the broadcast DLQ and WebSocket alarms.
 */
export function planAlarms(
  config: RouterConfig,
  stage: StageName,
  functions: readonly AlarmedFunction[],
): AlarmsPlan {
  const router = config.alarms.thresholds;
  const t: RouterThresholds = { ...STAGE_THRESHOLDS[stage], ...router };
  const alarms: AlarmPlan[] = [];
  for (const target of config.targets) {
    const th = targetThresholds(target, router, stage);
    alarms.push(
      alarm('dlq-depth', target.name, th.dlqDepth),
      alarm('oldest-message-age', target.name, th.oldestMessageAgeSeconds),
      alarm('delivery-failure-ratio', target.name, th.failureRatio),
      // A state: 1 is paused, whatever the thresholds.
      alarm('target-paused', target.name, 1),
    );
  }
  for (const source of config.sources) {
    const th = sourceThresholds(source, router, stage);
    alarms.push(
      alarm('signature-failures', source.name, th.signatureFailures),
      // In webhooks per second: the share of the route's steady rate.
      alarm('source-throttled', source.name, round(th.throttleShare * source.rateLimitPerSecond)),
    );
  }
  for (const fn of functions) {
    alarms.push(
      alarm('lambda-errors', fn.name, t.lambdaErrors),
      alarm('lambda-throttles', fn.name, t.lambdaThrottles),
      alarm('lambda-duration', fn.name, Math.round(t.durationShareOfTimeout * fn.timeoutSeconds * 1000)),
    );
  }
  alarms.push(
    alarm('ingest-5xx', ROUTER, t.ingest5xx),
    alarm('ingest-503', ROUTER, t.ingest503),
    alarm('ingest-429', ROUTER, t.ingest429),
    alarm('events-poisoned', ROUTER, t.poisonedEvents),
    alarm('oldest-pending-age', ROUTER, t.oldestPendingAgeSeconds),
  );
  if (config.liveStream.enabled) {
    alarms.push(
      alarm('broadcast-dlq-depth', ROUTER, t.broadcastDlqDepth),
      alarm('websocket-errors', ROUTER, t.websocketErrors),
    );
  }
  return { stage, email: config.alarms.email, alarms };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** `ALARM dlq-depth pr-agent = 3`: how the local stack reports an alarm condition (and `OK …` when it clears). */
export function alarmLine(
  state: 'ALARM' | 'OK',
  plan: { readonly kind: string; readonly subject: string },
  value: number,
): string {
  return `${state} ${plan.kind} ${plan.subject} = ${formatValue(value)}`;
}

const formatValue = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(3));

/** Whether a value breaches an alarm's threshold. */
export const breaches = (plan: Pick<AlarmPlan, 'comparison' | 'threshold'>, value: number): boolean =>
  plan.comparison === '>' ? value > plan.threshold : value >= plan.threshold;
