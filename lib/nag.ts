import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { EventRouterStack } from './event-router-stack';
import { RouterFunction } from './router-function';

export interface NagAcknowledgment {
  readonly id: string;
  readonly reason: string;
}

/** A construct's CloudFormation logical id, as cdk-nag writes it inside a finding id (never hard-coded here). */
const logicalId = (construct: IConstruct) =>
  Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
const arnOf = (construct: IConstruct) => `<${logicalId(construct)}.Arn>`;

/**
 * cdk-nag AwsSolutions findings we accept, each on the construct that owns it and with its reason. Anything not
 * listed fails the synth. Returns what was acknowledged where, for the nag test and the docs.
 */
export function acknowledgeNagFindings(stack: EventRouterStack): { scope: string; ack: NagAcknowledgment }[] {
  const done: { scope: string; ack: NagAcknowledgment }[] = [];
  const ack = (scope: IConstruct, id: string, reason: string) => {
    Validations.of(scope).acknowledge({ id, reason });
    done.push({ scope: scope.node.path, ack: { id, reason } });
  };

  for (const fn of stack.node.findAll().filter((c): c is RouterFunction => c instanceof RouterFunction)) {
    ack(
      fn,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'The basic execution role only lets a function write its own CloudWatch logs; AWS maintains it.',
    );
    ack(
      fn,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (active tracing).',
    );
    ack(
      fn,
      `AwsSolutions-IAM5[Resource::${arnOf(stack.store.table)}/index/*]`,
      'Table grants cover its own GSIs (bySource, byType, unpublished), which the functions query.',
    );
  }

  const payloads = `AwsSolutions-IAM5[Resource::${arnOf(stack.store.payloadBucket)}/payloads/*]`;
  for (const fn of [stack.ingest.ingestFunction, ...stack.targets.map((t) => t.deliveryFunction)]) {
    ack(
      fn,
      payloads,
      "Payload objects are keyed by event id, unknown at deploy time; scoped to this bucket's payloads/.",
    );
  }
  const apiRoutes = `arn:<AWS::Partition>:apigateway:<AWS::Region>::/apis/<${logicalId(stack.ingest.api)}>`;
  ack(
    stack.ingest.routesFunction,
    `AwsSolutions-IAM5[Resource::${apiRoutes}/routes/*]`,
    "Route ids are assigned when the routes function creates each source's tokened route; scoped to this API.",
  );
  ack(
    stack.ingest.routesFunction,
    `AwsSolutions-IAM5[Resource::${apiRoutes}/stages/$default/routesettings/*]`,
    'Route settings are keyed by route keys that hold URL tokens, unknown at deploy time; scoped to this stage.',
  );
  for (const target of stack.targets) {
    ack(
      target.node.findChild('PauseOwnQueue'),
      'AwsSolutions-IAM5[Resource::*]',
      'lambda:ListEventSourceMappings supports no resource-level permission; the update it leads to is limited to ' +
        "this target's own event source mapping.",
    );
  }
  for (const [source, secret] of stack.ingest.urlTokenSecrets) {
    ack(
      secret,
      'AwsSolutions-SMG4',
      `The URL token of source ${source} is part of the URL set in the provider, so a rotation is coordinated by ` +
        'hand: invoke the routes function with {"rotate": "<source>"}, update the provider, then {"finishRotation": …}.',
    );
  }

  const live = stack.liveStream;
  if (live) {
    for (const fn of [live.connectionsFunction, live.broadcastFunction]) {
      ack(
        fn,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${logicalId(live.api)}>/*/*/@connections/*]`,
        'Connection ids are assigned at run time; the grant is scoped to this WebSocket API.',
      );
    }
    ack(
      live.api,
      'AwsSolutions-APIG4',
      'WebSocket clients present an access token that the $connect handler checks (timing-safe, rotatable); ' +
        'API Gateway allows an authorizer on $connect only, and the token check is that.',
    );
    ack(
      live.broadcastDeadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the broadcast rule target and of the broadcast function.',
    );
    ack(
      live.accessToken,
      'AwsSolutions-SMG4',
      'The token is shared with agents, so rotation is coordinated by hand: the secret may hold a JSON array of ' +
        'tokens, all accepted while agents switch.',
    );
  }
  ack(
    stack.ingest,
    'AwsSolutions-APIG4',
    "Webhook routes are reached only through each source's unguessable URL token and authenticated by the " +
      "provider's HMAC signature in the ingest handler; providers cannot sign IAM or JWT requests. The catch-all " +
      'route only ever answers 404/405.',
  );
  for (const target of stack.targets) {
    ack(
      target.signingSecret,
      'AwsSolutions-SMG4',
      'A signing secret is shared with the receiver, so rotation is coordinated by hand: the secret may hold a JSON ' +
        'array of secrets, all of which sign while receivers switch.',
    );
  }
  ack(
    stack.store.payloadBucket,
    'AwsSolutions-S1',
    'Only the router functions read and write this bucket; audit access with CloudTrail data events where needed ' +
      'instead of a log bucket per deployment.',
  );
  return done;
}
