import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../core/metrics';
import { type FunctionSpec, type ResourceRef, resolveEnvironment } from '../core/plan';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The Lambda runtime of every function: the latest Node.js that aws-cdk-lib offers (cdk-nag L1 asks for it too).
 * Bundles target Node 22 syntax, so the same code also runs on 22 and on Node 20 locally.
 */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

export interface RouterFunctionProps {
  /** The planned function (core/plan.ts): handler, memory, timeout, reserved concurrency, environment. */
  readonly spec: FunctionSpec;
  /** Names of the resources the spec's environment refers to (`{ ref }` values). */
  readonly refs: Partial<Record<ResourceRef, string>>;
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
 * The one NodejsFunction wrapper: pins runtime, ARM64, esbuild minify + source maps, an explicit log group with
 * retention, X-Ray tracing and the Powertools environment.
 */
export class RouterFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: RouterFunctionProps) {
    super(scope, id);
    const { spec } = props;
    const memorySize = spec.memoryMb;
    if (memorySize < 128 || memorySize > 10_240) {
      throw new Error(`${this.node.path}: memorySize must be 128-10240 MB, got ${memorySize}`);
    }
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, spec.entry),
      handler: 'handler',
      description: spec.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize,
      timeout: Duration.seconds(spec.timeoutSeconds),
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      reservedConcurrentExecutions: spec.reservedConcurrency,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: spec.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        ...resolveEnvironment(spec, props.refs),
      },
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node22',
        format: OutputFormat.CJS,
        // The runtime ships AWS SDK v3, but bundling pins the version we test with and trims cold start.
        externalModules: [],
      },
    });
  }
}
