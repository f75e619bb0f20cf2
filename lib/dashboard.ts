import { Duration } from 'aws-cdk-lib';
import { Dashboard, GraphWidget, type IMetric, Metric, TextWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { DIMENSION, METRIC, METRICS_NAMESPACE } from '../core/metrics';
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
}

const PERIOD = Duration.minutes(1);

/** First CloudWatch dashboard: ingest per source, per-target queue and DLQ depth, delivery errors, live stream. */
export class RouterDashboard extends Construct {
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: RouterDashboardProps) {
    super(scope, id);
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const custom = (metricName: string, service: string, dimensions: Record<string, string>, label: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service, ...dimensions },
        statistic: 'Sum',
        period: PERIOD,
        label,
      });

    const ingestFn = props.ingest.ingestFunction.function;
    this.dashboard.addWidgets(
      new TextWidget({ markdown: '# Event Router', width: 24, height: 1 }),
      new GraphWidget({
        title: 'Webhooks accepted per source',
        width: 12,
        left: props.sourceNames.map((s) =>
          custom(METRIC.webhookAccepted, 'ingest', { [DIMENSION.source]: s }, s),
        ),
      }),
      new GraphWidget({
        title: 'Ingest rejections and errors',
        width: 12,
        left: [
          ...props.sourceNames.map((s) =>
            custom(METRIC.webhookRejected, 'ingest', { [DIMENSION.source]: s }, `${s} rejected`),
          ),
          ingestFn.metricErrors({ period: PERIOD, label: 'ingest Lambda errors' }),
          props.ingest.api.metricServerError({ period: PERIOD, label: 'HTTP 5xx' }),
        ],
      }),
    );

    const depth = (t: DeliveryTarget, dlq: boolean): IMetric =>
      (dlq ? t.deadLetterQueue : t.queue).metricApproximateNumberOfMessagesVisible({
        period: PERIOD,
        statistic: 'Maximum',
        label: `${t.targetName}${dlq ? ' DLQ' : ''}`,
      });
    if (props.targets.length > 0) {
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'Queue depth per target',
          width: 8,
          left: props.targets.map((t) => depth(t, false)),
        }),
        new GraphWidget({
          title: 'DLQ depth per target',
          width: 8,
          left: props.targets.map((t) => depth(t, true)),
        }),
        new GraphWidget({
          title: 'Delivery errors per target',
          width: 8,
          left: props.targets.map((t) =>
            custom(METRIC.deliveryFailed, 'delivery', { [DIMENSION.target]: t.targetName }, t.targetName),
          ),
        }),
      );
    }

    if (props.liveStream) {
      const ws = props.liveStream.api;
      const wsMetric = (metricName: string, label: string) =>
        new Metric({
          namespace: 'AWS/ApiGateway',
          metricName,
          dimensionsMap: { ApiId: ws.apiId, Stage: props.liveStream?.stage.stageName ?? 'live' },
          statistic: 'Sum',
          period: PERIOD,
          label,
        });
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'WebSocket connections',
          width: 12,
          left: [
            wsMetric('ConnectCount', 'connects'),
            custom(METRIC.connectionOpened, 'connections', {}, 'subscriptions stored'),
          ],
        }),
        new GraphWidget({
          title: 'Live pushes',
          width: 12,
          left: [
            custom(METRIC.broadcastSent, 'broadcast', {}, 'sent'),
            custom(METRIC.broadcastGone, 'broadcast', {}, 'gone (410) removed'),
            wsMetric('MessageCount', 'WebSocket messages'),
          ],
        }),
      );
    }
  }
}
