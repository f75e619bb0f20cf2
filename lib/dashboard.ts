import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IMetric,
  LogQueryVisualizationType,
  LogQueryWidget,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { FAILED_DELIVERY_COLUMNS, LOG_MESSAGE, REJECTED_WEBHOOK_GROUPS } from '../core/logs';
import type { RouterAlarms } from './alarms';
import type { DeliveryTarget } from './delivery-target';
import type { LiveStream } from './live-stream';
import type { WebhookIngest } from './webhook-ingest';

export interface RouterDashboardProps {
  readonly ingest: WebhookIngest;
  /** Source names, one line each on the ingest charts. */
  readonly sourceNames: readonly string[];
  readonly targets: readonly DeliveryTarget[];
  /** @default - no live stream charts */
  readonly liveStream?: LiveStream;
  /** @default - no alarm status widgets */
  readonly alarms?: RouterAlarms;
}

const PERIOD = Duration.minutes(1);
/** Percentiles of the latency charts. */
const PERCENTILES = ['p50', 'p90', 'p99'] as const;
/**
 * A Logs Insights query reads at most 50 log groups
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html): one widget per 50.
 */
const MAX_QUERY_LOG_GROUPS = 50;
/**
 * An alarm status widget lists 1 to 100 alarm ARNs (the alarm widget object of the dashboard body,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html): one
 * widget per 100.
 */
const MAX_STATUS_WIDGET_ALARMS = 100;

/**
 * Logs Insights over the delivery functions' logs: the last 50 deliveries that failed for good (the line the delivery
 * function writes as it records the failure and moves the message to the DLQ; core/logs.ts), with the target's last
 * status, the attempts, the reason and the correlation ids to follow one event in every function's logs and in X-Ray
 * (`annotation.eventId`). Powertools writes JSON lines, so each key is a field Logs Insights discovers by itself
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html).
 */
export const FAILED_DELIVERIES_QUERY = [
  `fields @timestamp, ${FAILED_DELIVERY_COLUMNS.join(', ')}`,
  `filter message = "${LOG_MESSAGE.deliveryFailed}"`,
  'sort @timestamp desc',
  'limit 50',
];

/** Logs Insights over the ingest function's logs: refused webhooks counted by source, reason and status. */
export const REJECTED_WEBHOOKS_QUERY = [
  `filter message = "${LOG_MESSAGE.webhookRejected}"`,
  `stats count(*) as rejected by ${REJECTED_WEBHOOK_GROUPS.join(', ')}`,
  'sort rejected desc',
];

const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/**
 * The router's dashboard: alarm status; per source, webhooks accepted and refused by reason; per target, queue and
 * DLQ depth, success rate, end-to-end latency percentiles and the age of the oldest waiting message; the live
 * stream's pushes and latency; Logs Insights tables of recent failed deliveries and refused webhooks. Every chart is
 * a construct's metric method — the alarms watch the same metrics.
 */
export class RouterDashboard extends Construct {
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: RouterDashboardProps) {
    super(scope, id);
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const { ingest, targets, liveStream } = props;
    const every = { period: PERIOD };

    this.dashboard.addWidgets(new TextWidget({ markdown: '# Event Router', width: 24, height: 1 }));
    if (props.alarms) {
      // The router's composite, each target's, then every alarm not in a target: one glance says what is wrong.
      const alarms: IAlarm[] = [
        props.alarms.routerHealth,
        ...props.alarms.targetHealth.values(),
        ...[...props.alarms.alarms.entries()]
          .filter(([, alarm]) => !targets.some((t) => alarm.node.path.startsWith(`${t.node.path}/`)))
          .map(([, alarm]) => alarm),
      ];
      for (const [i, group] of chunks(alarms, MAX_STATUS_WIDGET_ALARMS).entries()) {
        this.dashboard.addWidgets(
          new AlarmStatusWidget({
            title: i === 0 ? 'Alarms' : `Alarms (${i + 1})`,
            alarms: group,
            width: 24,
            height: Math.min(8, 2 + Math.ceil(group.length / 6)),
          }),
        );
      }
    }

    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Webhooks accepted per source',
        width: 12,
        left: props.sourceNames.map((s) => ingest.metricAccepted(s, { ...every, label: s })),
      }),
      new GraphWidget({
        title: 'Webhooks rejected per source and reason',
        width: 12,
        left: [ingest.metricRejectedBySourceAndReason(every)],
      }),
      new GraphWidget({
        title: 'Webhook API: 5xx, 503, 429, ingest errors',
        width: 12,
        left: [
          ingest.metricServerErrors({ ...every, label: 'HTTP 5xx' }),
          ingest.metricUnavailable({ ...every, label: 'HTTP 503 (storage or secrets unavailable)' }),
          ingest.metricThrottled({ ...every, label: 'HTTP 429 (throttled)' }),
          ingest.ingestFunction.function.metricErrors({ ...every, label: 'ingest Lambda errors' }),
        ],
      }),
      new GraphWidget({
        title: 'Unpublished events: poisoned, oldest pending age (s)',
        width: 12,
        left: [ingest.metricEventsPoisoned({ ...every, label: 'poisoned' })],
        right: [ingest.metricOldestPendingAge({ ...every, label: 'oldest pending (s)' })],
      }),
      new LogQueryWidget({
        title: 'Rejected webhooks by reason',
        logGroupNames: [ingest.ingestFunction.logGroup.logGroupName],
        queryLines: REJECTED_WEBHOOKS_QUERY,
        view: LogQueryVisualizationType.TABLE,
        width: 24,
      }),
    );

    if (targets.length > 0) {
      const perTarget = (title: string, metric: (t: DeliveryTarget) => IMetric, width = 8) =>
        new GraphWidget({ title, width, left: targets.map(metric) });
      this.dashboard.addWidgets(
        perTarget('Queue depth per target', (t) => t.metricQueueDepth({ ...every, label: t.targetName })),
        perTarget('DLQ depth per target', (t) =>
          t.metricDlqDepth({ ...every, label: `${t.targetName} DLQ` }),
        ),
        perTarget('Delivery errors per target', (t) => t.metricFailed({ ...every, label: t.targetName })),
        perTarget('Delivery success rate per target (% of attempts)', (t) => t.metricSuccessRate(every)),
        new GraphWidget({
          title: 'End-to-end latency per target (received → delivered, ms)',
          width: 8,
          left: targets.flatMap((t) =>
            PERCENTILES.map((p) =>
              t.metricEndToEndLatency({ ...every, statistic: p, label: `${t.targetName} ${p}` }),
            ),
          ),
        }),
        perTarget('Oldest message per target (s)', (t) =>
          t.metricOldestMessageAge({ ...every, label: t.targetName }),
        ),
      );
      for (const [i, group] of chunks(targets, MAX_QUERY_LOG_GROUPS).entries()) {
        this.dashboard.addWidgets(
          new LogQueryWidget({
            title: i === 0 ? 'Recent failed deliveries' : `Recent failed deliveries (${i + 1})`,
            logGroupNames: group.map((t) => t.deliveryFunction.logGroup.logGroupName),
            queryLines: FAILED_DELIVERIES_QUERY,
            view: LogQueryVisualizationType.TABLE,
            width: 24,
          }),
        );
      }
    }

    if (liveStream) {
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'WebSocket connections',
          width: 8,
          left: [
            liveStream.metricConnects({ ...every, label: 'connects' }),
            liveStream.metricConnectionsOpened({ ...every, label: 'subscriptions stored' }),
            liveStream.metricExecutionErrors({ ...every, label: 'execution errors' }),
          ],
        }),
        new GraphWidget({
          title: 'Live pushes',
          width: 8,
          left: [
            liveStream.metricSent({ ...every, label: 'sent' }),
            liveStream.metricGone({ ...every, label: 'gone (410) removed' }),
            liveStream.metricMessages({ ...every, label: 'WebSocket messages' }),
            liveStream.metricBroadcastDlqDepth({ ...every, label: 'broadcast DLQ' }),
          ],
        }),
        new GraphWidget({
          title: 'Live latency (received → pushed, ms)',
          width: 8,
          left: PERCENTILES.map((p) => liveStream.metricLiveLatency({ ...every, statistic: p, label: p })),
        }),
      );
    }
  }
}
