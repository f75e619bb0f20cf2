import { createHash } from 'node:crypto';
import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpIntegration,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { SourcePlan, Throttle, Topology } from '../core/plan';
import { secretArnForPolicies } from './delivery-target';
import { RouterFunction } from './router-function';

export interface WebhookIngestProps {
  readonly sources: readonly SourcePlan[];
  /** The planned functions: ingest, sweeper, routes. */
  readonly functions: Pick<Topology['functions'], 'ingest' | 'sweeper' | 'routes'>;
  readonly table: ITable;
  readonly bus: IEventBus;
  readonly payloadBucket: IBucket;
  /**
   * How often the sweeper publishes accepted events whose publish failed.
   * @default Duration.minutes(1)
   */
  readonly sweepInterval?: Duration;
  /**
   * Throttle of the catch-all route, which answers every request that is not a POST to a source's tokened URL
   * (unknown paths, wrong tokens, wrong methods). Never shared with a source's capacity.
   */
  readonly catchAllThrottle: Throttle;
  /** The sweeper schedule's EventBridge retries. */
  readonly sweeperSchedule: Topology['sweeperSchedule'];
  /**
   * Prefix of the target queues' names (core/queues.ts): ingest and the sweeper send to the ordered targets' FIFO
   * queues by name.
   * @default the stack name
   */
  readonly queuePrefix?: string;
  /**
   * Names of the ordered targets' FIFO queues, which ingest and the sweeper send to.
   * @default none
   */
  readonly orderedTargetQueueNames?: readonly string[];
  /**
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * @default 'INFO'
   */
  readonly logLevel?: string;
}

/**
 * Access log fields: everything useful except the path and the route key, which hold a source's URL token (the
 * HTTP API logs `$context.path` and `$context.routeKey` verbatim).
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  method: '$context.httpMethod',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  error: '$context.error.message',
  integrationError: '$context.integrationErrorMessage',
} as const;

/**
 * The webhook API: `POST /webhooks/<source>/<url token>` → ingest Lambda, one route per source and token, each with
 * the source's throttle. The tokens are generated at deploy into Secrets Manager; the routes function creates the
 * routes from them (at deploy, through a custom resource, and on rotation), so no token is ever in the template.
 * Everything else falls to the `$default` catch-all, with its own small throttle, which answers 404/405.
 */
export class WebhookIngest extends Construct {
  public readonly api: HttpApi;
  public readonly stage: HttpStage;
  public readonly ingestFunction: RouterFunction;
  /** Publishes accepted events whose publish failed (the pending markers). */
  public readonly sweeperFunction: RouterFunction;
  /** Keeps the tokened routes in line with the URL-token secrets; invoke it to rotate a token. */
  public readonly routesFunction: RouterFunction;
  /** Secret holding every source's URL tokens (`{"<source>": {"token": "…"}}`); the routes function fills it. */
  public readonly urlTokenSecret: Secret;

  constructor(scope: Construct, id: string, props: WebhookIngestProps) {
    super(scope, id);
    if (props.sources.length === 0) throw new Error(`${this.node.path}: at least one source is required`);
    const logs = { logRetention: props.logRetention, logLevel: props.logLevel };
    const stack = Stack.of(this);
    const queuePrefix = props.queuePrefix ?? stack.stackName;
    const orderedTargetQueues = (props.orderedTargetQueueNames ?? []).map(
      (name) => `arn:${stack.partition}:sqs:${stack.region}:${stack.account}:${name}`,
    );

    this.ingestFunction = new RouterFunction(this, 'Ingest', {
      spec: props.functions.ingest,
      refs: {
        eventsTable: props.table.tableName,
        bus: props.bus.eventBusName,
        payloadBucket: props.payloadBucket.bucketName,
        queuePrefix,
      },
      grantResources: {
        eventsTable: [props.table.tableArn],
        bus: [props.bus.eventBusArn],
        payloadObjects: [props.payloadBucket.arnForObjects('payloads/*')],
        orderedTargetQueues,
        sourceSecrets: props.sources.map((source) =>
          secretArnForPolicies(
            Secret.fromSecretNameV2(this, `Secret-${source.name}`, source.config.secret.secretName),
            true,
          ),
        ),
      },
      ...logs,
    });
    const ingest = this.ingestFunction.function;

    this.sweeperFunction = new RouterFunction(this, 'Sweeper', {
      spec: props.functions.sweeper,
      refs: { eventsTable: props.table.tableName, bus: props.bus.eventBusName, queuePrefix },
      grantResources: {
        eventsTable: [props.table.tableArn],
        bus: [props.bus.eventBusArn],
        orderedTargetQueues,
      },
      ...logs,
    });
    const sweeper = this.sweeperFunction.function;
    sweeper.configureAsyncInvoke({
      retryAttempts: props.sweeperSchedule.asyncRetryAttempts,
      maxEventAge: Duration.seconds(props.sweeperSchedule.maxEventAgeSeconds),
    });
    new Rule(this, 'SweepSchedule', {
      description: 'Runs the pending-event sweeper',
      schedule: Schedule.rate(props.sweepInterval ?? Duration.minutes(1)),
      targets: [new LambdaFunction(sweeper, { retryAttempts: props.sweeperSchedule.retryAttempts })],
    });

    this.api = new HttpApi(this, 'Api', { description: 'Webhook ingestion', createDefaultStage: false });
    new HttpRoute(this, 'CatchAll', {
      httpApi: this.api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: new HttpLambdaIntegration('IngestIntegration', ingest),
    });
    const integration = this.node.findAll().find((c): c is HttpIntegration => c instanceof HttpIntegration);
    if (!integration) throw new Error(`${this.node.path}: the ingest integration was not created`);
    // The tokened routes are created at deploy time: let API Gateway invoke ingest for any `POST /webhooks/…`.
    ingest.addPermission('InvokeFromSourceRoutes', {
      principal: new ServicePrincipal('apigateway.amazonaws.com'),
      sourceArn: this.api.arnForExecuteApi('POST', '/webhooks/*', '*'),
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    const catchAll = props.catchAllThrottle;
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      // The stage default applies to the catch-all only: every source route gets its own throttle.
      throttle: catchAll,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    this.urlTokenSecret = new Secret(this, 'UrlTokens', {
      secretName: `event-router/${stack.stackName}/url-tokens`,
      description:
        "Each source's URL token: POST <api>/webhooks/<source>/<token>. The routes function adds one per new source.",
      // A JSON object; the random seed only keeps a plain value out of the template. The tokens (32 letters and
      // digits, ~190 bits each) are generated by the routes function at deploy.
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: '_seed',
        excludePunctuation: true,
        includeSpace: false,
        passwordLength: 16,
      },
    });

    const apiArn = `arn:${stack.partition}:apigateway:${stack.region}::/apis/${this.api.apiId}`;
    this.routesFunction = new RouterFunction(this, 'Routes', {
      spec: props.functions.routes,
      refs: {
        httpApi: this.api.apiId,
        httpIntegration: integration.integrationId,
        urlTokenSecret: this.urlTokenSecret.secretArn,
      },
      grantResources: {
        httpApiRoutes: [`${apiArn}/routes`, `${apiArn}/routes/*`],
        httpApiStage: [`${apiArn}/stages/$default`, `${apiArn}/stages/$default/routesettings/*`],
        urlTokenSecret: [this.urlTokenSecret.secretArn],
      },
      ...logs,
    });
    const routes = this.routesFunction.function;

    // Runs on every change of the sources or of the stage (a stage update could reset route settings).
    const routesResource = new CustomResource(this, 'SourceRoutes', {
      serviceToken: routes.functionArn,
      resourceType: 'Custom::SourceRoutes',
      properties: {
        version: createHash('sha256')
          .update(
            JSON.stringify({
              sources: props.sources.map((s) => [s.name, s.config.rateLimitPerSecond, s.config.burstLimit]),
              catchAll,
              routesFunction: props.functions.routes,
              accessLog: ACCESS_LOG_FIELDS,
            }),
          )
          .digest('hex'),
      },
    });
    routesResource.node.addDependency(this.stage, this.urlTokenSecret);
  }

  /** Public base URL of the webhook API; a source's URL is `<base>/webhooks/<source>/<its URL token>`. */
  public get baseUrl(): string {
    return this.api.apiEndpoint;
  }
}
