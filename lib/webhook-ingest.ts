import { Duration, Stack } from 'aws-cdk-lib';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../core/contracts';
import type { SourcePlan } from '../core/plan';
import { toRuntimeSources } from '../core/runtime-config';
import { RouterFunction } from './router-function';

export interface WebhookIngestProps {
  readonly sources: readonly SourcePlan[];
  readonly table: ITable;
  readonly bus: IEventBus;
  readonly payloadBucket: IBucket;
  /** Days an event is kept (sets its TTL). */
  readonly retentionDays: number;
  /**
   * How often the sweeper republishes stored events whose PutEvents failed.
   * @default Duration.minutes(1)
   */
  readonly sweepInterval?: Duration;
  /**
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * @default 'INFO'
   */
  readonly logLevel?: string;
}

/** Route of the catch-all that answers unknown sources (404) and wrong methods (405) through the handler. */
export const WEBHOOK_ROUTE_PATH = '/webhooks/{source}';

/**
 * HTTP API `POST /webhooks/{source}` → ingest Lambda. One route per configured source carries that source's
 * throttling; a catch-all route lets the handler answer unknown sources and wrong methods precisely.
 */
export class WebhookIngest extends Construct {
  public readonly api: HttpApi;
  public readonly stage: HttpStage;
  public readonly ingestFunction: RouterFunction;
  /** Republishes events that were stored but not published (PutEvents failed after the durable write). */
  public readonly sweeperFunction: RouterFunction;
  /** Secrets Manager secret of each source, by source name. */
  public readonly sourceSecrets: ReadonlyMap<string, ISecret>;

  constructor(scope: Construct, id: string, props: WebhookIngestProps) {
    super(scope, id);
    if (props.sources.length === 0) throw new Error(`${this.node.path}: at least one source is required`);

    this.ingestFunction = new RouterFunction(this, 'Ingest', {
      entry: 'lambdas/ingest/handler.ts',
      description: 'Verifies, deduplicates, stores and publishes webhooks',
      serviceName: 'ingest',
      // Providers give us 3 s (Slack) to 10 s (GitHub); leave room for a slow first secret fetch.
      timeout: Duration.seconds(10),
      memorySize: 1024,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.busName]: props.bus.eventBusName,
        [ENV.payloadBucket]: props.payloadBucket.bucketName,
        [ENV.retentionDays]: String(props.retentionDays),
        [ENV.sources]: JSON.stringify(toRuntimeSources(props.sources)),
      },
    });
    const fn = this.ingestFunction.function;
    props.table.grantReadWriteData(fn);
    props.bus.grantPutEventsTo(fn);
    // Ingest only writes claim-check payloads; delivery reads them.
    props.payloadBucket.grantPut(fn);

    const secrets = new Map<string, ISecret>();
    for (const source of props.sources) {
      const secret = Secret.fromSecretNameV2(this, `Secret-${source.name}`, source.config.secret.secretName);
      secret.grantRead(fn);
      secrets.set(source.name, secret);
    }
    this.sourceSecrets = secrets;

    this.sweeperFunction = new RouterFunction(this, 'Sweeper', {
      entry: 'lambdas/sweeper/handler.ts',
      description: 'Republishes stored events whose PutEvents failed',
      serviceName: 'sweeper',
      timeout: Duration.minutes(1),
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.busName]: props.bus.eventBusName,
      },
    });
    props.table.grantReadWriteData(this.sweeperFunction.function);
    props.bus.grantPutEventsTo(this.sweeperFunction.function);
    new Rule(this, 'SweepSchedule', {
      description: 'Runs the unpublished-event sweeper',
      schedule: Schedule.rate(props.sweepInterval ?? Duration.minutes(1)),
      targets: [new LambdaFunction(this.sweeperFunction.function, { retryAttempts: 0 })],
    });

    this.api = new HttpApi(this, 'Api', {
      description: 'Webhook ingestion',
      createDefaultStage: false,
    });
    const integration = new HttpLambdaIntegration('IngestIntegration', fn);
    const sourceRoutes = props.sources.flatMap((source) =>
      this.api.addRoutes({ path: `/webhooks/${source.name}`, methods: [HttpMethod.POST], integration }),
    );
    this.api.addRoutes({ path: WEBHOOK_ROUTE_PATH, methods: [HttpMethod.ANY], integration });

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      // Default for routes without their own settings (the catch-all): small, it only ever answers 404/405.
      throttle: { rateLimit: 10, burstLimit: 20 },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });
    // RouteSettings is untyped JSON in CloudFormation: keys must be written in its PascalCase. The routes must exist
    // before the stage names them, or the deployment fails with "Unable to find Route by key".
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    cfnStage.node.addDependency(...sourceRoutes);
    cfnStage.routeSettings = Object.fromEntries(
      props.sources.map((source) => [
        `POST /webhooks/${source.name}`,
        {
          ThrottlingRateLimit: source.config.rateLimitPerSecond,
          ThrottlingBurstLimit: source.config.burstLimit,
        },
      ]),
    );
  }

  /** Public URL a provider should call for this source. */
  public webhookUrl(sourceName: string): string {
    return `https://${this.api.apiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}/webhooks/${sourceName}`;
  }
}
