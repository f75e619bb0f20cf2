import { Stack } from 'aws-cdk-lib';
import { type HttpApi, HttpMethod, HttpRoute, HttpRouteKey } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FunctionSpec, HandlerName, ManagementRoutePlan } from '../core/plan';
import { RouterFunction, tracingFor } from './router-function';

export interface ManagementApiProps {
  /** The HTTP API the routes are added to (the webhook API: one endpoint for a stack). */
  readonly api: HttpApi;
  /** The planned management function (core/plan.ts). */
  readonly spec: FunctionSpec;
  /** The planned routes: `/v1/…` with IAM authorization, `GET /health` open. */
  readonly routes: readonly ManagementRoutePlan[];
  readonly table: ITable;
  readonly bus: IEventBus;
  readonly payloadBucket: IBucket;
  /** Prefix of every target's queue names (core/queues.ts): the API finds a target's queues by name. */
  readonly queuePrefix: string;
  /** The live stream, when the stack has one: agent keys live in its table; revoking one closes connections. */
  readonly live?: { readonly table: ITable; readonly callbackUrl: string; readonly connectionsArn: string };
  /**
   * The live stream's broadcast queue: a replay asked to reach live agents sends there.
   * @default - no live stream (such a replay is refused)
   */
  readonly broadcastQueue?: IQueue;
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

/** A route's construct id: `GET /v1/events/{id}` → `Route-GET-v1.events.id`. */
export const routeId = (route: ManagementRoutePlan) =>
  `Route-${route.method}-${route.path.replace(/[{}]/g, '').slice(1).replace(/\//g, '.')}`;

/** `/v1/events/{id}` → `/v1/events/*`: the part of an execute-api ARN that names a route's paths. */
const arnPath = (path: string) => path.replace(/\{[^}]+\}/g, '*');

/**
 * The management API: the `/v1` routes of the HTTP API, each with AWS IAM authorization (the caller signs with
 * SigV4; API Gateway checks its identity's `execute-api:Invoke` before the function runs), and `GET /health`, open.
 * Two managed policies name exactly the routes a reader (every GET) and an operator (every route) may call: attach
 * them to the users and roles that operate the router.
 */
export class ManagementApi extends Construct {
  public readonly managementFunction: RouterFunction;
  /** Signs the paging cursors (HMAC): a cursor cannot be forged or moved to another query. */
  public readonly cursorKey: Secret;
  /** May call every `GET /v1/…` route. */
  public readonly readerPolicy: ManagedPolicy;
  /** May call every `/v1/…` route: publish, redeliver, replay, pause, resume, redrive. */
  public readonly operatorPolicy: ManagedPolicy;
  public readonly routes: readonly HttpRoute[];

  constructor(scope: Construct, id: string, props: ManagementApiProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { table, bus, payloadBucket } = props;

    this.cursorKey = new Secret(this, 'CursorKey', {
      description: "Signs the management API's paging cursors (rotating it only invalidates cursors in use)",
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });

    const arn = (service: string, resource: string) =>
      `arn:${stack.partition}:${service}:${stack.region}:${stack.account}:${resource}`;
    this.managementFunction = new RouterFunction(this, 'Function', {
      spec: props.spec,
      refs: {
        eventsTable: table.tableName,
        bus: bus.eventBusName,
        payloadBucket: payloadBucket.bucketName,
        queuePrefix: props.queuePrefix,
        cursorKeySecret: this.cursorKey.secretArn,
        ...(props.broadcastQueue ? { broadcastQueueUrl: props.broadcastQueue.queueUrl } : {}),
        ...(props.live
          ? { liveTable: props.live.table.tableName, websocketEndpoint: props.live.callbackUrl }
          : {}),
      },
      grantResources: {
        ...(props.live
          ? { liveTable: [props.live.table.tableArn], websocketConnections: [props.live.connectionsArn] }
          : {}),
        eventsTable: [table.tableArn],
        eventsTableIndexes: [`${table.tableArn}/index/*`],
        bus: [bus.eventBusArn],
        payloadObjects: [payloadBucket.arnForObjects('payloads/*')],
        targetQueues: [arn('sqs', `${props.queuePrefix}-*`)],
        eventSourceMappings: [arn('lambda', 'event-source-mapping:*')],
        cursorKeySecret: [this.cursorKey.secretArn],
        ...(props.broadcastQueue ? { broadcastQueue: [props.broadcastQueue.queueArn] } : {}),
      },
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      logSampleRate: props.logSampleRate,
      tracing: tracingFor(props.spec, props.activeTracing),
    });

    const integration = new HttpLambdaIntegration('Integration', this.managementFunction.function);
    const iam = new HttpIamAuthorizer();
    this.routes = props.routes.map(
      (route) =>
        new HttpRoute(this, routeId(route), {
          httpApi: props.api,
          routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
          integration,
          ...(route.authorization === 'AWS_IAM' ? { authorizer: iam } : {}),
        }),
    );

    const invoke = (routes: readonly ManagementRoutePlan[]) =>
      new PolicyStatement({
        actions: ['execute-api:Invoke'],
        resources: routes.map((r) => props.api.arnForExecuteApi(r.method, arnPath(r.path), '$default')),
      });
    const secured = props.routes.filter((r) => r.authorization === 'AWS_IAM');
    this.readerPolicy = new ManagedPolicy(this, 'ReaderPolicy', {
      description: `Event Router ${stack.stackName}: read the management API (events, deliveries, targets, jobs)`,
      statements: [invoke(secured.filter((r) => !r.operator))],
    });
    this.operatorPolicy = new ManagedPolicy(this, 'OperatorPolicy', {
      description: `Event Router ${stack.stackName}: operate the management API (also publish, redeliver, replay, pause, resume, redrive)`,
      statements: [invoke(secured)],
    });
  }
}
