/**
 * Logs, metrics and traces of every function: one Powertools logger, metrics and tracer each, and the correlation
 * id that ties an event's log lines, traces, delivery headers and WebSocket messages together.
 *
 * The correlation id is the event's id (the ULID ingest gives it); the provider's delivery id travels with it. A
 * function that handles several events at once (a delivery batch, processed in parallel) keeps each record's
 * correlation in an AsyncLocalStorage, so that every line logged while handling that record — by our code or a
 * library — carries that record's ids and no other's: the logger is shared, its keys are not.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import { METRICS_NAMESPACE } from '../../core/metrics';

/** What ties an event's traces together across functions. */
export interface Correlation {
  /** The router's event id: the correlation id. */
  eventId?: string;
  /** The provider's own delivery id, when it sends one. */
  deliveryId?: string | null;
  /** API Gateway's request id (ingest): the access log line of the same request carries it. */
  requestId?: string;
}

/** Where a record's trace annotations go: an X-Ray subsegment (or a stand-in in tests). */
export interface TraceAnnotations {
  addAnnotation(key: string, value: string | number | boolean): void;
  close?(): void;
}

interface CorrelationScope {
  readonly correlation: Correlation;
  readonly trace: TraceAnnotations | undefined;
}

const scopes = new AsyncLocalStorage<CorrelationScope>();

/** Log keys of a correlation: `correlation_id` is the key Powertools itself uses (`logger.setCorrelationId`). */
export function correlationKeys(correlation: Correlation | undefined): LogAttributes {
  if (!correlation) return {};
  const keys: LogAttributes = {};
  if (correlation.eventId) {
    keys.correlation_id = correlation.eventId;
    keys.eventId = correlation.eventId;
  }
  if (correlation.deliveryId) keys.deliveryId = correlation.deliveryId;
  if (correlation.requestId) keys.requestId = correlation.requestId;
  return keys;
}

/**
 * Powertools' JSON log line without the fields every line of a function's log group repeats — function_arn,
 * function_name, function_memory_size, sampling_rate: the log group already says them (about 140 bytes less per
 * line, a sixth of the log bytes a webhook costs: CloudWatch Logs bills ingestion per GB, bench/cost-model.ts) — with
 * the current record's correlation keys after them; a line's own fields still win. The fields queries and the local
 * human view use stay, under the same names.
 */
export class CorrelatedLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const context = attributes.lambdaContext;
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        cold_start: context?.coldStart,
        function_request_id: context?.awsRequestId,
        xray_trace_id: attributes.xRayTraceId,
      },
    })
      .addAttributes(correlationKeys(scopes.getStore()?.correlation))
      .addAttributes(additional);
  }
}

/** One logger and one metrics instance per function (service name from POWERTOOLS_SERVICE_NAME). */
export const logger = new Logger({ logFormatter: new CorrelatedLogFormatter() });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE });

/** What the handlers use of Powertools' Tracer. */
export type RouterTracer = Pick<
  Tracer,
  | 'captureAWSv3Client'
  | 'isTracingEnabled'
  | 'getSegment'
  | 'setSegment'
  | 'annotateColdStart'
  | 'addServiceNameAnnotation'
  | 'addErrorAsMetadata'
>;

/**
 * Whether Powertools' Tracer would trace here — its own rules (`Tracer.setTracingEnabled`, Powertools 2.35):
 * not when `POWERTOOLS_TRACE_ENABLED` is `false` (lib/router-function.ts sets it on every function deployed
 * PassThrough), and not outside Lambda, which it tells by `AWS_EXECUTION_ENV` (set by Lambda; not by the tests or
 * `npm start`, which sets `AWS_LAMBDA_FUNCTION_NAME` but not this) or inside SAM CLI or the Amplify mock. Values are
 * trimmed, `false` read in any case, as Powertools reads them.
 */
export function tracingPossible(env: NodeJS.ProcessEnv): boolean {
  const value = (name: string) => (env[name] ?? '').trim();
  if (value('POWERTOOLS_TRACE_ENABLED').toLowerCase() === 'false') return false;
  const executionEnv = value('AWS_EXECUTION_ENV');
  return executionEnv !== '' && executionEnv !== 'AWS_Lambda_amplify-mock' && value('AWS_SAM_LOCAL') === '';
}

/** The tracer where nothing is traced: clients stay as they are, there is no segment. */
export const untracedTracer: RouterTracer = {
  captureAWSv3Client: (client) => client,
  isTracingEnabled: () => false,
  getSegment: () => undefined,
  setSegment: () => {},
  annotateColdStart: () => {},
  addServiceNameAnnotation: () => {},
  addErrorAsMetadata: () => {},
};

/**
 * X-Ray through Powertools: AWS SDK clients are wrapped with `tracer.captureAWSv3Client`, outgoing HTTP(S) calls
 * (deliveries) are captured by default. Lambda decides which invocations are sampled before the handler runs — 1
 * request per second and 5 % of the rest when the function is Active and no upstream decision arrives
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html); the tracer only adds subsegments and annotations
 * to sampled invocations and cannot sample more or less. What is traced at all is the stage's tracing setting
 * (lib/stages.ts).
 *
 * The Tracer, and with it the X-Ray SDK (a 118 KiB chunk with semver and cls-hooked), is loaded only where it can
 * trace: a function deployed PassThrough starts no trace of its own and has no use for it, nor do the tests and
 * `npm start`; there `tracer` is `untracedTracer`. The `import()` makes it a chunk of its own that only an Active
 * function loads at init (bench/cold-start.bench.ts); the top-level await keeps `tracer` a plain constant, set before
 * any module that imports this one runs.
 */
export const tracer: RouterTracer = tracingPossible(process.env)
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer()
  : untracedTracer;

/**
 * Runs one invocation: a fresh debug-log sampling decision (POWERTOOLS_LOGGER_SAMPLE_RATE: that share of invocations
 * log at DEBUG whatever the level), the Lambda context on every line, and the handler's subsegment with the cold
 * start and service annotations.
 */
export async function invocation<T>(context: Context, run: () => Promise<T>): Promise<T> {
  logger.refreshSampleRateCalculation();
  logger.addContext(context);
  const segment = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
  const subsegment = segment?.addNewSubsegment(`## ${context.functionName}`);
  if (subsegment) {
    tracer.setSegment(subsegment);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
  }
  try {
    return await run();
  } catch (error) {
    if (subsegment) tracer.addErrorAsMetadata(error as Error);
    throw error;
  } finally {
    if (subsegment && segment) {
      subsegment.close();
      tracer.setSegment(segment);
    }
  }
}

/**
 * Handles one event (or request) under its correlation: every line logged meanwhile carries it. `trace` names a
 * subsegment of its own for it (several events handled at once each get theirs); without it, annotations go on the
 * invocation's subsegment.
 */
export async function withCorrelation<T>(
  correlation: Correlation,
  run: () => Promise<T>,
  options: { readonly trace?: string; readonly annotations?: TraceAnnotations } = {},
): Promise<T> {
  const trace =
    options.annotations ??
    (options.trace && tracer.isTracingEnabled()
      ? tracer.getSegment()?.addNewSubsegment(options.trace)
      : undefined);
  const scope: CorrelationScope = { correlation: { ...correlation }, trace };
  annotate(scope);
  try {
    return await scopes.run(scope, run);
  } finally {
    trace?.close?.();
  }
}

/**
 * Adds what became known while handling the current event (ingest assigns the id, delivery reads it from the
 * message) to its correlation: the log lines that follow carry it, and the trace is annotated with it.
 */
export function correlate(fields: Correlation): void {
  const scope = scopes.getStore();
  if (!scope) return;
  Object.assign(scope.correlation, fields);
  annotate(scope);
}

/** The current event's correlation, if any. */
export const currentCorrelation = (): Correlation | undefined => scopes.getStore()?.correlation;

/** X-Ray annotations are indexed: `annotation.eventId = "01J…"` finds an event's traces in every function. */
function annotate(scope: CorrelationScope): void {
  const target: TraceAnnotations | undefined =
    scope.trace ?? (tracer.isTracingEnabled() ? tracer.getSegment() : undefined);
  if (!target) return;
  const { eventId, deliveryId } = scope.correlation;
  if (eventId) target.addAnnotation('eventId', eventId);
  if (deliveryId) target.addAnnotation('deliveryId', deliveryId);
}
