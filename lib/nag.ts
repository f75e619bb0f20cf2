import { type CfnElement, Names, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { EventRouterStack } from './event-router-stack';
import { routeId } from './management-api';
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
 * How cdk-nag names a parent resource's ARN inside a nested stack: the parameter CDK passes it as,
 * `reference-to-<the resource's node unique id>Arn` without its dashes (aws-cdk-lib core/lib/private/refs).
 */
const nestedArnOf = (construct: IConstruct) =>
  `<referenceto${Names.nodeUniqueId((construct.node.defaultChild ?? construct).node)}Arn>`;

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
      fn.node.findChild('Unscoped'),
      'AwsSolutions-IAM5[Resource::*]',
      'This policy holds only actions that support no resource-level permission: X-Ray PutTraceSegments/' +
        'PutTelemetryRecords (active tracing); for a delivery function and the management function ' +
        'lambda:ListEventSourceMappings; for the management function cloudwatch:GetMetricData.',
    );
  }

  const payloadsReason =
    "Payload objects are keyed by event id, unknown at deploy time; scoped to this bucket's payloads/.";
  ack(
    stack.ingest.ingestFunction,
    `AwsSolutions-IAM5[Resource::${arnOf(stack.store.payloadBucket)}/payloads/*]`,
    payloadsReason,
  );
  for (const target of stack.targets) {
    ack(
      target.deliveryFunction,
      `AwsSolutions-IAM5[Resource::${nestedArnOf(stack.store.payloadBucket)}/payloads/*]`,
      payloadsReason,
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
  ack(
    stack.ingest.urlTokenSecret,
    'AwsSolutions-SMG4',
    "A source's URL token is part of the URL set in the provider, so a rotation is coordinated by hand: invoke the " +
      'routes function with {"rotate": "<source>"} (both URLs work), update the provider, then {"finishRotation": …}.',
  );

  const live = stack.liveStream;
  if (live) {
    for (const fn of [
      live.connectionsFunction,
      live.broadcastFunction,
      stack.management.managementFunction,
    ]) {
      ack(
        fn,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${logicalId(live.api)}>/${live.stage.stageName}/*/@connections/*]`,
        'Connection ids are assigned at run time; the grant is scoped to this WebSocket API.',
      );
    }
    ack(
      live.api,
      'AwsSolutions-APIG4',
      'WebSocket clients present an agent key (or the admin token) that the $connect handler checks before the ' +
        'connection is stored (timing-safe, revocable); API Gateway allows an authorizer on $connect only, and this ' +
        'check is that.',
    );
    if (live.node.tryFindChild('AccessLogs') === undefined) {
      ack(
        live.stage,
        'AwsSolutions-APIG1',
        'WebSocket stage logging needs the account-level API Gateway CloudWatch Logs role, which a first deploy in an ' +
          'account without it cannot assume; it is opt-in (stage websocketAccessLogs). The connections function logs ' +
          'every connect, disconnect and action meanwhile.',
      );
    }
    const accountRole = live.node.tryFindChild('ApiGatewayLogsRole');
    if (accountRole) {
      ack(
        accountRole,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        "API Gateway's account-level logging role: AWS documents this managed policy for it, and maintains it.",
      );
    }
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
    if (!target.signingSecret) continue;
    ack(
      target.signingSecret,
      'AwsSolutions-SMG4',
      'A signing secret is shared with the receiver, so rotation is coordinated by hand: the secret may hold a JSON ' +
        'array of secrets, all of which sign while receivers switch.',
    );
  }
  const management = stack.management;
  const managementFn = management.managementFunction;
  ack(
    managementFn,
    `AwsSolutions-IAM5[Resource::${arnOf(stack.store.payloadBucket)}/payloads/*]`,
    payloadsReason,
  );
  ack(
    managementFn,
    `AwsSolutions-IAM5[Resource::${arnOf(stack.store.table)}/index/*]`,
    "Query on the events table's indexes (events by source, deliveries by target); scoped to this table.",
  );
  ack(
    managementFn,
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:${stack.stackName}-*]`,
    "Every target's queue and DLQ is named <stack name>-<target>[-dlq] and lives in a nested stack of its own; " +
      'the API finds them by name. Scoped to queues named after this stack.',
  );
  ack(
    managementFn,
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:event-source-mapping:*]',
    "Pause and resume enable a target's event source mapping, whose ARN ends in a UUID generated at deploy; only " +
      'UpdateEventSourceMapping is granted on it.',
  );
  const apiArn = `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${logicalId(stack.ingest.api)}>/$default`;
  for (const route of stack.topology.management.routes) {
    if (route.authorization !== 'AWS_IAM' || !route.path.includes('{')) continue;
    const resource = `AwsSolutions-IAM5[Resource::${apiArn}/${route.method}${route.path.replace(/\{[^}]+\}/g, '*')}]`;
    const reason = `The route ${route.routeKey} has a path parameter; the grant names that route alone.`;
    ack(management.operatorPolicy, resource, reason);
    if (!route.operator) ack(management.readerPolicy, resource, reason);
  }
  for (const route of stack.topology.management.routes) {
    if (route.authorization !== 'NONE') continue;
    ack(
      management.node.findChild(routeId(route)),
      'AwsSolutions-APIG4',
      `${route.routeKey} answers status and version only, for load balancers and uptime checks; every /v1 route ` +
        'has IAM authorization.',
    );
  }
  ack(
    management.cursorKey,
    'AwsSolutions-SMG4',
    'The cursor key only signs paging cursors: replace its value (put-secret-value) to rotate; cursors in use ' +
      'then answer 400 and the client starts its listing again.',
  );
  ack(
    stack.store.payloadBucket,
    'AwsSolutions-S1',
    'Only the router functions read and write this bucket; audit access with CloudTrail data events where needed ' +
      'instead of a log bucket per deployment.',
  );
  return done;
}
