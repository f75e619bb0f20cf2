import { CfnOutput, NestedStack, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { RouterConfig } from '../core/config';
import { planTopology, type Topology } from '../core/plan';
import { targetQueueNames } from '../core/queues';
import { RouterAlarms } from './alarms';
import { RouterDashboard } from './dashboard';
import { DeliveryTarget } from './delivery-target';
import { EventBus } from './event-bus';
import { EventStore } from './event-store';
import { LiveStream } from './live-stream';
import { ManagementApi } from './management-api';
import type { StageConfig } from './stages';
import { WebhookIngest } from './webhook-ingest';

export interface EventRouterStackProps extends StackProps {
  /** Validated router config (parseRouterConfig): sources, targets, filters, retry policies. */
  readonly routerConfig: RouterConfig;
  readonly stage: StageConfig;
}

/**
 * The whole router: ingest → store + bus → per-target queues and delivery → live stream, plus alarms that notify one
 * SNS topic and a dashboard.
 *
 * Each target lives in a nested stack of its own (about 13 resources: rule, queue, DLQ, their policies, function,
 * role, log group, event source mapping, signing secret). CloudFormation allows 500 resources per stack, so 50
 * targets would not fit in one; one stack per target (not one per group of targets) means adding or removing a
 * target never moves another's queue to a new stack, which would replace it and drop its messages.
 */
export class EventRouterStack extends Stack {
  public readonly topology: Topology;
  public readonly store: EventStore;
  public readonly eventBus: EventBus;
  public readonly ingest: WebhookIngest;
  public readonly targets: readonly DeliveryTarget[];
  public readonly liveStream?: LiveStream;
  public readonly management: ManagementApi;
  public readonly alarms: RouterAlarms;
  public readonly dashboard: RouterDashboard;

  constructor(scope: Construct, id: string, props: EventRouterStackProps) {
    super(scope, id, props);
    const { stage } = props;
    this.topology = planTopology(props.routerConfig, { stage: stage.name });
    const logs = {
      logRetention: stage.logRetention,
      logLevel: stage.logLevel,
      logSampleRate: stage.logSampleRate,
      activeTracing: stage.activeTracing,
    };

    this.store = new EventStore(this, 'EventStore', {
      retentionDays: this.topology.store.retentionDays,
      payloadRetentionDays: this.topology.store.payloadRetentionDays,
      removalPolicy: stage.dataRemovalPolicy,
    });
    this.eventBus = new EventBus(this, 'EventBus', {
      archivePattern: this.topology.bus.archivePattern,
      archiveRetentionDays: this.topology.bus.archiveRetentionDays,
    });
    // Before ingest: its publishers read the live table's lease.
    const { connections, broadcast } = this.topology.functions;
    if (this.topology.liveStream.enabled && connections && broadcast) {
      this.liveStream = new LiveStream(this, 'LiveStream', {
        bus: this.eventBus.bus,
        eventsTable: this.store.table,
        functions: { connections, broadcast },
        plan: this.topology.liveStream,
        accessLogs: stage.websocketAccessLogs,
        ...logs,
      });
      new CfnOutput(this, 'WebSocketUrl', {
        value: this.liveStream.url,
        description: 'wss:// URL for agents',
      });
      new CfnOutput(this, 'WebSocketTokenSecret', {
        value: this.liveStream.accessToken.secretArn,
        description: 'Secret holding the token agents append as ?token=',
      });
    }
    this.ingest = new WebhookIngest(this, 'Ingest', {
      sources: this.topology.sources,
      functions: this.topology.functions,
      table: this.store.table,
      bus: this.eventBus.bus,
      payloadBucket: this.store.payloadBucket,
      sweepInterval: stage.sweepInterval,
      catchAllThrottle: this.topology.http.catchAllThrottle,
      sweeperSchedule: this.topology.sweeperSchedule,
      queuePrefix: this.stackName,
      orderedTargetQueueNames: this.topology.targets.flatMap((t) =>
        t.ordering ? [targetQueueNames(this.stackName, t.name, true).queueName] : [],
      ),
      ...(this.liveStream ? { liveTable: this.liveStream.table } : {}),
      ...logs,
    });
    this.targets = this.topology.targets.map(
      (target) =>
        new DeliveryTarget(
          new NestedStack(this, `Target-${target.name}`, {
            description: `Event Router target ${target.name}`,
          }),
          'Target',
          {
            target,
            bus: this.eventBus.bus,
            table: this.store.table,
            payloadBucket: this.store.payloadBucket,
            queuePrefix: this.stackName,
            ...logs,
          },
        ),
    );
    this.management = new ManagementApi(this, 'Management', {
      api: this.ingest.api,
      spec: this.topology.functions.management,
      routes: this.topology.management.routes,
      table: this.store.table,
      bus: this.eventBus.bus,
      payloadBucket: this.store.payloadBucket,
      queuePrefix: this.stackName,
      broadcastQueue: this.liveStream?.broadcastQueue,
      ...(this.liveStream
        ? {
            live: {
              table: this.liveStream.table,
              callbackUrl: this.liveStream.callbackUrl,
              connectionsArn: this.liveStream.connectionsArn,
            },
          }
        : {}),
      ...logs,
    });
    this.alarms = new RouterAlarms(this, 'Alarms', {
      plan: this.topology.alarms,
      ingest: this.ingest,
      targets: this.targets,
      liveStream: this.liveStream,
      management: this.management,
    });
    this.dashboard = new RouterDashboard(this, 'Dashboard', {
      ingest: this.ingest,
      sourceNames: this.topology.sources.map((s) => s.name),
      targets: this.targets,
      liveStream: this.liveStream,
      alarms: this.alarms,
    });
    new CfnOutput(this, 'AlarmTopic', {
      value: this.alarms.topic.topicArn,
      description: 'SNS topic every alarm notifies (ALARM and OK): subscribe e-mail, chat or paging to it',
    });

    new CfnOutput(this, 'WebhookBaseUrl', {
      value: `${this.ingest.baseUrl}/webhooks/`,
      description: "A source's URL: <this><source>/<its token in the UrlTokenSecret>",
    });
    new CfnOutput(this, 'ManagementApiUrl', {
      value: this.ingest.baseUrl,
      description:
        'Management API (/v1, IAM authorization: sign with SigV4); the event-router CLI reads this output',
    });
    new CfnOutput(this, 'ManagementReaderPolicy', {
      value: this.management.readerPolicy.managedPolicyArn,
      description: 'Managed policy that may call every GET /v1 route',
    });
    new CfnOutput(this, 'ManagementOperatorPolicy', {
      value: this.management.operatorPolicy.managedPolicyArn,
      description: 'Managed policy that may call every /v1 route',
    });
    new CfnOutput(this, 'UrlTokenSecret', {
      value: this.ingest.urlTokenSecret.secretName,
      description: 'Secret holding each source\'s URL token: {"<source>": {"token": "…"}}',
    });
    for (const target of this.targets) {
      if (!target.signingSecret) continue;
      new CfnOutput(this, `SigningSecret-${target.targetName}`, {
        value: target.signingSecret.secretArn,
        description: `Secret whose value (prefixed whsec_) verifies deliveries to ${target.targetName}`,
      });
    }
  }
}
