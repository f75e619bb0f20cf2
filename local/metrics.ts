/**
 * The local stack's stand-in for CloudWatch metrics. Every counter comes from where AWS gets it:
 * - the functions' own metrics: the embedded-metric-format lines Powertools writes (`{"_aws":…}`), read from the
 *   functions' output exactly as CloudWatch Logs extracts them in Lambda — every metric in every dimension set;
 * - Lambda's metrics (Invocations, Errors, Duration): counted by the local Lambda runtime around each invocation;
 * - the HTTP API's (Count, 4xx, 5xx) and its access-log metric filters (429, 503): counted per answered request;
 * - SQS's (messages visible, age of the oldest): read from the local queues whenever metrics are read.
 *
 * The alarm conditions (local/alarms.ts) query these with CloudWatch's identity — namespace, name, the exact
 * dimension set — and `/metrics` renders them in Prometheus' text exposition format 0.0.4.
 */
import { createServer } from 'node:http';
import { METRIC_INFO, type MetricKind, type MetricName } from '../core/metrics';
import { closeServer, listenOnLoopback } from './net';

export type Dimensions = Readonly<Record<string, string>>;

/** The AWS metrics the local stack produces itself (not through EMF), with how each behaves. */
const AWS_METRIC_INFO: Readonly<Record<string, { readonly kind: MetricKind; readonly help: string }>> = {
  'AWS/Lambda Invocations': { kind: 'counter', help: 'Invocations of a local function' },
  'AWS/Lambda Errors': {
    kind: 'counter',
    help: 'Invocations that failed (an exception, a timeout, a crash)',
  },
  'AWS/Lambda Duration': { kind: 'distribution', help: 'Duration of an invocation' },
  'AWS/ApiGateway Count': { kind: 'counter', help: 'Requests to the webhook HTTP API' },
  'AWS/ApiGateway 4xx': { kind: 'counter', help: 'Requests the webhook HTTP API answered 4xx' },
  'AWS/ApiGateway 5xx': { kind: 'counter', help: 'Requests the webhook HTTP API answered 5xx' },
  'AWS/SQS ApproximateNumberOfMessagesVisible': { kind: 'gauge', help: 'Messages waiting in a queue' },
  'AWS/SQS ApproximateNumberOfMessagesNotVisible': { kind: 'gauge', help: 'Messages in flight in a queue' },
  'AWS/SQS ApproximateAgeOfOldestMessage': {
    kind: 'gauge',
    help: 'Age of the oldest message of a queue still waiting its turn',
  },
};

/** Histogram buckets of durations, in seconds: milliseconds for a call, up to an hour for a retried delivery. */
export const HISTOGRAM_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
] as const;

export interface LocalMetricsOptions {
  /** @default Date.now */
  readonly now?: () => number;
  /** How far back samples are kept for the windowed queries (the longest alarm period). @default 15 minutes */
  readonly windowMs?: number;
  /** Most samples kept per series (the oldest go first): bounds memory under a flood. @default 20_000 */
  readonly maxSamples?: number;
}

interface Series {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Dimensions;
  readonly kind: MetricKind;
  readonly unit: string;
  /**
   * Whether `/metrics` shows it. A dimension set that is a subset of another one of the same EMF line is the same
   * count aggregated (WebhookRejected by source, and by source and reason): Prometheus sums series itself, so only
   * the finest set is shown.
   */
  exported: boolean;
  /** Since start: the counter's total, the gauge's latest value, the distribution's sum. */
  total: number;
  count: number;
  latest: number;
  readonly buckets: number[];
  /** [epoch ms, value], oldest first, for the windowed queries. */
  readonly samples: [number, number][];
}

const key = (namespace: string, name: string, dimensions: Dimensions) =>
  `${namespace}\u0000${name}\u0000${Object.keys(dimensions)
    .sort()
    .map((k) => `${k}=${dimensions[k]}`)
    .join('\u0000')}`;

const kindOf = (namespace: string, name: string, unit: string): { kind: MetricKind; help: string } => {
  const known =
    AWS_METRIC_INFO[`${namespace} ${name}`] ??
    (METRIC_INFO as Record<string, (typeof METRIC_INFO)[MetricName]>)[name];
  if (known) return known;
  return { kind: unit === 'Count' ? 'counter' : 'gauge', help: `${namespace} ${name}` };
};

export class LocalMetrics {
  private readonly series = new Map<string, Series>();
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly maxSamples: number;

  constructor(options: LocalMetricsOptions = {}) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.maxSamples = options.maxSamples ?? 20_000;
  }

  /**
   * Records one embedded-metric-format line as CloudWatch does: each metric of each directive, once per dimension
   * set, with the dimension values and metric values from the line's top level. Returns whether the line was one.
   * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
   */
  recordEmf(line: string): boolean {
    let blob: Record<string, unknown>;
    try {
      blob = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return false;
    }
    const aws = blob?._aws as
      | {
          Timestamp?: number;
          CloudWatchMetrics?: {
            Namespace?: string;
            Dimensions?: string[][];
            Metrics?: { Name?: string; Unit?: string }[];
          }[];
        }
      | undefined;
    if (!aws || !Array.isArray(aws.CloudWatchMetrics)) return false;
    const at = typeof aws.Timestamp === 'number' ? aws.Timestamp : this.now();
    for (const directive of aws.CloudWatchMetrics) {
      const namespace = directive.Namespace;
      if (typeof namespace !== 'string') continue;
      const sets = (directive.Dimensions ?? []).filter((set) => Array.isArray(set));
      const resolved = (sets.length > 0 ? sets : [[]]).map((set) => {
        const dims: Record<string, string> = {};
        for (const name of set) {
          const value = blob[name];
          if (typeof value === 'string') dims[name] = value;
        }
        return dims;
      });
      const finest = (dims: Dimensions) =>
        !resolved.some(
          (other) =>
            other !== dims &&
            Object.keys(other).length > Object.keys(dims).length &&
            Object.entries(dims).every(([k, v]) => other[k] === v),
        );
      for (const metric of directive.Metrics ?? []) {
        if (typeof metric.Name !== 'string') continue;
        const raw = blob[metric.Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
        for (const dims of resolved) {
          for (const value of values)
            this.record(namespace, metric.Name, dims, value, metric.Unit ?? 'None', at, finest(dims));
        }
      }
    }
    return true;
  }

  /** Records one value of a metric (a count, a gauge reading, a duration). */
  record(
    namespace: string,
    name: string,
    dimensions: Dimensions,
    value: number,
    unit = 'None',
    at = this.now(),
    exported = true,
  ): void {
    const id = key(namespace, name, dimensions);
    let series = this.series.get(id);
    if (!series) {
      const { kind } = kindOf(namespace, name, unit);
      series = {
        namespace,
        name,
        dimensions: { ...dimensions },
        kind,
        unit,
        exported,
        total: 0,
        count: 0,
        latest: 0,
        buckets: HISTOGRAM_BUCKETS.map(() => 0),
        samples: [],
      };
      this.series.set(id, series);
    }
    series.exported ||= exported;
    series.count++;
    series.latest = value;
    if (series.kind === 'gauge') series.total = value;
    else series.total += value;
    if (series.kind === 'distribution') {
      const seconds = toSeconds(value, series.unit);
      HISTOGRAM_BUCKETS.forEach((le, i) => {
        if (seconds <= le) series.buckets[i]! += 1;
      });
    }
    series.samples.push([at, value]);
    const horizon = this.now() - this.windowMs;
    let drop = 0;
    while (drop < series.samples.length && series.samples[drop]![0] < horizon) drop++;
    if (series.samples.length - drop > this.maxSamples) drop = series.samples.length - this.maxSamples;
    if (drop > 0) series.samples.splice(0, drop);
  }

  private window(namespace: string, name: string, dimensions: Dimensions, periodMs: number): number[] {
    const series = this.series.get(key(namespace, name, dimensions));
    if (!series) return [];
    const since = this.now() - periodMs;
    return series.samples.filter(([at]) => at > since).map(([, v]) => v);
  }

  /** Sum of the values recorded in the last `periodMs` (CloudWatch's Sum); 0 when there were none. */
  sum(namespace: string, name: string, dimensions: Dimensions, periodMs: number): number {
    return this.window(namespace, name, dimensions, periodMs).reduce((a, b) => a + b, 0);
  }

  /** Largest value recorded in the last `periodMs` (Maximum), or undefined when there was none. */
  max(namespace: string, name: string, dimensions: Dimensions, periodMs: number): number | undefined {
    const values = this.window(namespace, name, dimensions, periodMs);
    return values.length === 0 ? undefined : Math.max(...values);
  }

  /** The `p`-th percentile (0-100) of the values of the last `periodMs` (nearest rank), or undefined. */
  percentile(
    namespace: string,
    name: string,
    dimensions: Dimensions,
    p: number,
    periodMs: number,
  ): number | undefined {
    const values = this.window(namespace, name, dimensions, periodMs).sort((a, b) => a - b);
    if (values.length === 0) return undefined;
    return values[Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))];
  }

  /** The latest value ever recorded, or undefined (a state reported only when it changes). */
  latest(namespace: string, name: string, dimensions: Dimensions): number | undefined {
    const series = this.series.get(key(namespace, name, dimensions));
    return series && series.count > 0 ? series.latest : undefined;
  }

  /** The Prometheus text exposition (format 0.0.4) of every exported series. */
  prometheus(): string {
    const families = new Map<string, { type: string; help: string; lines: string[] }>();
    const sorted = [...this.series.values()]
      .filter((s) => s.exported)
      .sort((a, b) =>
        key(a.namespace, a.name, a.dimensions).localeCompare(key(b.namespace, b.name, b.dimensions)),
      );
    for (const s of sorted) {
      const { help } = kindOf(s.namespace, s.name, s.unit);
      const base = `${prefixOf(s.namespace)}_${snake(s.name)}`;
      const name =
        s.kind === 'counter'
          ? `${base}_total`
          : s.kind === 'distribution' || s.unit === 'Seconds'
            ? `${base}_seconds`
            : base;
      const type = s.kind === 'distribution' ? 'histogram' : s.kind;
      let family = families.get(name);
      if (!family) {
        family = { type, help, lines: [] };
        families.set(name, family);
      }
      const labels = Object.entries(s.dimensions)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${snake(k)}="${escapeLabel(v)}"`);
      const set = (extra: string[] = []) => {
        const all = [...labels, ...extra];
        return all.length === 0 ? '' : `{${all.join(',')}}`;
      };
      if (s.kind === 'distribution') {
        HISTOGRAM_BUCKETS.forEach((le, i) => {
          family.lines.push(`${name}_bucket${set([`le="${le}"`])} ${s.buckets[i]}`);
        });
        family.lines.push(`${name}_bucket${set(['le="+Inf"'])} ${s.count}`);
        family.lines.push(`${name}_sum${set()} ${formatNumber(toSeconds(s.total, s.unit))}`);
        family.lines.push(`${name}_count${set()} ${s.count}`);
      } else {
        family.lines.push(`${name}${set()} ${formatNumber(s.total)}`);
      }
    }
    const out: string[] = [];
    for (const [name, family] of [...families.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.type}`, ...family.lines);
    }
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }
}

/** The Content-Type of the exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const toSeconds = (value: number, unit: string) =>
  unit === 'Milliseconds' ? value / 1000 : unit === 'Microseconds' ? value / 1e6 : value;

/** `EventRouter` → `event_router`, `AWS/Lambda` → `aws_lambda`. */
const prefixOf = (namespace: string) => namespace.split('/').map(snake).join('_');

/** `WebhookRejected` → `webhook_rejected`, `FunctionName` → `function_name`, `5xx` → `5xx`. */
export function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9_]/g, '_')
    .toLowerCase();
}

/** Label values escape backslash, double quote and line feed (exposition format 0.0.4). */
const escapeLabel = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
/** HELP text escapes backslash and line feed. */
const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

const formatNumber = (n: number) =>
  Number.isFinite(n) ? String(n) : Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';

export interface MetricsServer {
  /** `http://127.0.0.1:<port>/metrics` */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Serves `GET /metrics` on 127.0.0.1: the Prometheus exposition of `metrics`, after `sample()` brought the sampled
 * ones (queues) up to date. Anything else is 404 (405 for another method on `/metrics`).
 */
export async function serveMetrics(
  metrics: LocalMetrics,
  options: { readonly port?: number; readonly sample?: () => void } = {},
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    req.resume();
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end();
      return;
    }
    let body: string;
    try {
      options.sample?.();
      body = metrics.prometheus();
    } catch (error) {
      res
        .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
        .end(`${(error as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  const port = await listenOnLoopback(server, options.port ?? 0, 'metrics');
  return { url: `http://127.0.0.1:${port}/metrics`, port, stop: () => closeServer(server) };
}
