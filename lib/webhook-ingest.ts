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
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { SourcePlan, Topology } from '../core/plan';
import { grantTable } from './grants';
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
   * @default { rateLimit: 10, burstLimit: 20 }
   */
  readonly catchAllThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
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
  /** Secrets Manager secret of each source's signing secret, by source name. */
  public readonly sourceSecrets: ReadonlyMap<string, ISecret>;
  /** Secret holding each source's URL token (`{"token": "…"}`), by source name. */
  public readonly urlTokenSecrets: ReadonlyMap<string, Secret>;

  constructor(scope: Construct, id: string, props: WebhookIngestProps) {
    super(scope, id);
    if (props.sources.length === 0) throw new Error(`${this.node.path}: at least one source is required`);
    const logs = { logRetention: props.logRetention, logLevel: props.logLevel };
    const stack = Stack.of(this);

    this.ingestFunction = new RouterFunction(this, 'Ingest', {
      spec: props.functions.ingest,
      refs: {
        eventsTable: props.table.tableName,
        bus: props.bus.eventBusName,
        payloadBucket: props.payloadBucket.bucketName,
      },
      ...logs,
    });
    const ingest = this.ingestFunction.function;
    grantTable(ingest, props.table, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    props.bus.grantPutEventsTo(ingest);
    // Ingest only writes claim-check payloads; delivery reads them.
    ingest.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [props.payloadBucket.arnForObjects('payloads/*')],
      }),
    );

    const secrets = new Map<string, ISecret>();
    for (const source of props.sources) {
      const secret = Secret.fromSecretNameV2(this, `Secret-${source.name}`, source.config.secret.secretName);
      secret.grantRead(ingest);
      secrets.set(source.name, secret);
    }
    this.sourceSecrets = secrets;

    this.sweeperFunction = new RouterFunction(this, 'Sweeper', {
      spec: props.functions.sweeper,
      refs: { eventsTable: props.table.tableName, bus: props.bus.eventBusName },
      ...logs,
    });
    const sweeper = this.sweeperFunction.function;
    grantTable(sweeper, props.table, [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
    ]);
    props.bus.grantPutEventsTo(sweeper);
    new Rule(this, 'SweepSchedule', {
      description: 'Runs the pending-event sweeper',
      schedule: Schedule.rate(props.sweepInterval ?? Duration.minutes(1)),
      targets: [new LambdaFunction(sweeper, { retryAttempts: 0 })],
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
    const catchAll = props.catchAllThrottle ?? { rateLimit: 10, burstLimit: 20 };
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

    const secretPrefix = `event-router/${stack.stackName}/url-token/`;
    const tokens = new Map<string, Secret>();
    for (const source of props.sources) {
      tokens.set(
        source.name,
        new Secret(this, `UrlToken-${source.name}`, {
          secretName: `${secretPrefix}${source.name}`,
          description: `URL token of webhook source ${source.name}: POST <api>/webhooks/${source.name}/<token>`,
          // 32 letters and digits (about 190 bits): unguessable, and safe in a URL path.
          generateSecretString: {
            secretStringTemplate: '{}',
            generateStringKey: 'token',
            excludePunctuation: true,
            includeSpace: false,
            passwordLength: 32,
          },
        }),
      );
    }
    this.urlTokenSecrets = tokens;

    this.routesFunction = new RouterFunction(this, 'Routes', {
      spec: props.functions.routes,
      refs: {
        httpApi: this.api.apiId,
        httpIntegration: integration.integrationId,
        urlTokenSecretPrefix: secretPrefix,
      },
      ...logs,
    });
    const routes = this.routesFunction.function;
    for (const secret of tokens.values()) {
      secret.grantRead(routes);
      secret.grantWrite(routes);
    }
    const apiArn = `arn:${stack.partition}:apigateway:${stack.region}::/apis/${this.api.apiId}`;
    routes.addToRolePolicy(
      new PolicyStatement({
        actions: ['apigateway:GET', 'apigateway:POST', 'apigateway:DELETE'],
        resources: [`${apiArn}/routes`, `${apiArn}/routes/*`],
      }),
    );
    routes.addToRolePolicy(
      new PolicyStatement({
        actions: ['apigateway:PATCH', 'apigateway:DELETE'],
        resources: [`${apiArn}/stages/$default`, `${apiArn}/stages/$default/routesettings/*`],
      }),
    );

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
    routesResource.node.addDependency(this.stage, ...tokens.values());
  }

  /** Public base URL of the webhook API; a source's URL is `<base>/webhooks/<source>/<its URL token>`. */
  public get baseUrl(): string {
    return this.api.apiEndpoint;
  }
}
