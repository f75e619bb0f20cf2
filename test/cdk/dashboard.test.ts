/** The dashboard: a snapshot of its body, and what it must show (alarm status, latency, success rate, logs). */
import { describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../core/config';
import { FAILED_DELIVERIES_QUERY, REJECTED_WEBHOOKS_QUERY } from '../../lib/dashboard';
import exampleConfig from '../../router.config';
import { synthRouter } from '../support/cdk';

interface Widget {
  type: string;
  width: number;
  properties: {
    title?: string;
    markdown?: string;
    metrics?: unknown[][];
    alarms?: string[];
    query?: string;
    view?: string;
  };
}

/**
 * The dashboard's body with CloudFormation references written as `{Ref:<id>}` / `{GetAtt:<id>.<attr>}`, parsed: the
 * widgets as CloudWatch will read them.
 */
function dashboardOf(config: RouterConfigInput = exampleConfig): { raw: unknown; widgets: Widget[] } {
  const { template } = synthRouter(config);
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const raw = dashboard?.Properties.DashboardBody;
  const parts = (raw as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const text = parts
    .map((p) => {
      if (typeof p === 'string') return p;
      const ref = (p as { Ref?: string }).Ref;
      if (ref) return `{Ref:${ref}}`;
      const getAtt = (p as { 'Fn::GetAtt'?: string[] })['Fn::GetAtt'];
      if (getAtt) return `{GetAtt:${getAtt.join('.')}}`;
      return `{${JSON.stringify(p).replace(/"/g, "'")}}`;
    })
    .join('');
  return { raw, widgets: (JSON.parse(text) as { widgets: Widget[] }).widgets };
}

describe('the dashboard', () => {
  const { raw, widgets } = dashboardOf();
  const titled = (title: string) => {
    const widget = widgets.find((w) => w.properties.title === title);
    if (!widget)
      throw new Error(`no widget "${title}" in ${widgets.map((w) => w.properties.title).join(', ')}`);
    return widget;
  };
  const metricsOf = (title: string) => JSON.stringify(titled(title).properties.metrics);

  it('matches its snapshot (a change to the dashboard is a reviewed change)', () => {
    expect(raw).toMatchSnapshot();
  });

  it('starts with the alarm status: the router composite, the target composites, every other alarm', () => {
    const status = titled('Alarms');
    expect(status.type).toBe('alarm');
    const alarms = status.properties.alarms!;
    expect(alarms[0]).toMatch(/^\{GetAtt:AlarmsRouterUnhealthy\w+\.Arn\}$/);
    // pr-agent's composite lives in its nested stack: an output of it.
    expect(alarms.some((a) => /TargetpragentNestedStack.*Outputs\.\w*TargetUnhealthy\w*Arn/.test(a))).toBe(
      true,
    );
    // 1 router composite + 1 target composite + the parent stack's 27 alarms (7 in the target stack are in its composite).
    expect(alarms).toHaveLength(29);
  });

  it('shows, per source, webhooks accepted and rejected by reason', () => {
    expect(metricsOf('Webhooks accepted per source')).toContain(
      '"WebhookAccepted","service","ingest","source","github"',
    );
    expect(metricsOf('Webhooks rejected per source and reason')).toContain(
      "SEARCH('{EventRouter,service,source,reason} MetricName=\\\"WebhookRejected\\\"', 'Sum', 60)",
    );
    expect(metricsOf('Webhook API: 5xx, 503, 429, ingest errors')).toMatch(
      /"5xx".*"WebhookUnavailable".*"WebhookThrottled".*"Errors"/,
    );
  });

  it('shows, per target, the success rate and the end-to-end latency percentiles', () => {
    const rate = metricsOf('Delivery success rate per target (% of attempts)');
    expect(rate).toContain(
      '100 * IF(FILL(delivered_pr_agent, 0) + FILL(retrying_pr_agent, 0) + FILL(failed_pr_agent, 0) >= 1',
    );
    const latency = metricsOf('End-to-end latency per target (received → delivered, ms)');
    for (const p of ['p50', 'p90', 'p99']) {
      expect(latency).toContain(
        `"EndToEndLatency","service","delivery","target","pr-agent",{"label":"pr-agent ${p}","period":60,"stat":"${p}"}`,
      );
    }
    expect(metricsOf('Oldest message per target (s)')).toContain('ApproximateAgeOfOldestMessage');
    expect(metricsOf('DLQ depth per target')).toContain('ApproximateNumberOfMessagesVisible');
  });

  it('shows the live stream latency percentiles (received → pushed to a WebSocket)', () => {
    const live = metricsOf('Live latency (received → pushed, ms)');
    for (const p of ['p50', 'p90', 'p99'])
      expect(live).toContain(
        `"LiveLatency","service","broadcast",{"label":"${p}","period":60,"stat":"${p}"}`,
      );
  });

  it('queries the logs: recent failed deliveries over the delivery functions, rejected webhooks by reason', () => {
    // The fields are those the delivery and ingest functions log (core/logs.ts); test/e2e/alarms.test.ts reads them
    // back from the running functions' own lines.
    const failed = titled('Recent failed deliveries');
    expect(failed.type).toBe('log');
    expect(failed.properties.view).toBe('table');
    expect(failed.properties.query).toMatch(/^SOURCE '\{GetAtt:TargetpragentNestedStack.*DeliveryLogs.*'/);
    expect(failed.properties.query).toContain(
      [
        'fields @timestamp, target, eventId, deliveryId, status, attempts, reason',
        'filter message = "delivery failed for good; recorded and moved to the DLQ"',
        'sort @timestamp desc',
        'limit 50',
      ].join('\n| '),
    );
    expect(failed.properties.query).toContain(FAILED_DELIVERIES_QUERY.join('\n| '));
    const rejected = titled('Rejected webhooks by reason');
    expect(rejected.type).toBe('log');
    expect(rejected.properties.view).toBe('table');
    expect(rejected.properties.query).toMatch(/^SOURCE '\{Ref:IngestLogs\w+\}'/);
    expect(rejected.properties.query).toContain(
      [
        'filter message = "webhook rejected"',
        'stats count(*) as rejected by source, reason, statusCode',
        'sort rejected desc',
      ].join('\n| '),
    );
    expect(rejected.properties.query).toContain(REJECTED_WEBHOOKS_QUERY.join('\n| '));
  });
});

describe('the dashboard with many targets', () => {
  it('splits the failed-deliveries query into widgets of at most 50 log groups (a Logs Insights query reads 50)', () => {
    const target = exampleConfig.targets![0]!;
    const { widgets } = dashboardOf({
      ...exampleConfig,
      targets: Array.from({ length: 51 }, (_, i) => ({ ...target, name: `t${i}` })),
    });
    const logs = widgets.filter((w) => w.properties.title?.startsWith('Recent failed deliveries'));
    expect(logs.map((w) => (w.properties.query!.match(/SOURCE '/g) ?? []).length)).toEqual([50, 1]);
  });
});
