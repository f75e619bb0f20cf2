import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  LogGroupLogDestination,
  WebSocketApi,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable, Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { COUNT_PERIOD_SECONDS } from '../core/alarms';
import { LIVE_TABLE } from '../core/contracts';
import { METRIC, METRICS_NAMESPACE } from '../core/metrics';
import { isLoopbackHttp } from '../core/oidc';
import type { FunctionSpec, HandlerName, Topology } from '../core/plan';
import type { ConnectionsRuntime } from '../core/runtime-config';
import { toCdkPattern } from './event-pattern';
import { tableFromLayout } from './event-store';
import { RouterFunction, tracingFor } from './router-function';

/**
 * Access logging of the WebSocket stage. Unlike HTTP APIs, a WebSocket (or REST) stage can only log once the account
 * has an API Gateway CloudWatch Logs role (`AWS::ApiGateway::Account`, one per account and region): without it the
 * first deploy fails with "CloudWatch Logs role ARN must be set in account settings to enable logging"
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
 * - `off`: no stage logging (the functions still log every connection);
 * - `account-role-exists`: the account already has the role (set by someone else): log;
 * - `create-account-role`: this stack creates a role and sets it on the account, then logs. The account setting is
 *   account-wide: it outlives this stack and replaces any role set before.
 */
export type WebSocketAccessLogs = 'off' | 'account-role-exists' | 'create-account-role';

export interface LiveStreamProps {
  readonly bus: IEventBus;
  /** The event store: a resuming connection reads the events it missed from it. */
  readonly eventsTable: ITable;
  /** The planned live stream (core/plan.ts): broadcast rule, queue and event source. */
  readonly plan: Topology['liveStream'];
  /** The planned functions (core/plan.ts). */
  readonly functions: { readonly connections: FunctionSpec; readonly broadcast: FunctionSpec };
  /**
   * What happens to the connections table when the stack is deleted (it holds nothing worth keeping).
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * WebSocket stage name.
   * @default 'live'
   */
  readonly stageName?: string;
  /**
   * @default 'off'
   */
  readonly accessLogs?: WebSocketAccessLogs;
  /**
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * @default 'INFO'
   */
  readonly logLevel?: string;
  /**
   * Share of invocations that log at DEBUG whatever the level.
   * @default 0
   */
  readonly logSampleRate?: number;
  /**
   * Handlers whose functions start X-Ray traces (Active); the others are PassThrough.
   * @default - every handler (Active)
   */
  readonly activeTracing?: readonly HandlerName[];
}

/** The default period of the metric methods, as aws-cdk-lib's own: 5 minutes. */
const DEFAULT_PERIOD = Duration.seconds(COUNT_PERIOD_SECONDS);

/**
 * WebSocket API for live agents: `$connect` checks the access token and stores the connection and its subscription
 * pattern, `$disconnect` removes it, actions update it. An EventBridge rule puts every event on the broadcast queue;
 * the broadcast function pushes each to the matching connections through `@connections` and drops connections that
 * are gone.
 */
export class LiveStream extends Construct {
  public readonly api: WebSocketApi;
  public readonly stage: WebSocketStage;
  public readonly connectionsFunction: RouterFunction;
  public readonly broadcastFunction: RouterFunction;
  public readonly rule: Rule;
  /** Connections and their subscriptions; the WebSocket functions are granted this table only. */
  public readonly table: Table;
  /** Token agents present on connect (`wss://…?token=<value>`); a JSON array of values during rotation. */
  public readonly accessToken: Secret;
  /** Events on their way to the broadcast function. */
  public readonly broadcastQueue: Queue;
  /** Events the broadcast rule could not put on the queue, and batches that failed twice. */
  public readonly broadcastDeadLetterQueue: Queue;
  /** https endpoint of `@connections` (what the functions' management client is configured with). */
  public readonly callbackUrl: string;
  /** ARN of `POST/@connections/*` on the stage (execute-api:ManageConnections). */
  public readonly connectionsArn: string;

  constructor(scope: Construct, id: string, props: LiveStreamProps) {
    super(scope, id);
    const { plan } = props;
    const stageName = props.stageName ?? 'live';
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) {
      throw new Error(`${this.node.path}: stageName must match [A-Za-z0-9_-]{1,128}, got "${stageName}"`);
    }
    // The config accepts an http:// issuer on a loopback address for the local stack; a deployed function cannot reach
    // one (its keys would never load, and every token would be refused).
    const oidc = (props.functions.connections.runtime as ConnectionsRuntime | undefined)?.oidc;
    for (const [field, url] of [
      ['issuer', oidc?.issuer],
      ['jwksUri', oidc?.jwksUri],
    ] as const) {
      if (url !== undefined && isLoopbackHttp(url))
        throw new Error(
          `liveStream.oidc.${field}: ${url} is an http:// address on this machine, which only the local stack (npm start) can use; deploy with the issuer's https URL`,
        );
    }

    this.accessToken = new Secret(this, 'AccessToken', {
      description: 'Token WebSocket clients present on connect (?token=)',
      generateSecretString: { passwordLength: 40, excludePunctuation: true, includeSpace: false },
    });
    this.table = tableFromLayout(
      this,
      'ConnectionsTable',
      LIVE_TABLE,
      props.removalPolicy ?? RemovalPolicy.DESTROY,
    );
    const logs = {
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      logSampleRate: props.logSampleRate,
    };
    // The API first, without routes: the functions need its management endpoint, and the routes need the functions.
    this.api = new WebSocketApi(this, 'Api', { description: 'Live event stream for agents' });
    const stack = Stack.of(this);
    this.callbackUrl = `https://${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}/${stageName}`;
    const callbackUrl = this.callbackUrl;
    // Every method on @connections: POST pushes, DELETE closes (revoked agent keys).
    this.connectionsArn = stack.formatArn({
      service: 'execute-api',
      resource: this.api.apiId,
      resourceName: `${stageName}/*/@connections/*`,
    });
    const connections = this.connectionsArn;
    this.connectionsFunction = new RouterFunction(this, 'Connections', {
      spec: props.functions.connections,
      refs: {
        liveTable: this.table.tableName,
        streamTokenSecret: this.accessToken.secretArn,
        websocketEndpoint: callbackUrl,
        eventsTable: props.eventsTable.tableName,
      },
      grantResources: {
        liveTable: [this.table.tableArn],
        eventsTable: [props.eventsTable.tableArn],
        streamTokenSecret: [this.accessToken.secretArn],
        websocketConnections: [connections],
      },
      ...logs,
      tracing: tracingFor(props.functions.connections, props.activeTracing),
    });
    const integration = new WebSocketLambdaIntegration(
      'ConnectionsIntegration',
      this.connectionsFunction.function,
    );
    const routes = ['$connect', '$disconnect', '$default', ...plan.actions].map((key) =>
      this.api.addRoute(key, { integration }),
    );

    const accessLogs = props.accessLogs ?? 'off';
    let accountSetting: CfnAccount | undefined;
    if (accessLogs === 'create-account-role') {
      const role = new Role(this, 'ApiGatewayLogsRole', {
        assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
        managedPolicies: [
          ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
        ],
      });
      accountSetting = new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    }
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName,
      autoDeploy: true,
      throttle: plan.throttle,
      ...(accessLogs === 'off'
        ? {}
        : {
            accessLogSettings: {
              destination: new LogGroupLogDestination(
                new LogGroup(this, 'AccessLogs', {
                  retention: props.logRetention ?? RetentionDays.ONE_MONTH,
                }),
              ),
            },
          }),
    });
    if (accountSetting) this.stage.node.addDependency(accountSetting);
    // Route-level throttling overrides the stage's for `$connect` (WebSocket APIs support route settings; the L2
    // stage does not expose them).
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-protect.html
    // `routeSettings` is untyped JSON: CloudFormation's own key names, written as they go into the template.
    (this.stage.node.defaultChild as CfnStage).routeSettings = {
      $connect: {
        ThrottlingRateLimit: plan.connectThrottle.rateLimit,
        ThrottlingBurstLimit: plan.connectThrottle.burstLimit,
      },
    };
    // Route settings name routes that must exist when the stage is created or updated.
    for (const route of routes) this.stage.node.addDependency(route);

    this.broadcastDeadLetterQueue = new Queue(this, 'BroadcastDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(plan.dlq.retentionSeconds),
    });
    this.broadcastQueue = new Queue(this, 'BroadcastQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(plan.queue.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(plan.queue.retentionSeconds),
      deadLetterQueue: { queue: this.broadcastDeadLetterQueue, maxReceiveCount: plan.queue.maxReceiveCount },
    });
    this.broadcastFunction = new RouterFunction(this, 'Broadcast', {
      spec: props.functions.broadcast,
      refs: {
        liveTable: this.table.tableName,
        websocketEndpoint: callbackUrl,
        broadcastQueueUrl: this.broadcastQueue.queueUrl,
      },
      grantResources: {
        liveTable: [this.table.tableArn],
        websocketConnections: [connections],
        broadcastQueue: [this.broadcastQueue.queueArn],
      },
      ...logs,
      tracing: tracingFor(props.functions.broadcast, props.activeTracing),
    });
    new EventSourceMapping(this, 'BroadcastEventSource', {
      target: this.broadcastFunction.function,
      eventSourceArn: this.broadcastQueue.queueArn,
      batchSize: plan.eventSource.batchSize,
      maxConcurrency: plan.eventSource.maxConcurrency,
    });
    this.rule = new Rule(this, 'BroadcastRule', {
      eventBus: props.bus,
      description: 'Every event, to the live stream',
      eventPattern: toCdkPattern(plan.broadcastRulePattern),
      targets: [
        new SqsQueue(this.broadcastQueue, {
          deadLetterQueue: this.broadcastDeadLetterQueue,
          retryAttempts: plan.ruleTarget.maximumRetryAttempts,
          maxEventAge: Duration.seconds(plan.ruleTarget.maximumEventAgeSeconds),
        }),
      ],
    });
  }

  /** wss:// URL agents connect to. */
  public get url(): string {
    return this.stage.url;
  }

  /**
   * A metric the live stream's functions emit (Powertools EMF, namespace `EventRouter`, dimension `service`).
   * @default - sum over 5 minutes
   */
  public metric(metricName: string, service: 'broadcast' | 'connections', props?: MetricOptions): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service },
      statistic: 'Sum',
      period: DEFAULT_PERIOD,
      ...props,
    });
  }

  /**
   * A metric of the WebSocket API's stage (namespace `AWS/ApiGateway`, dimensions `ApiId` and `Stage`;
   * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-logging.html).
   * @default - sum over 5 minutes
   */
  public metricApi(metricName: string, props?: MetricOptions): Metric {
    return new Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiId: this.api.apiId, Stage: this.stage.stageName },
      statistic: 'Sum',
      period: DEFAULT_PERIOD,
      ...props,
    });
  }

  /**
   * Events pushed to WebSocket connections.
   * @default - sum over 5 minutes
   */
  public metricSent(props?: MetricOptions): Metric {
    return this.metric(METRIC.broadcastSent, 'broadcast', props);
  }

  /**
   * Connections found gone (410) and removed.
   * @default - sum over 5 minutes
   */
  public metricGone(props?: MetricOptions): Metric {
    return this.metric(METRIC.broadcastGone, 'broadcast', props);
  }

  /**
   * Connections accepted and stored.
   * @default - sum over 5 minutes
   */
  public metricConnectionsOpened(props?: MetricOptions): Metric {
    return this.metric(METRIC.connectionOpened, 'connections', props);
  }

  /**
   * Received by ingest → pushed to a connection.
   * @default - p99 over 5 minutes
   */
  public metricLiveLatency(props?: MetricOptions): Metric {
    return this.metric(METRIC.liveLatency, 'broadcast', { statistic: 'p99', ...props });
  }

  /**
   * Messages in the broadcast dead-letter queue: live events EventBridge could not queue, and batches the broadcast
   * function failed twice.
   * @default - maximum over 5 minutes
   */
  public metricBroadcastDlqDepth(props?: MetricOptions): Metric {
    return this.broadcastDeadLetterQueue.metricApproximateNumberOfMessagesVisible(props);
  }

  /**
   * Errors calling the connections function (the WebSocket API's ExecutionError). IntegrationError is left out: it
   * also counts the 401 and 400 the function answers to bad tokens and patterns.
   * @default - sum over 5 minutes
   */
  public metricExecutionErrors(props?: MetricOptions): Metric {
    return this.metricApi('ExecutionError', props);
  }

  /**
   * Connection attempts (messages to the `$connect` route's integration).
   * @default - sum over 5 minutes
   */
  public metricConnects(props?: MetricOptions): Metric {
    return this.metricApi('ConnectCount', props);
  }

  /**
   * Messages sent to or from clients.
   * @default - sum over 5 minutes
   */
  public metricMessages(props?: MetricOptions): Metric {
    return this.metricApi('MessageCount', props);
  }
}
