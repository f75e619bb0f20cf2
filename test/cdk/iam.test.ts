/**
 * Least privilege, checked three ways for every function:
 * 1. the SDK commands its bundled code can call (esbuild with tree shaking: only code reachable from the handler)
 *    map to exactly the actions its planned grants name (core/plan.ts);
 * 2. the synthesized policies of its role hold exactly those actions, plus writing its own logs and traces;
 * 3. no policy holds an action the plan does not name (no `grant*` families such as Scan or DescribeSecret).
 */

import path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { allFunctions, type FunctionSpec, planTopology } from '../../core/plan';
import { bundleOptions } from '../../lib/bundling';
import { synthRouter } from '../support/cdk';
import { allKindsConfig } from '../support/configs';

/** The IAM action each SDK command needs. */
const COMMAND_ACTIONS: Record<string, string> = {
  // DynamoDB (client and document client)
  GetCommand: 'dynamodb:GetItem',
  GetItemCommand: 'dynamodb:GetItem',
  PutCommand: 'dynamodb:PutItem',
  PutItemCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem',
  UpdateItemCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem',
  DeleteItemCommand: 'dynamodb:DeleteItem',
  QueryCommand: 'dynamodb:Query',
  ScanCommand: 'dynamodb:Scan',
  BatchGetCommand: 'dynamodb:BatchGetItem',
  BatchWriteCommand: 'dynamodb:BatchWriteItem',
  // EventBridge, S3, SQS, Secrets Manager, Lambda
  PutEventsCommand: 'events:PutEvents',
  DescribeEventBusCommand: 'events:DescribeEventBus',
  PutObjectCommand: 's3:PutObject',
  GetObjectCommand: 's3:GetObject',
  SendMessageCommand: 'sqs:SendMessage',
  GetQueueUrlCommand: 'sqs:GetQueueUrl',
  GetQueueAttributesCommand: 'sqs:GetQueueAttributes',
  ReceiveMessageCommand: 'sqs:ReceiveMessage',
  DeleteMessageCommand: 'sqs:DeleteMessage',
  // CloudWatch
  GetMetricDataCommand: 'cloudwatch:GetMetricData',
  ChangeMessageVisibilityCommand: 'sqs:ChangeMessageVisibility',
  GetSecretValueCommand: 'secretsmanager:GetSecretValue',
  PutSecretValueCommand: 'secretsmanager:PutSecretValue',
  ListEventSourceMappingsCommand: 'lambda:ListEventSourceMappings',
  UpdateEventSourceMappingCommand: 'lambda:UpdateEventSourceMapping',
  InvokeCommand: 'lambda:InvokeFunction',
  // API Gateway v2 (its IAM actions are HTTP verbs on the resource path)
  GetRoutesCommand: 'apigateway:GET',
  CreateRouteCommand: 'apigateway:POST',
  DeleteRouteCommand: 'apigateway:DELETE',
  UpdateStageCommand: 'apigateway:PATCH',
  DeleteRouteSettingsCommand: 'apigateway:DELETE',
  // API Gateway management API
  PostToConnectionCommand: 'execute-api:ManageConnections',
  DeleteConnectionCommand: 'execute-api:ManageConnections',
  GetConnectionCommand: 'execute-api:ManageConnections',
};

/**
 * The modules whose calls count: ours, and Powertools' parameters (our secret reader calls GetSecretValue through
 * it). The SDK's own modules also construct commands (the DocumentClient's aggregate class, the credential chain's
 * STS and SSO calls) that our code never reaches; esbuild keeps them because those packages declare side effects.
 * esbuild names a module by its real path relative to the working directory: a `node_modules` that is a symlink (a
 * git worktree sharing another checkout's) shows up as `../<elsewhere>/node_modules/…`.
 */
// `(^|/)node_modules`: in a git worktree whose node_modules is a symlink, esbuild names the real path (../…).
const OWN_CODE = /^(lambdas|core)\/|(^|\/)node_modules\/@aws-lambda-powertools\/parameters\//;

/** What Lambda's SQS poller does with the function's role: not in the code, needed all the same. */
const POLLER_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];

// One target of every kind: each delivery function is checked with its own kind's sender.
const topology = planTopology(parseRouterConfig(allKindsConfig));
const specs = allFunctions(topology);

/**
 * The commands a function's code constructs: its handler's bundle as deployed (ESM with code splitting, not
 * minified), the entry chunk and every chunk it imports statically, plus — for a delivery function — the chunk of its
 * target kind's sender (loaded with `import()`) and what that imports. Only the code of OWN_CODE modules is scanned;
 * esbuild heads each module's code with a `// <path>` comment.
 */
async function commandsOf(entry: string, senderKind?: string): Promise<Set<string>> {
  const result = await build({ ...bundleOptions(entry), minify: false, sourcemap: false, metafile: true });
  // Metafile paths are relative to the working directory; output files are absolute under the outdir ('/').
  const outputs = Object.fromEntries(
    Object.entries(result.metafile!.outputs).map(([p, o]) => [
      path.resolve(p),
      { ...o, imports: o.imports.map((i) => ({ ...i, path: path.resolve(i.path) })) },
    ]),
  );
  const texts = new Map((result.outputFiles ?? []).map((f) => [f.path, f.text]));
  const staticClosure = (start: string, into: Set<string>) => {
    if (into.has(start)) return;
    into.add(start);
    for (const imported of outputs[start]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) staticClosure(imported.path, into);
    }
  };
  const loaded = new Set<string>();
  const entryChunk = Object.keys(outputs).find((o) => o.endsWith('/index.mjs'))!;
  staticClosure(entryChunk, loaded);
  if (senderKind) {
    const sender = `lambdas/delivery/senders/${senderKind}.ts`;
    const chunk = Object.keys(outputs).find((o) => o.endsWith('.mjs') && sender in outputs[o]!.inputs);
    if (!chunk) throw new Error(`no chunk holds ${sender}`);
    staticClosure(chunk, loaded);
  }
  const commands = new Set<string>();
  for (const output of loaded) {
    const text = texts.get(output) ?? '';
    for (const section of text.split(/\n(?=\/\/ \S+\n)/)) {
      const module = /^\/\/ (\S+)\n/.exec(section)?.[1];
      if (!module || !OWN_CODE.test(module)) continue;
      // esbuild renames an import that collides with another module's (QueryCommand → QueryCommand2).
      for (const match of section.matchAll(/new (\w+Command)\d*\(/g)) commands.add(match[1]!);
    }
  }
  return commands;
}

const planned = (spec: FunctionSpec) => new Set(spec.grants.flatMap((g) => g.actions));

describe('IAM: each function is granted exactly what its code calls', () => {
  const called = new Map<string, Set<string>>();
  beforeAll(async () => {
    for (const spec of specs) {
      const kind = (spec.runtime as { target?: { config: { kind: string } } } | undefined)?.target?.config
        .kind;
      const commands = await commandsOf(spec.entry, kind);
      const actions = new Set<string>();
      for (const command of commands) {
        const action = COMMAND_ACTIONS[command];
        if (!action)
          throw new Error(`${spec.name}: no IAM action known for ${command} (add it to the table)`);
        actions.add(action);
      }
      // What SQS does with the sender's credentials: encrypting with the target queue's customer managed key.
      const config = (spec.runtime as { target?: { config: { kmsKeyArn?: string } } } | undefined)?.target
        ?.config;
      if (config?.kmsKeyArn) for (const a of ['kms:GenerateDataKey', 'kms:Decrypt']) actions.add(a);
      // The functions Lambda polls an SQS queue for.
      if (spec.handler === 'delivery' || spec.handler === 'broadcast')
        for (const a of POLLER_ACTIONS) actions.add(a);
      called.set(spec.name, actions);
    }
  }, 120_000);

  it.each(specs.map((s) => [s.name, s] as const))(
    '%s: the planned grants are the calls its code makes',
    (name, spec) => {
      expect([...planned(spec)].sort()).toEqual([...called.get(name)!].sort());
    },
  );
});

describe('IAM: the synthesized policies hold the planned grants and nothing else', () => {
  const { stack, template } = synthRouter(allKindsConfig);
  /** Every role's Allow actions, by the construct path of the function it belongs to. */
  const templates = [template, ...stack.targets.map((t) => Template.fromStack(Stack.of(t)))];

  it.each(specs.map((s) => [s.name, s] as const))('%s', (_name, spec) => {
    const actions = new Set<string>();
    for (const t of templates) {
      const resources = t.toJSON().Resources as Record<
        string,
        { Type: string; Properties: any; Metadata?: any }
      >;
      for (const resource of Object.values(resources)) {
        if (resource.Type !== 'AWS::IAM::Policy') continue;
        const path = String(resource.Metadata?.['aws:cdk:path'] ?? '');
        if (!path.includes(`/${constructOf(spec)}/`)) continue;
        for (const statement of resource.Properties.PolicyDocument.Statement) {
          expect(statement.Effect).toBe('Allow');
          for (const action of [statement.Action].flat()) actions.add(action);
        }
      }
    }
    const expected = new Set([
      ...planned(spec),
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
    ]);
    expect([...actions].sort()).toEqual([...expected].sort());
  });
});

/** The construct id of a planned function in the stack. */
function constructOf(spec: FunctionSpec): string {
  const ids: Record<string, string> = {
    ingest: 'Ingest/Ingest',
    sweeper: 'Ingest/Sweeper',
    routes: 'Ingest/Routes',
    management: 'Management/Function',
    connections: 'LiveStream/Connections',
    broadcast: 'LiveStream/Broadcast',
  };
  return ids[spec.name] ?? `Target-${spec.name.slice('delivery-'.length)}/Target/Delivery`;
}
