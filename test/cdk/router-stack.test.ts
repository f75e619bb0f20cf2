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
        maxReceiveCount: 5,
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
        Variables: Match.objectLike({ ROUTER_TARGET: Match.anyValue(), ROUTER_QUEUE_URL: Match.anyValue() }),
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

  it('routes POST /webhooks/github with throttling and a catch-all for the handler to answer 404/405', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhooks/github' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /webhooks/{source}' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
      RouteSettings: { 'POST /webhooks/github': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } },
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
    // The source secret is referenced by name, never embedded.
    expect(JSON.stringify(template.toJSON())).toContain('event-router/github-webhook-secret');
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

  it('generates a signing secret per target and the stream token, and outputs their ARNs', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['WebhookBaseUrl', 'WebSocketUrl', 'WebSocketTokenSecret']),
    );
    expect(logicalIds(outputs, 'SigningSecretpragent')).toHaveLength(1);
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
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }),
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 9 }),
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
