import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import { type IRole, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  Architecture,
  type CfnFunction,
  Code,
  Function as LambdaFunction,
  Runtime,
} from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../core/metrics';
import { type FunctionSpec, type GrantTarget, type ResourceRef, resolveEnvironment } from '../core/plan';
import { bundleHandlerSync, FUNCTION_NODE_OPTIONS, functionCode, HANDLER, REPO_ROOT } from './bundling';

/**
 * The Lambda runtime of every function: the latest Node.js that aws-cdk-lib offers (cdk-nag L1 asks for it too).
 * Bundles target Node 20 syntax, so the same code also runs on Node 20 locally.
 */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

/** Lambda: "The total size of the set of environment variables doesn't exceed 4 KB." */
export const MAX_ENVIRONMENT_BYTES = 4 * 1024;
/**
 * What an unresolved value (a table name, a queue URL, a secret ARN) may be once deployed, for the size check at
 * synth: queue URLs and secret ARNs of this stack are around 100-150 characters.
 */
export const TOKEN_ESTIMATE_BYTES = 256;

export interface RouterFunctionProps {
  /** The planned function (core/plan.ts): handler, memory, timeout, reserved concurrency, environment, runtime. */
  readonly spec: FunctionSpec;
  /** Names of the resources the spec's environment refers to (`{ ref }` values). */
  readonly refs: Partial<Record<ResourceRef, string>>;
  /**
   * ARNs of what the spec's grants are on. Grants on `any` and `ownFunction` need none; grants on
   * `ownEventSourceMapping` are applied by `grantOwnEventSourceMapping` once the mapping exists.
   */
  readonly grantResources?: Partial<Record<GrantTarget, readonly string[]>>;
  /**
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * @default 'INFO'
   */
  readonly logLevel?: string;
  /**
   * Share of invocations that log at DEBUG whatever the level (POWERTOOLS_LOGGER_SAMPLE_RATE).
   * @default 0
   */
  readonly logSampleRate?: number;
  /**
   * X-Ray tracing mode: `Active` — Lambda samples invocations that arrive without a decision (1 request per second
   * and 5 % of the rest; https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html); `PassThrough` — the
   * function starts no trace and passes an upstream trace context on
   * (https://aws.amazon.com/blogs/compute/streamlining-trace-sampling-behavior-for-aws-lambda-functions-with-aws-x-ray/).
   * @default 'Active'
   */
  readonly tracing?: 'Active' | 'PassThrough';
}

/** How a function traces: Active when its handler is listed, else PassThrough (every handler when no list). */
export function tracingFor(spec: FunctionSpec, activeTracing?: readonly string[]): 'Active' | 'PassThrough' {
  return activeTracing === undefined || activeTracing.includes(spec.handler) ? 'Active' : 'PassThrough';
}

/**
 * The environment of a tracing mode. PassThrough: `POWERTOOLS_TRACE_ENABLED=false` — the function starts no trace of
 * its own, so Powertools' Tracer would have nothing to do, and lambdas/shared/observability.ts does not load it (nor
 * the X-Ray SDK under it: about 118 KiB less at every cold start, bench/cold-start.bench.ts). Powertools reads only
 * `false` (any case); Active needs nothing, the Tracer is on by default in Lambda.
 */
export function tracingEnvironment(tracing: 'Active' | 'PassThrough'): Record<string, string> {
  return tracing === 'PassThrough' ? { POWERTOOLS_TRACE_ENABLED: 'false' } : {};
}

/** Bytes of an environment as Lambda counts them (names and values), unresolved values at their estimate. */
export function environmentBytes(environment: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(environment)) {
    bytes += Buffer.byteLength(name);
    if (!Token.isUnresolved(value)) bytes += Buffer.byteLength(value);
    else {
      // Literal parts count as they are; each token at its estimate.
      const literal = value.replace(/\$\{Token\[[^\]]+\]\}/g, '');
      const tokens = (value.match(/\$\{Token\[[^\]]+\]\}/g) ?? []).length;
      bytes += Buffer.byteLength(literal) + Math.max(1, tokens) * TOKEN_ESTIMATE_BYTES;
    }
  }
  return bytes;
}

/**
 * The one Lambda function wrapper: the planned spec bundled by lib/bundling.ts (ESM, code splitting) with its
 * `runtime.json`, Node 24 on ARM64, an explicit log group, and a role that may write to that log group only.
 */
export class RouterFunction extends Construct {
  /** The planned function this construct deploys. */
  public readonly spec: FunctionSpec;
  public readonly function: LambdaFunction;
  public readonly logGroup: LogGroup;
  public readonly role: IRole;
  /** The directory deployed as the function's code: `index.mjs` (and chunks) and `runtime.json`. */
  public readonly codeDirectory: string;

  constructor(scope: Construct, id: string, props: RouterFunctionProps) {
    super(scope, id);
    const { spec } = props;
    this.spec = spec;
    const memorySize = spec.memoryMb;
    const logSampleRate = props.logSampleRate ?? 0;
    const tracing = props.tracing ?? 'Active';
    if (!(logSampleRate >= 0 && logSampleRate <= 1)) {
      throw new Error(`${this.node.path}: logSampleRate must be between 0 and 1, got ${logSampleRate}`);
    }
    if (memorySize < 128 || memorySize > 10_240) {
      throw new Error(`${this.node.path}: memorySize must be 128-10240 MB, got ${memorySize}`);
    }
    const environment = {
      NODE_OPTIONS: FUNCTION_NODE_OPTIONS,
      POWERTOOLS_SERVICE_NAME: spec.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      POWERTOOLS_LOGGER_SAMPLE_RATE: String(logSampleRate),
      // Handler results hold event ids and batch failures, nothing a trace needs; errors are kept.
      POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
      ...tracingEnvironment(tracing),
      ...resolveEnvironment(spec, props.refs),
    };
    const bytes = environmentBytes(environment);
    if (bytes > MAX_ENVIRONMENT_BYTES) {
      const largest = Object.entries(environment)
        .sort((a, b) => b[1].length - a[1].length)
        .slice(0, 3)
        .map(([name]) => name)
        .join(', ');
      throw new Error(
        `${this.node.path}: environment of function ${spec.name} is about ${bytes} bytes; Lambda allows ` +
          `${MAX_ENVIRONMENT_BYTES} in all (largest: ${largest}). Config that grows belongs in its runtime.json.`,
      );
    }

    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    // Not AWSLambdaBasicExecutionRole (which may create any log group): this function's log group only.
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.role = role;

    this.codeDirectory = this.buildCode(spec);
    this.function = new LambdaFunction(this, 'Function', {
      code: Code.fromAsset(this.codeDirectory),
      handler: HANDLER,
      description: spec.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize,
      timeout: Duration.seconds(spec.timeoutSeconds),
      logGroup: this.logGroup,
      role,
      reservedConcurrentExecutions: spec.reservedConcurrency,
      environment,
    });
    // Tracing. The X-Ray actions stay granted in PassThrough too (a stage switches modes without touching roles). They,
    // and any other action without resource-level permissions, go to a policy of their own: the `Resource::*` they
    // need is then limited to exactly those statements.
    (this.function.node.defaultChild as CfnFunction).tracingConfig = { mode: tracing };
    const unscoped = [
      new PolicyStatement({
        actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        resources: ['*'],
      }),
    ];
    for (const grant of spec.grants) {
      if (grant.on === 'ownEventSourceMapping' || grant.on === 'ownFunction') continue;
      if (grant.on === 'any') {
        unscoped.push(new PolicyStatement({ actions: [...grant.actions], resources: ['*'] }));
        continue;
      }
      const resources = props.grantResources?.[grant.on];
      if (!resources?.length)
        throw new Error(`function ${spec.name}: grants on ${grant.on}, which this stack did not give`);
      role.addToPolicy(new PolicyStatement({ actions: [...grant.actions], resources: [...resources] }));
    }
    new Policy(this, 'Unscoped', { roles: [role], statements: unscoped });
    // Grants on the function itself go to a policy of their own: the function depends on its role's default policy,
    // which therefore cannot name the function's ARN.
    const own = spec.grants.filter((g) => g.on === 'ownFunction').flatMap((g) => g.actions);
    if (own.length > 0) {
      new Policy(this, 'OwnFunction', {
        roles: [role],
        statements: [new PolicyStatement({ actions: own, resources: [this.function.functionArn] })],
      });
    }
  }

  /**
   * The planned grant on the function's own event source mapping, in a policy of its own: the function must not
   * depend on it (the mapping depends on the function, this policy on the mapping).
   */
  public grantOwnEventSourceMapping(spec: FunctionSpec, mappingArn: string): Policy | undefined {
    const actions = spec.grants.filter((g) => g.on === 'ownEventSourceMapping').flatMap((g) => g.actions);
    if (actions.length === 0) return undefined;
    return new Policy(this, 'OwnEventSourceMapping', {
      roles: [this.role],
      statements: [new PolicyStatement({ actions, resources: [mappingArn] })],
    });
  }

  /**
   * The function's code: its handler's bundle plus runtime.json. Stacks that skip bundling (construct tests) get the
   * runtime.json alone.
   */
  private buildCode(spec: FunctionSpec): string {
    if (Stack.of(this).bundlingRequired) return functionCode(bundleHandlerSync(spec.entry), spec.runtime);
    const empty = path.join(REPO_ROOT, 'node_modules', '.cache', 'event-router', 'unbundled');
    mkdirSync(empty, { recursive: true });
    return functionCode(empty, spec.runtime);
  }
}
