import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LIVE_TABLE } from '../core/contracts';
import type { EventPattern } from '../core/pattern';
import type { FunctionSpec } from '../core/plan';
import { toCdkPattern } from './event-pattern';
import { tableFromLayout } from './event-store';
import { grantTable } from './grants';
import { RouterFunction } from './router-function';

export interface LiveStreamProps {
  readonly bus: IEventBus;
  /** The planned functions (core/plan.ts). */
  readonly functions: { readonly connections: FunctionSpec; readonly broadcast: FunctionSpec };
  /**
   * What happens to the connections table when the stack is deleted (it holds nothing worth keeping).
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /** Events matching this pattern are pushed to connected clients whose subscription matches. */
  readonly broadcastPattern: EventPattern;
  /** Seconds a connection record lives (API Gateway closes connections after 2 h). */
  readonly connectionTtlSeconds: number;
  /**
   * WebSocket stage name.
   * @default 'live'
   */
  readonly stageName?: string;
  /**
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * @default 'INFO'
   */
  readonly logLevel?: string;
}

/** Route keys the WebSocket API answers (besides `$connect`, `$disconnect`, `$default`). */
export const WEBSOCKET_ACTIONS = ['subscribe', 'ping'] as const;

/**
 * WebSocket API for live agents: `$connect` checks the access token and stores the connection and its subscription pattern, `$disconnect`
 * removes it, actions update it; a broadcast Lambda fed by an EventBridge rule pushes matching events through
 * `@connections` and drops connections that are gone.
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
  /** Events the broadcast rule could not hand to the broadcast function. */
  public readonly broadcastDeadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: LiveStreamProps) {
    super(scope, id);
    const stageName = props.stageName ?? 'live';
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) {
      throw new Error(`${this.node.path}: stageName must match [A-Za-z0-9_-]{1,128}, got "${stageName}"`);
    }
    if (props.connectionTtlSeconds < 60 || props.connectionTtlSeconds > 7200) {
      throw new Error(
        `${this.node.path}: connectionTtlSeconds must be 60-7200, got ${props.connectionTtlSeconds}`,
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
    const logs = { logRetention: props.logRetention, logLevel: props.logLevel };
    // The API first, without routes: the functions need its management endpoint, and the routes need the functions.
    this.api = new WebSocketApi(this, 'Api', { description: 'Live event stream for agents' });
    const stack = Stack.of(this);
    const callbackUrl = `https://${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}/${stageName}`;
    this.connectionsFunction = new RouterFunction(this, 'Connections', {
      spec: props.functions.connections,
      refs: {
        liveTable: this.table.tableName,
        streamTokenSecret: this.accessToken.secretArn,
        websocketEndpoint: callbackUrl,
      },
      ...logs,
    });
    const integration = new WebSocketLambdaIntegration(
      'ConnectionsIntegration',
      this.connectionsFunction.function,
    );
    for (const route of ['$connect', '$disconnect', '$default', ...WEBSOCKET_ACTIONS]) {
      this.api.addRoute(route, { integration });
    }

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName,
      autoDeploy: true,
      throttle: { rateLimit: 500, burstLimit: 1000 },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });
    grantTable(this.connectionsFunction.function, this.table, [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    ]);
    this.accessToken.grantRead(this.connectionsFunction.function);
    this.api.grantManageConnections(this.connectionsFunction.function);

    this.broadcastFunction = new RouterFunction(this, 'Broadcast', {
      spec: props.functions.broadcast,
      refs: { liveTable: this.table.tableName, websocketEndpoint: callbackUrl },
      ...logs,
    });
    grantTable(this.broadcastFunction.function, this.table, ['dynamodb:Query', 'dynamodb:DeleteItem']);
    this.api.grantManageConnections(this.broadcastFunction.function);

    this.broadcastDeadLetterQueue = new Queue(this, 'BroadcastDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // EventBridge invokes asynchronously: function errors follow Lambda's async settings (by default two retries over
    // up to 6 hours). A re-run broadcast would push duplicates to the clients already served, so: no retries, a
    // short maximum age, and failures to the DLQ.
    this.broadcastFunction.function.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.minutes(5),
      onFailure: new SqsDestination(this.broadcastDeadLetterQueue),
    });
    this.rule = new Rule(this, 'BroadcastRule', {
      eventBus: props.bus,
      description: 'Every event, to the live stream',
      eventPattern: toCdkPattern(props.broadcastPattern),
      targets: [
        new LambdaFunction(this.broadcastFunction.function, {
          deadLetterQueue: this.broadcastDeadLetterQueue,
          retryAttempts: 2,
          // A live event older than this is no longer live.
          maxEventAge: Duration.minutes(5),
        }),
      ],
    });
  }

  /** wss:// URL agents connect to. */
  public get url(): string {
    return this.stage.url;
  }
}
