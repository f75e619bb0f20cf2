import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../core/config';
import exampleConfig from '../../router.config';
import { synthRouter } from '../support/cdk';

/** Resource whose logical id starts with a prefix (construct paths make them readable). */
function logicalIds(resources: Record<string, unknown>, prefix: string): string[] {
  return Object.keys(resources).filter((id) => id.startsWith(prefix));
}

describe('EventRouterStack with the example config', () => {
  const { template } = synthRouter();

  it('synthesizes one rule → queue (+DLQ) → delivery function for the pr-agent target', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['webhook.github'], 'detail-type': [{ prefix: 'pull_request.' }] },
      EventBusName: Match.anyValue(),
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TargetpragentQueue'), 'Arn'] } }),
      ],
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 120,
      RedrivePolicy: {
        deadLetterTargetArn: {
          'Fn::GetAtt': [Match.stringLikeRegexp('^TargetpragentDeadLetterQueue'), 'Arn'],
        },
        // 5 attempts + 20 receives of headroom: attempts are counted in the delivery log.
        maxReceiveCount: 25,
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 20,
      Environment: {
        Variables: Match.objectLike({
          ROUTER_TARGET: Match.anyValue(),
          ROUTER_QUEUE_URL: Match.anyValue(),
          ROUTER_DLQ_URL: Match.anyValue(),
          SIGNING_SECRET_ID: Match.anyValue(),
        }),
      },
    });
  });

  it('enforces TLS on every queue', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    for (const id of Object.keys(queues)) {
      const covering = policies.find(
        (p) =>
          JSON.stringify(p.Properties.Queues).includes(`"${id}"`) &&
          JSON.stringify(p.Properties.PolicyDocument).includes('aws:SecureTransport'),
      );
      expect(covering, `queue ${id} has no TLS-only policy`).toBeDefined();
    }
  });

  it("declares only the catch-all route: each source's tokened route is made at deploy from its secret", () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties.RouteKey,
    );
    expect(routes.filter((k) => String(k).startsWith('POST /webhooks'))).toEqual([]);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      // The stage default is the catch-all's small throttle; source routes get their own.
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
    });
    template.hasResourceProperties('Custom::SourceRoutes', { ServiceToken: Match.anyValue() });
  });

  it('generates each source URL token at deploy in Secrets Manager, never in the template', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'event-router/Router/url-token/github',
      GenerateSecretString: Match.objectLike({
        SecretStringTemplate: '{}',
        GenerateStringKey: 'token',
        ExcludePunctuation: true,
        PasswordLength: 32,
      }),
    });
  });

  it('keeps URL tokens out of the access logs: no path, no route key', () => {
    const [stage] = Object.values(
      template.findResources('AWS::ApiGatewayV2::Stage', { Properties: { StageName: '$default' } }),
    );
    const format = String(stage?.Properties.AccessLogSettings.Format);
    expect(format).toContain('$context.requestId');
    expect(format).not.toMatch(/\$context\.(path|routeKey|resourcePath)/);
  });

  it('lets the routes function manage only this API: its routes and the stage route settings', () => {
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('apigateway:POST');
    expect(policies).toMatch(/\/routes\/\*/);
    expect(policies).toMatch(/stages\/\$default\/routesettings\/\*/);
  });

  it('never retries a failed broadcast (duplicates to clients already served): straight to the DLQ', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
      DestinationConfig: {
        OnFailure: {
          Destination: {
            'Fn::GetAtt': [Match.stringLikeRegexp('^LiveStreamBroadcastDeadLetterQueue'), 'Arn'],
          },
        },
      },
    });
  });

  it('gives the ingest function the sources, the table, the bus and least-privilege grants', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ROUTER_SOURCES: Match.serializedJson([
            Match.objectLike({
              name: 'github',
              eventSource: 'webhook.github',
              config: Match.objectLike({ provider: 'github' }),
            }),
          ]),
          EVENT_RETENTION_DAYS: '30',
        }),
      },
    });
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('events:PutEvents');
    expect(policies).toContain('secretsmanager:GetSecretValue');
    expect(policies).toContain('execute-api:ManageConnections');
    expect(policies).toContain('dynamodb:PutItem');
    // The source secret is referenced by name, never embedded; generated secrets are generated by the service.
    const json = JSON.stringify(template.toJSON());
    expect(json).toContain('event-router/github-webhook-secret');
    expect(json).not.toMatch(/"SecretString"/);
    expect(json).not.toContain('local-dev-secret');
  });

  it('creates the live stream: WebSocket routes, stage, broadcast rule with a DLQ', () => {
    for (const route of ['$connect', '$disconnect', '$default', 'subscribe', 'ping']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: route });
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: [{ prefix: 'webhook.' }] },
      Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue(), RetryPolicy: Match.anyValue() })],
    });
  });

  it('schedules the sweeper and builds a dashboard', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const title of [
      'Webhooks accepted per source',
      'Queue depth per target',
      'DLQ depth per target',
      'WebSocket connections',
    ]) {
      expect(body).toContain(title);
    }
  });

  it('generates a signing secret per target, a URL token per source and the stream token, and outputs them', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 3);
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['WebhookBaseUrl', 'WebSocketUrl', 'WebSocketTokenSecret']),
    );
    expect(logicalIds(outputs, 'SigningSecretpragent')).toHaveLength(1);
    expect(logicalIds(outputs, 'UrlTokenSecretgithub')).toHaveLength(1);
  });
});

describe('EventRouterStack from other configs', () => {
  it('builds one target stack per configured target, each with its own pattern and retry count', () => {
    const config: RouterConfigInput = {
      ...exampleConfig,
      targets: [
        {
          name: 'a',
          kind: 'http',
          url: 'https://a.example',
          filter: { source: ['webhook.github'] },
          retry: { maxAttempts: 3 },
        },
        {
          name: 'b',
          kind: 'http',
          url: 'https://b.example',
          filter: { 'detail-type': ['push'] },
          retry: { maxAttempts: 9 },
        },
      ],
    };
    const { template } = synthRouter(config);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 23 }),
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 29 }),
    });
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: { 'detail-type': ['push'] } });
  });

  it('omits the live stream when disabled', () => {
    const { template } = synthRouter({ ...exampleConfig, liveStream: { enabled: false } });
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
  });

  it('retains data in prod and destroys it in dev', () => {
    synthRouter(exampleConfig, 'prod').template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
    });
    synthRouter(exampleConfig, 'dev').template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
    });
  });
});
