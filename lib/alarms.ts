import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmRule,
  AlarmState,
  ComparisonOperator,
  CompositeAlarm,
  type IAlarm,
  type IAlarmAction,
  type IMetric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct, type IConstruct } from 'constructs';
import { ALARM_INFO, type AlarmKind, type AlarmPlan, type AlarmsPlan } from '../core/alarms';
import type { DeliveryTarget } from './delivery-target';
import type { LiveStream } from './live-stream';
import type { ManagementApi } from './management-api';
import type { RouterFunction } from './router-function';
import type { WebhookIngest } from './webhook-ingest';

/**
 * A composite alarm's rule may name at most 100 alarms
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html) and be at most 10,240
 * characters long (AlarmRule's maxLength in the AWS::CloudWatch::CompositeAlarm resource schema). Each alarm takes
 * `ALARM("<its ARN>") OR `, some 110 characters, so the length is usually what binds first. Larger groups are split
 * into composites of composites.
 */
export const MAX_COMPOSITE_CHILDREN = 100;
export const MAX_ALARM_RULE_LENGTH = 10_240;
/**
 * `arn:<partition>:cloudwatch:<region>:<account>:alarm:` at its longest (partition `aws-us-gov`, a 14-character
 * region): an alarm's ARN is only known at deploy, so the rule's length is counted with this prefix.
 */
const LONGEST_ALARM_ARN_PREFIX = 'arn:aws-us-gov:cloudwatch:ap-southeast-7:123456789012:alarm:';

/** An alarm with the name it was given (its `alarmName` is a token until deploy). */
interface Named {
  readonly alarm: IAlarm;
  readonly name: string;
}

/** Characters one alarm takes in an any-of rule: `ALARM("<arn>")` and the ` OR ` after it. */
const ruleCost = (name: string) => `ALARM("${LONGEST_ALARM_ARN_PREFIX}${name}") OR `.length;

/**
 * Splits alarms, in order, into groups that each fit one any-of rule: at most MAX_COMPOSITE_CHILDREN alarms and
 * MAX_ALARM_RULE_LENGTH characters (`(`, the alarms joined by ` OR `, `)`), counted with the longest ARN.
 */
export function ruleGroups(names: readonly string[]): string[][] {
  const groups: string[][] = [];
  let group: string[] = [];
  // `(` + `)`, less the last ` OR `, which the rule does not have.
  const empty = 2 - ' OR '.length;
  let length = empty;
  for (const name of names) {
    const cost = ruleCost(name);
    if (empty + cost > MAX_ALARM_RULE_LENGTH)
      throw new Error(`alarm name too long for a composite rule: ${name}`);
    if (group.length === MAX_COMPOSITE_CHILDREN || length + cost > MAX_ALARM_RULE_LENGTH) {
      groups.push(group);
      group = [];
      length = empty;
    }
    group.push(name);
    length += cost;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

export interface RouterAlarmsProps {
  /** The planned alarms (core/alarms.ts): one CloudWatch alarm each. */
  readonly plan: AlarmsPlan;
  readonly ingest: WebhookIngest;
  readonly targets: readonly DeliveryTarget[];
  /**
   * @default - no live stream alarms (the plan has none either)
   */
  readonly liveStream?: LiveStream;
  /**
   * The management API's function (its errors, throttles and duration are watched like every function's).
   * @default - no management function alarms (the plan has none either)
   */
  readonly management?: ManagementApi;
  /**
   * Every alarm is named `<prefix>/<kind>/<subject>` (`EventRouter-prod/dlq-depth/pr-agent`): readable in a
   * notification, unique per stack.
   * @default - the stack's name
   */
  readonly alarmNamePrefix?: string;
}

/** What the alarms watch, by plan name. */
interface Watched {
  readonly ingest: WebhookIngest;
  target(name: string): DeliveryTarget;
  fn(name: string): RouterFunction;
  live(): LiveStream;
}

/**
 * The metric of each kind of alarm, always from a construct's metric method (the dashboard charts the same ones).
 * The compiler holds this list to ALARM_KINDS.
 */
const METRICS: {
  readonly [K in AlarmKind]: (w: Watched, subject: string, period: Duration) => IMetric;
} = {
  'dlq-depth': (w, s, period) => w.target(s).metricDlqDepth({ period }),
  'oldest-message-age': (w, s, period) => w.target(s).metricOldestMessageAge({ period }),
  'delivery-failure-ratio': (w, s, period) => w.target(s).metricFailureRatio({ period }),
  'target-paused': (w, s, period) => w.target(s).metricPaused({ period }),
  'signature-failures': (w, s, period) => w.ingest.metricRejected(s, 'invalid_signature', { period }),
  'source-throttled': (w, s, period) => w.ingest.metricAdmittedRate(s, { period }),
  'ingest-5xx': (w, _s, period) => w.ingest.metricServerErrors({ period }),
  'ingest-503': (w, _s, period) => w.ingest.metricUnavailable({ period }),
  'ingest-429': (w, _s, period) => w.ingest.metricThrottled({ period }),
  'events-poisoned': (w, _s, period) => w.ingest.metricEventsPoisoned({ period }),
  'oldest-pending-age': (w, _s, period) => w.ingest.metricOldestPendingAge({ period }),
  'broadcast-dlq-depth': (w, _s, period) => w.live().metricBroadcastDlqDepth({ period }),
  'websocket-errors': (w, _s, period) => w.live().metricExecutionErrors({ period }),
  // Lambda's own metrics (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html): Errors
  // counts invocations that failed (exceptions, timeouts, out of memory), Throttles the refused ones; Duration in ms.
  'lambda-errors': (w, s, period) => w.fn(s).function.metricErrors({ period, statistic: 'Sum' }),
  'lambda-throttles': (w, s, period) => w.fn(s).function.metricThrottles({ period, statistic: 'Sum' }),
  'lambda-duration': (w, s, period) => w.fn(s).function.metricDuration({ period, statistic: 'p99' }),
};

/** An alarm's text: what it measures against what, what it means, and what to do. */
export function alarmDescription(plan: AlarmPlan): string {
  const info = ALARM_INFO[plan.kind];
  return (
    `ALARM when ${info.value} ${plan.comparison} ${plan.threshold} (${info.unit}). ${info.meaning} ` +
    `What to do: ${info.action}`
  ).slice(0, 1024);
}

/**
 * The router's alarms: one CloudWatch alarm per planned alarm, on the constructs' metric methods; one SNS topic they
 * all notify (ALARM and OK) with the config's e-mail addresses subscribed; and a composite "router unhealthy" alarm
 * that is in ALARM while any of them is.
 *
 * Each alarm lives with what it watches: a target's (and its delivery function's) in that target's nested stack,
 * with a composite "target unhealthy" of their own there, so the parent stack holds one reference per target and
 * adding a target never touches another's alarms.
 */
export class RouterAlarms extends Construct {
  /** Where every alarm notifies; subscribe anything (chat, paging) to it. */
  public readonly topic: Topic;
  /** Every metric alarm, by plan id (`dlq-depth/pr-agent`). */
  public readonly alarms: ReadonlyMap<string, Alarm>;
  /** Each target's composite: ALARM while any alarm of the target or its delivery function is. */
  public readonly targetHealth: ReadonlyMap<string, CompositeAlarm>;
  /** ALARM while any alarm of the router is. */
  public readonly routerHealth: CompositeAlarm;
  private readonly action: IAlarmAction;
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: RouterAlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.prefix = props.alarmNamePrefix ?? stack.stackName;

    this.topic = new Topic(this, 'Topic', {
      displayName: `Event Router alarms (${this.prefix})`,
      enforceSSL: true,
    });
    // CloudWatch publishes as its service principal: allowed for this stack's alarms only (the confused-deputy
    // conditions aws:SourceAccount and aws:SourceArn, as in "Allow CloudWatch alarms to publish to a topic",
    // https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html), whatever other statements the
    // topic's policy holds (enforceSSL adds one, which replaces SNS's default policy).
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AlarmsOfThisRouter',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${this.prefix}/*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    for (const address of props.plan.email) this.topic.addSubscription(new EmailSubscription(address));
    this.action = new SnsAction(this.topic);

    const targets = new Map(props.targets.map((t) => [t.targetName, t]));
    const byDeliveryFunction = new Map(props.targets.map((t) => [t.deliveryFunction.spec.name, t]));
    const functions = new Map<string, RouterFunction>();
    const addFunction = (fn: RouterFunction | undefined) => {
      if (fn) functions.set(fn.spec.name, fn);
    };
    for (const fn of [props.ingest.ingestFunction, props.ingest.sweeperFunction, props.ingest.routesFunction])
      addFunction(fn);
    addFunction(props.liveStream?.connectionsFunction);
    addFunction(props.liveStream?.broadcastFunction);
    addFunction(props.management?.managementFunction);
    for (const t of props.targets) addFunction(t.deliveryFunction);
    const lookup = <T>(map: ReadonlyMap<string, T>, what: string, name: string): T => {
      const found = map.get(name);
      if (!found)
        throw new Error(`${this.node.path}: an alarm watches ${what} "${name}", which this stack lacks`);
      return found;
    };
    const watched: Watched = {
      ingest: props.ingest,
      target: (name) => lookup(targets, 'target', name),
      fn: (name) => lookup(functions, 'function', name),
      live: () => {
        if (!props.liveStream)
          throw new Error(`${this.node.path}: a live stream alarm without a live stream`);
        return props.liveStream;
      },
    };

    const alarms = new Map<string, Alarm>();
    for (const plan of props.plan.alarms) {
      const scope = this.homeOf(plan, watched);
      const alarm = new Alarm(scope, `Alarm-${plan.id.replaceAll('/', '-')}`, {
        alarmName: this.nameOf(plan.id),
        alarmDescription: alarmDescription(plan),
        metric: METRICS[plan.kind](watched, plan.subject, Duration.seconds(plan.periodSeconds)),
        threshold: plan.threshold,
        comparisonOperator:
          plan.comparison === '>'
            ? ComparisonOperator.GREATER_THAN_THRESHOLD
            : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // One period: the value is already a sum, maximum or percentile over it (core/alarms.ts).
        evaluationPeriods: 1,
        // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data
        treatMissingData:
          plan.missingData === 'keep' ? TreatMissingData.IGNORE : TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(this.action);
      alarm.addOkAction(this.action);
      alarms.set(plan.id, alarm);
    }
    this.alarms = alarms;

    // Per target: its own alarms and its delivery function's, in its nested stack. No action of its own: each of
    // its alarms notifies already, and the router's composite summarises.
    const targetHealth = new Map<string, CompositeAlarm>();
    const inTarget = new Map<string, Named[]>();
    const routerChildren: Named[] = [];
    for (const plan of props.plan.alarms) {
      const named = { alarm: alarms.get(plan.id)!, name: this.nameOf(plan.id) };
      const owner = this.targetOf(plan, watched, byDeliveryFunction);
      if (owner) inTarget.set(owner.targetName, [...(inTarget.get(owner.targetName) ?? []), named]);
      else routerChildren.push(named);
    }
    for (const [name, children] of inTarget) {
      const target = watched.target(name);
      const composite = this.anyOf(target, 'Unhealthy', `target-unhealthy/${name}`, children, {
        description: `ALARM while any alarm of target ${name} (or its delivery function) is.`,
        notify: false,
      });
      targetHealth.set(name, composite);
      routerChildren.push({ alarm: composite, name: this.nameOf(`target-unhealthy/${name}`) });
    }
    this.targetHealth = targetHealth;
    this.routerHealth = this.anyOf(this, 'RouterUnhealthy', 'router-unhealthy', routerChildren, {
      description:
        'ALARM while any alarm of the router is: its notification names the alarms that triggered it. See the ' +
        'Observe section of the README for each alarm.',
      notify: true,
    });
  }

  /** `<prefix>/<id>`. */
  private nameOf(id: string): string {
    return `${this.prefix}/${id}`;
  }

  /** The target an alarm belongs to: a target's own, or its delivery function's. */
  private targetOf(
    plan: AlarmPlan,
    w: Watched,
    byDeliveryFunction: ReadonlyMap<string, DeliveryTarget>,
  ): DeliveryTarget | undefined {
    const scope = ALARM_INFO[plan.kind].scope;
    if (scope === 'target') return w.target(plan.subject);
    return scope === 'function' ? byDeliveryFunction.get(plan.subject) : undefined;
  }

  /** Where an alarm is created: under the target or function it watches (so in its stack), else here. */
  private homeOf(plan: AlarmPlan, w: Watched): IConstruct {
    const scope = ALARM_INFO[plan.kind].scope;
    if (scope === 'target') return w.target(plan.subject);
    if (scope === 'function') return w.fn(plan.subject);
    return this;
  }

  /**
   * A composite in ALARM while any child is. Children that do not fit one rule (ruleGroups) are split into parts (no
   * action of their own) that it combines: some 9,000 alarms, far beyond what a router has (EventBridge allows 300
   * rules per bus, so at most some 2,000 target alarms).
   */
  private anyOf(
    scope: Construct,
    id: string,
    name: string,
    children: readonly Named[],
    options: { readonly description: string; readonly notify: boolean },
  ): CompositeAlarm {
    const byName = new Map(children.map((c) => [c.name, c.alarm]));
    const groups = ruleGroups(children.map((c) => c.name));
    let members: readonly IAlarm[] = children.map((c) => c.alarm);
    if (groups.length > 1) {
      const parts = groups.map((group, i) => ({
        name: this.nameOf(`${name}/part-${i + 1}`),
        members: group.map((n) => byName.get(n)!),
      }));
      if (ruleGroups(parts.map((p) => p.name)).length > 1) {
        throw new Error(
          `${this.node.path}: ${children.length} alarms in ${name} do not fit a composite of ${parts.length} ` +
            'composites (at most 100 alarms and 10,240 characters of rule each)',
        );
      }
      members = parts.map(
        (part, i) =>
          new CompositeAlarm(scope, `${id}Part${i + 1}`, {
            compositeAlarmName: part.name,
            alarmDescription: `${options.description} (part ${i + 1})`,
            alarmRule: anyRule(part.members),
          }),
      );
    }
    const composite = new CompositeAlarm(scope, id, {
      compositeAlarmName: this.nameOf(name),
      alarmDescription: options.description,
      alarmRule: anyRule(members),
    });
    if (options.notify) {
      composite.addAlarmAction(this.action);
      composite.addOkAction(this.action);
    }
    return composite;
  }
}

const anyRule = (alarms: readonly IAlarm[]) =>
  AlarmRule.anyOf(...alarms.map((a) => AlarmRule.fromAlarm(a, AlarmState.ALARM)));
