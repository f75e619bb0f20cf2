/**
 * Every planned alarm is a CloudWatch alarm: its name, threshold, comparison, period, missing-data rule and metric,
 * notifying the one SNS topic; composites summarise; the stage's defaults and the config's overrides reach the
 * template. Also the tracing and debug-log sampling of each stage.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ALARM_KINDS, type AlarmKind, STAGE_THRESHOLDS } from '../../core/alarms';
import { parseRouterConfig, type RouterConfigInput } from '../../core/config';
import { allFunctions, planTopology } from '../../core/plan';
import type { StageName } from '../../core/stages';
import { MAX_ALARM_RULE_LENGTH, ruleGroups } from '../../lib/alarms';
import exampleConfig from '../../router.config';
import { synthRouter } from '../support/cdk';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are untyped JSON.
type Props = Record<string, any>;

/** Every resource of a type in the parent and the target stacks, with the template it is in. */
function resources(synth: ReturnType<typeof synthRouter>, type: string) {
  const templates: [string, Template][] = [
    ['parent', synth.template],
    ...Object.entries(synth.targets).map(([n, t]) => [n, t] as [string, Template]),
  ];
  return templates.flatMap(([where, t]) =>
    Object.entries(t.findResources(type)).map(([id, r]) => ({ where, id, props: r.Properties as Props })),
  );
}

/** The metric an alarm watches, however it is written: one metric, or the metrics of an expression. */
function metricsOf(props: Props): { namespace: string; name: string; stat: string; dims: Props }[] {
  const dims = (list: { Name: string; Value: unknown }[] = []) =>
    Object.fromEntries(list.map((d) => [d.Name, d.Value]));
  if (props.MetricName) {
    return [
      {
        namespace: props.Namespace,
        name: props.MetricName,
        stat: props.Statistic ?? props.ExtendedStatistic,
        dims: dims(props.Dimensions),
      },
    ];
  }
  return (props.Metrics as Props[])
    .filter((m) => m.MetricStat)
    .map((m) => ({
      namespace: m.MetricStat.Metric.Namespace,
      name: m.MetricStat.Metric.MetricName,
      stat: m.MetricStat.Stat,
      dims: dims(m.MetricStat.Metric.Dimensions),
    }));
}

const expressionOf = (props: Props) =>
  (props.Metrics as Props[] | undefined)?.find((m) => m.Expression)?.Expression as string | undefined;

/** What each kind must watch: namespace, metric(s), statistic, the dimensions that name what it watches. */
const WATCHES: Record<AlarmKind, { namespace: string; names: string[]; stat: string; dims: string[] }> = {
  'dlq-depth': {
    namespace: 'AWS/SQS',
    names: ['ApproximateNumberOfMessagesVisible'],
    stat: 'Maximum',
    dims: ['QueueName'],
  },
  'oldest-message-age': {
    namespace: 'AWS/SQS',
    names: ['ApproximateAgeOfOldestMessage'],
    stat: 'Maximum',
    dims: ['QueueName'],
  },
  'delivery-failure-ratio': {
    namespace: 'EventRouter',
    names: ['DeliverySucceeded', 'DeliveryFailed'],
    stat: 'Sum',
    dims: ['service', 'target'],
  },
  'target-paused': {
    namespace: 'EventRouter',
    names: ['TargetPaused'],
    stat: 'Maximum',
    dims: ['service', 'target'],
  },
  'signature-failures': {
    namespace: 'EventRouter',
    names: ['WebhookRejected'],
    stat: 'Sum',
    dims: ['reason', 'service', 'source'],
  },
  'source-throttled': {
    namespace: 'EventRouter',
    names: ['WebhookAccepted', 'WebhookDuplicate'],
    stat: 'Sum',
    dims: ['service', 'source'],
  },
  'ingest-5xx': { namespace: 'AWS/ApiGateway', names: ['5xx'], stat: 'Sum', dims: ['ApiId'] },
  'ingest-503': { namespace: 'EventRouter', names: ['WebhookUnavailable'], stat: 'Sum', dims: [] },
  'ingest-429': { namespace: 'EventRouter', names: ['WebhookThrottled'], stat: 'Sum', dims: [] },
  'events-poisoned': { namespace: 'EventRouter', names: ['EventsPoisoned'], stat: 'Sum', dims: ['service'] },
  'oldest-pending-age': {
    namespace: 'EventRouter',
    names: ['OldestPendingAge'],
    stat: 'Maximum',
    dims: ['service'],
  },
  'broadcast-dlq-depth': {
    namespace: 'AWS/SQS',
    names: ['ApproximateNumberOfMessagesVisible'],
    stat: 'Maximum',
    dims: ['QueueName'],
  },
  'websocket-errors': {
    namespace: 'AWS/ApiGateway',
    names: ['ExecutionError'],
    stat: 'Sum',
    dims: ['ApiId', 'Stage'],
  },
  'lambda-errors': { namespace: 'AWS/Lambda', names: ['Errors'], stat: 'Sum', dims: ['FunctionName'] },
  'lambda-throttles': { namespace: 'AWS/Lambda', names: ['Throttles'], stat: 'Sum', dims: ['FunctionName'] },
  'lambda-duration': { namespace: 'AWS/Lambda', names: ['Duration'], stat: 'p99', dims: ['FunctionName'] },
};

describe.each(['dev', 'prod'] as StageName[])('the %s alarms', (stage) => {
  const synth = synthRouter(exampleConfig, stage);
  const plan = planTopology(parseRouterConfig(exampleConfig), { stage }).alarms.alarms;
  const alarms = resources(synth, 'AWS::CloudWatch::Alarm');
  const byName = new Map(alarms.map((a) => [a.props.AlarmName as string, a]));
  const [topicId] = Object.keys(synth.template.findResources('AWS::SNS::Topic'));

  it('has exactly one CloudWatch alarm per planned alarm, named <stack>/<kind>/<subject>', () => {
    expect([...byName.keys()].sort()).toEqual(plan.map((a) => `Router/${a.id}`).sort());
    expect(new Set(plan.map((a) => a.kind))).toEqual(new Set(ALARM_KINDS));
  });

  it.each(ALARM_KINDS)('%s: threshold, comparison, period, missing data and metric as planned', (kind) => {
    const planned = plan.filter((a) => a.kind === kind);
    expect(planned.length).toBeGreaterThan(0);
    for (const a of planned) {
      const found = byName.get(`Router/${a.id}`);
      expect(found, a.id).toBeDefined();
      const p = found!.props;
      expect(p, a.id).toMatchObject({
        Threshold: a.threshold,
        ComparisonOperator: a.comparison === '>' ? 'GreaterThanThreshold' : 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: a.missingData === 'keep' ? 'ignore' : 'notBreaching',
      });
      const metrics = metricsOf(p);
      const want = WATCHES[kind];
      expect(metrics.map((m) => m.name).sort(), a.id).toEqual([...want.names].sort());
      for (const m of metrics) {
        expect(m.namespace, a.id).toBe(want.namespace);
        expect(m.stat, a.id).toBe(want.stat);
        expect(Object.keys(m.dims).sort(), a.id).toEqual(want.dims);
      }
      const periods =
        p.Period !== undefined
          ? [p.Period]
          : (p.Metrics as Props[]).flatMap((m) => m.MetricStat?.Period ?? []);
      expect(new Set(periods), a.id).toEqual(new Set([a.periodSeconds]));
      // What it watches is named by its dimensions.
      const dims = metrics[0]!.dims;
      if (dims.target !== undefined) expect(dims.target).toBe(a.subject);
      if (dims.source !== undefined) expect(dims.source).toBe(a.subject);
      if (dims.reason !== undefined) expect(dims.reason).toBe('invalid_signature');
      // Ratios and rates are metric math over the period.
      if (kind === 'delivery-failure-ratio') expect(expressionOf(p)).toMatch(/^IF\(.* >= 10, .*, 0\)$/);
      if (kind === 'source-throttled') expect(expressionOf(p)).toMatch(/\) \/ 300$/);
      // Every alarm notifies the topic, both ways (a target stack's through its parameter for the topic); its
      // description says what it means and what to do.
      expect(p.AlarmActions, a.id).toHaveLength(1);
      expect(p.OKActions, a.id).toEqual(p.AlarmActions);
      if (found!.where === 'parent') expect(p.AlarmActions).toEqual([{ Ref: topicId }]);
      else expect(p.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^referencetoRouterAlarmsTopic/) }]);
      expect(p.AlarmDescription, a.id).toMatch(/^ALARM when .* What to do: /);
      expect(p.AlarmDescription.length).toBeLessThanOrEqual(1024);
    }
  });

  it("uses the stage's defaults", () => {
    const d = STAGE_THRESHOLDS[stage];
    const threshold = (id: string) => byName.get(`Router/${id}`)?.props.Threshold;
    expect(threshold('dlq-depth/pr-agent')).toBe(0);
    expect(threshold('oldest-message-age/pr-agent')).toBe(d.oldestMessageAgeSeconds);
    expect(threshold('delivery-failure-ratio/pr-agent')).toBe(d.failureRatio);
    expect(threshold('signature-failures/github')).toBe(d.signatureFailures);
    expect(threshold('source-throttled/github')).toBe(d.throttleShare * 50);
    expect(threshold('ingest-503/router')).toBe(d.ingest503);
    expect(threshold('lambda-errors/ingest')).toBe(d.lambdaErrors);
    expect(threshold('lambda-throttles/delivery-pr-agent')).toBe(d.lambdaThrottles);
    expect(threshold('lambda-duration/delivery-pr-agent')).toBe(d.durationShareOfTimeout * 20_000);
  });

  it("keeps each target's alarms (and its delivery function's) in its own stack, under a composite of its own", () => {
    const inTarget = alarms.filter((a) => a.where === 'pr-agent').map((a) => a.props.AlarmName);
    expect(inTarget.sort()).toEqual(
      [
        'dlq-depth/pr-agent',
        'oldest-message-age/pr-agent',
        'delivery-failure-ratio/pr-agent',
        'target-paused/pr-agent',
        'lambda-errors/delivery-pr-agent',
        'lambda-throttles/delivery-pr-agent',
        'lambda-duration/delivery-pr-agent',
      ]
        .map((id) => `Router/${id}`)
        .sort(),
    );
    const [composite] = Object.values(
      synth.targets['pr-agent']!.findResources('AWS::CloudWatch::CompositeAlarm'),
    );
    expect(composite?.Properties.AlarmName).toBe('Router/target-unhealthy/pr-agent');
    expect(JSON.stringify(composite?.Properties.AlarmRule).match(/ALARM\(/g)).toHaveLength(7);
    // No action of its own: its alarms notify, and the router's composite summarises.
    expect(composite?.Properties.AlarmActions).toBeUndefined();
  });

  it('combines every alarm into "router unhealthy", which notifies the topic', () => {
    const composites = synth.template.findResources('AWS::CloudWatch::CompositeAlarm');
    expect(Object.keys(composites)).toHaveLength(1);
    const [router] = Object.values(composites);
    expect(router?.Properties).toMatchObject({
      AlarmName: 'Router/router-unhealthy',
      AlarmActions: [{ Ref: topicId }],
      OKActions: [{ Ref: topicId }],
    });
    // The parent's alarms, and the target's composite (from its nested stack).
    const rule = JSON.stringify(router?.Properties.AlarmRule);
    const parentAlarms = alarms.filter((a) => a.where === 'parent');
    expect(rule.match(/ALARM\(/g)).toHaveLength(parentAlarms.length + 1);
    for (const a of parentAlarms) expect(rule).toContain(`"${a.id}","Arn"`);
    expect(rule).toMatch(/Outputs\.RouterTargetpragent.*UnhealthyArn|TargetUnhealthy/);
  });
});

describe('the notification topic', () => {
  const config: RouterConfigInput = {
    ...exampleConfig,
    alarms: { email: ['ops@example.com', 'oncall@example.com'] },
  };
  const { template } = synthRouter(config, 'prod');

  it('subscribes each configured address by e-mail, and is output', () => {
    for (const address of ['ops@example.com', 'oncall@example.com']) {
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: address });
    }
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    expect(template.findOutputs('AlarmTopic')).toHaveProperty('AlarmTopic');
    synthRouter(exampleConfig).template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it("lets CloudWatch publish for this stack's alarms only, and refuses publishing without TLS", () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: {
              StringEquals: { 'aws:SourceAccount': '111111111111' },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': [
                    '',
                    ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:eu-west-1:111111111111:alarm:Router/*'],
                  ],
                },
              },
            },
          }),
        ]),
      },
    });
  });
});

describe('thresholds from the router config', () => {
  it('reach the template: router-wide, per target and per source', () => {
    const config: RouterConfigInput = {
      ...exampleConfig,
      sources: [{ ...exampleConfig.sources[0]!, alarms: { signatureFailures: 3 } }],
      targets: [
        { ...exampleConfig.targets![0]!, alarms: { oldestMessageAgeSeconds: 7200, failureRatio: 0.3 } },
      ],
      alarms: { thresholds: { lambdaErrors: 9, ingest429: 77 } },
    };
    const synth = synthRouter(config, 'prod');
    const byName = new Map(
      resources(synth, 'AWS::CloudWatch::Alarm').map((a) => [a.props.AlarmName as string, a.props]),
    );
    expect(byName.get('Router/oldest-message-age/pr-agent')?.Threshold).toBe(7200);
    expect(byName.get('Router/delivery-failure-ratio/pr-agent')?.Threshold).toBe(0.3);
    expect(byName.get('Router/signature-failures/github')?.Threshold).toBe(3);
    expect(byName.get('Router/ingest-429/router')?.Threshold).toBe(77);
    for (const fn of allFunctions(planTopology(parseRouterConfig(config))))
      expect(byName.get(`Router/lambda-errors/${fn.name}`)?.Threshold, fn.name).toBe(9);
  });
});

describe('the access-log metric filters', () => {
  it('count 429 and 503 answers of the webhook API (its own metrics only count 4xx and 5xx)', () => {
    const { template } = synthRouter();
    const [logGroup] = Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((id) =>
      id.startsWith('IngestAccessLogs'),
    );
    for (const [status, name] of [
      ['429', 'WebhookThrottled'],
      ['503', 'WebhookUnavailable'],
    ]) {
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        LogGroupName: { Ref: logGroup },
        FilterPattern: `{ $.status = "${status}" }`,
        MetricTransformations: [{ MetricNamespace: 'EventRouter', MetricName: name, MetricValue: '1' }],
      });
    }
  });
});

describe('tracing and debug-log sampling per stage', () => {
  const functionsOf = (stage: StageName) => {
    const synth = synthRouter(exampleConfig, stage);
    return resources(synth, 'AWS::Lambda::Function')
      .filter((f) => f.props.Environment?.Variables?.POWERTOOLS_SERVICE_NAME)
      .map((f) => ({
        service: f.props.Environment.Variables.POWERTOOLS_SERVICE_NAME as string,
        tracing: f.props.TracingConfig?.Mode as string,
        env: f.props.Environment.Variables as Record<string, string>,
      }));
  };

  it('traces every function actively in dev; in prod only deliveries start traces', () => {
    const dev = functionsOf('dev');
    expect(dev).toHaveLength(7);
    for (const f of dev) expect(f.tracing, f.service).toBe('Active');
    const prod = Object.fromEntries(functionsOf('prod').map((f) => [f.service, f.tracing]));
    expect(prod).toEqual({
      ingest: 'PassThrough',
      delivery: 'Active',
      sweeper: 'PassThrough',
      routes: 'PassThrough',
      connections: 'PassThrough',
      broadcast: 'PassThrough',
      management: 'PassThrough',
    });
  });

  it('turns the tracer off in every function that starts no trace of its own (PassThrough), in every stage', () => {
    for (const stage of ['dev', 'staging', 'prod'] as const) {
      const functions = functionsOf(stage);
      expect(functions).toHaveLength(7);
      for (const f of functions) {
        expect(f.env.POWERTOOLS_TRACE_ENABLED, `${stage} ${f.service}`).toBe(
          f.tracing === 'PassThrough' ? 'false' : undefined,
        );
      }
    }
    const off = functionsOf('prod').filter((f) => f.env.POWERTOOLS_TRACE_ENABLED === 'false');
    expect(off.map((f) => f.service).sort()).toEqual([
      'broadcast',
      'connections',
      'ingest',
      'management',
      'routes',
      'sweeper',
    ]);
  });

  it('samples debug logs per stage, and never records handler results in traces', () => {
    for (const [stage, rate] of [
      ['dev', '0'],
      ['staging', '0.1'],
      ['prod', '0.01'],
    ] as const) {
      for (const f of functionsOf(stage)) {
        expect(f.env.POWERTOOLS_LOGGER_SAMPLE_RATE, `${stage} ${f.service}`).toBe(rate);
        expect(f.env.POWERTOOLS_TRACER_CAPTURE_RESPONSE).toBe('false');
      }
    }
  });
});

describe('the rule groups of a composite alarm', () => {
  const rule = (names: readonly string[]) =>
    `(${names.map((n) => `ALARM("arn:aws-us-gov:cloudwatch:ap-southeast-7:123456789012:alarm:${n}")`).join(' OR ')})`;

  it('hold at most 100 alarms', () => {
    const names = Array.from({ length: 250 }, (_, i) => `R/a/${i}`);
    expect(ruleGroups(names).map((g) => g.length)).toEqual([100, 100, 50]);
    expect(ruleGroups(names).flat()).toEqual(names);
  });

  it('stay within 10,240 characters of rule with the longest ARNs, each as full as it can be', () => {
    const names = Array.from(
      { length: 100 },
      (_, i) => `EventRouter-prod/lambda-duration/delivery-${'t'.repeat(34)}${String(i).padStart(3, '0')}`,
    );
    const groups = ruleGroups(names);
    expect(groups.flat()).toEqual(names);
    expect(groups.length).toBe(2);
    for (const group of groups) expect(rule(group).length).toBeLessThanOrEqual(MAX_ALARM_RULE_LENGTH);
    // One more alarm would not have fit the first.
    expect(rule([...groups[0]!, groups[1]![0]!]).length).toBeGreaterThan(MAX_ALARM_RULE_LENGTH);
  });
});
