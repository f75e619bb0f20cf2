/**
 * Dollars per million webhooks for a workload, from what was measured — every SDK request the ingest, delivery and
 * broadcast functions make for the reference webhook (their bodies give item sizes, write units and entry sizes),
 * their CPU per event, the log bytes they write — priced with bench/prices.ts. Pure: bench/cost.ts and
 * bench/cost.bench.ts measure, this computes.
 *
 * What is measured and what is assumed is said line by line (`basis`). Assumed: the latency of each AWS call and of
 * the target (a function is billed while it waits), how many messages a queue poll returns, Lambda's platform log
 * lines, and how X-Ray samples.
 */
import { EVENTS_TABLE, liveKeys } from '../core/contracts';
import type { RecordedRequest } from './cpu/harness';
import { PEERS, PRICES } from './prices';

export type Flow = 'ingest' | 'delivery' | 'broadcast';

export interface MeasuredFunction {
  /** Every SDK request of one warm invocation. */
  readonly requests: readonly RecordedRequest[];
  /** CPU ms per invocation (bench/cpu harness). */
  readonly cpuMs: number;
  /** Bytes of log lines per invocation (from a local run of the stack, else the harness). */
  readonly logBytes: number;
  /** Powertools logger lines per invocation (each carries the X-Ray trace id on Lambda; EMF lines do not). */
  readonly loggerLines: number;
  readonly memoryMb: number;
  readonly tracing: 'Active' | 'PassThrough' | 'off';
}

export interface Measured {
  readonly functions: Readonly<Record<Flow, MeasuredFunction>>;
  /** The queue message a delivery or broadcast function receives (EventBridge's event as SQS holds it). */
  readonly queueMessageBytes: number;
  /** The body POSTed to the HTTP target. */
  readonly deliveredBodyBytes: number;
  /** One API Gateway access log line. */
  readonly accessLogBytes: number;
  /** Where the log bytes were measured. */
  readonly logSource: string;
}

export interface Workload {
  readonly name: string;
  readonly webhooksPerMonth: number;
  /** WebSocket clients subscribed to every event. */
  readonly agents: number;
  /** Messages per delivery / broadcast invocation (Lambda's poller returns what is there; at a few per second, 1). */
  readonly batch: number;
  /** Latency of the calls a function waits for (ms). */
  readonly latencyMs: {
    readonly dynamoWrite: number;
    readonly dynamoRead: number;
    readonly putEvents: number;
    readonly target: number;
    readonly postToConnection: number;
  };
  readonly retentionDays: number;
  readonly dedupeDays: number;
  readonly deliveryLogDays: number;
  readonly archiveRetentionDays: number;
  readonly logRetentionDays: number;
  /** Fixed monthly resources: secrets, queues with a poller, custom metrics. */
  readonly secrets: number;
  readonly polledQueues: number;
  readonly customMetrics: number;
  /**
   * Levers the model can price that the code does not pull (bench/cost.ts lists them): X-Ray off for some functions,
   * no archive.
   */
  readonly levers?: {
    readonly tracingOff?: readonly Flow[];
    readonly noArchive?: boolean;
  };
}

/** The reference workload of the issue: a 21 KB GitHub pull_request webhook to one HTTP target, no agent. */
export const REFERENCE_WORKLOAD: Workload = {
  name: '10 M webhooks a month (3.9/s), one HTTP target, no WebSocket agent',
  webhooksPerMonth: 10_000_000,
  agents: 0,
  batch: 1,
  latencyMs: { dynamoWrite: 5, dynamoRead: 3, putEvents: 15, target: 50, postToConnection: 10 },
  retentionDays: 30,
  dedupeDays: 7,
  deliveryLogDays: 30,
  archiveRetentionDays: 30,
  logRetentionDays: 90,
  // A source's webhook secret, the target's signing secret, the stream token, the URL tokens.
  secrets: 4,
  polledQueues: 2,
  // Per source: accepted, duplicate, rejected, publish failed; per target: succeeded, latency, failed, retrying.
  customMetrics: 8,
};

export type Group = 'flow' | 'held data' | 'fixed';

export interface CostLine {
  readonly group: Group;
  readonly service: string;
  readonly item: string;
  /** Billed units per webhook (for `fixed`: per month). */
  readonly units: number;
  readonly unit: string;
  readonly perMillion: number;
  readonly basis: string;
  /** Data transfer out to the internet. */
  readonly dto?: boolean;
}

export interface CostModel {
  readonly workload: Workload;
  readonly lines: CostLine[];
  readonly total: number;
  readonly withoutDto: number;
  /** What any design on these services pays at least: the API request, the bus event, one queue hop, the invocations. */
  readonly floor: number;
  readonly writeUnits: number;
  readonly eventItemBytes: number;
  readonly logBytesPerWebhook: number;
  readonly peers: typeof PEERS;
}

// ─── DynamoDB sizes (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)

type Wire = Record<string, WireValue>;
type WireValue = {
  S?: string;
  N?: string;
  B?: string;
  BOOL?: boolean;
  NULL?: boolean;
  L?: WireValue[];
  M?: Wire;
};

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** Bytes of a number as DynamoDB counts them: 1 byte per two significant digits, plus 1. */
function numberBytes(n: string): number {
  const digits = n.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function valueBytes(v: WireValue): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) return numberBytes(v.N);
  // Binary travels as base64 but is counted raw.
  if (v.B !== undefined) return Buffer.from(v.B, 'base64').length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.L) return 3 + v.L.reduce((sum, e) => sum + valueBytes(e) + 1, 0);
  if (v.M) return 3 + Object.entries(v.M).reduce((sum, [k, e]) => sum + utf8(k) + valueBytes(e) + 1, 0);
  return 0;
}

export function itemBytes(item: Wire): number {
  return Object.entries(item).reduce((sum, [name, v]) => sum + utf8(name) + valueBytes(v), 0);
}

const units = (bytes: number, per: number) => Math.max(1, Math.ceil(bytes / per));

interface DynamoUse {
  readonly writeUnits: number;
  readonly readUnits: number;
  readonly writes: string[];
  /** Bytes each stored item and index entry holds, kept for the retention of its kind. */
  readonly stored: { readonly kind: 'event' | 'dedupe' | 'attempt'; readonly bytes: number }[];
  readonly eventItemBytes: number;
}

function keyOf(item: Wire): string {
  return `${item.pk?.S}|${item.sk?.S}`;
}

/**
 * Ingest's read of the live lease: once a second per container, not per event, so priced on its own line (costModel) and
 * left out of the recorded invocation's requests, which it may or may not have made.
 */
const isLeaseRead = (r: RecordedRequest) =>
  r.service === 'dynamodb' &&
  r.operation === 'GetItem' &&
  (JSON.parse(r.body) as { Key?: Wire }).Key?.pk?.S === liveKeys.subscriptionsVersion.pk;

function withoutLeaseReads(functions: Measured['functions']): Measured['functions'] {
  // Ingest's only: broadcast reads the same item per batch for the connections' version, and that read is per event.
  return {
    ...functions,
    ingest: { ...functions.ingest, requests: functions.ingest.requests.filter((r) => !isLeaseRead(r)) },
  };
}

/** Write and read units of a function's DynamoDB requests, from their bodies. */
function dynamoUse(requests: readonly RecordedRequest[]): DynamoUse {
  const index = EVENTS_TABLE.indexes[0];
  const known = new Map<string, number>();
  let writeUnits = 0;
  let readUnits = 0;
  let eventItemBytes = 0;
  const writes: string[] = [];
  const stored: DynamoUse['stored'] = [];
  for (const r of requests.filter((q) => q.service === 'dynamodb')) {
    const body = JSON.parse(r.body) as {
      Item?: Wire;
      Key?: Wire;
      ConsistentRead?: boolean;
      ExpressionAttributeValues?: Wire;
      UpdateExpression?: string;
    };
    if (r.operation === 'PutItem' && body.Item) {
      const bytes = itemBytes(body.Item);
      known.set(keyOf(body.Item), bytes);
      const wru = units(bytes, 1024);
      writeUnits += wru;
      const pk = body.Item.pk?.S ?? '';
      const kind = pk.startsWith('EVENT#') ? 'event' : pk.startsWith('DEDUPE#') ? 'dedupe' : 'attempt';
      if (kind === 'event') eventItemBytes = bytes;
      stored.push({ kind, bytes: bytes + 100 });
      writes.push(`PutItem ${pk.split('#')[0]} ${bytes} B = ${wru} WRU`);
      if (body.Item[index.partitionKey] && body.Item[index.sortKey]) {
        // The index entry: the table's and the index's keys plus the projected attributes the item has.
        const projected = ['pk', 'sk', index.partitionKey, index.sortKey, ...index.include];
        const entry: Wire = {};
        for (const name of projected) if (body.Item[name]) entry[name] = body.Item[name]!;
        const entryBytes = itemBytes(entry);
        writeUnits += units(entryBytes, 1024);
        stored.push({ kind, bytes: entryBytes + 100 });
        writes.push(`  + ${index.name} entry ${entryBytes} B = ${units(entryBytes, 1024)} WRU`);
      }
    } else if (r.operation === 'UpdateItem' && body.Key) {
      // Billed on the larger of the item before and after: the item as put earlier plus what the update sets.
      const before = known.get(keyOf(body.Key)) ?? 1024;
      const setBytes = Object.values(body.ExpressionAttributeValues ?? {}).reduce(
        (sum, v) => sum + valueBytes(v) + 12,
        0,
      );
      const bytes = Math.max(before, before + setBytes);
      writeUnits += units(bytes, 1024);
      writes.push(`UpdateItem ${body.Key.pk?.S?.split('#')[0]} ~${bytes} B = ${units(bytes, 1024)} WRU`);
    } else if (r.operation === 'DeleteItem') {
      writeUnits += 1;
    } else if (r.operation === 'GetItem' || r.operation === 'Query') {
      // Small or no items: the minimum, halved for an eventually consistent read.
      readUnits += body.ConsistentRead ? 1 : 0.5;
    }
  }
  return { writeUnits, readUnits, writes, stored, eventItemBytes };
}

// ─── the model ──────────────────────────────────────────────────────────────────────────────────────────────────

/** Fraction of a function's invocations Lambda's X-Ray sampling records: the first each second, 5 % of the rest. */
export function sampledFraction(perSecond: number): number {
  if (perSecond <= 1) return 1;
  return (1 + 0.05 * (perSecond - 1)) / perSecond;
}

/** Lambda's own log lines per invocation (START, END, REPORT; REPORT names the trace when one is recorded). */
const PLATFORM_LOG_BYTES =
  'START RequestId: 6f2a8a2e-5d2b-4a3b-9c1d-0e1f2a3b4c5d Version: $LATEST\n'.length +
  'END RequestId: 6f2a8a2e-5d2b-4a3b-9c1d-0e1f2a3b4c5d\n'.length +
  'REPORT RequestId: 6f2a8a2e-5d2b-4a3b-9c1d-0e1f2a3b4c5d\tDuration: 31.42 ms\tBilled Duration: 32 ms\tMemory Size: 512 MB\tMax Memory Used: 98 MB\t\n'
    .length;
const XRAY_REPORT_BYTES =
  'XRAY TraceId: 1-674c6a1e-0a1b2c3d4e5f60718293a4b5\tSegmentId: 1a2b3c4d5e6f7a8b\tSampled: true\t'.length;
/** What a Powertools line carries on Lambda and not locally: `"xray_trace_id":"1-…"` (the trace header is always set). */
const TRACE_ID_FIELD_BYTES = ',"xray_trace_id":"1-674c6a1e-0a1b2c3d4e5f60718293a4b5"'.length;

const GB = 1e9;
const MONTH_DAYS = 30;

export function costModel(measured: Measured, workload: Workload): CostModel {
  const lines: CostLine[] = [];
  const perMillion = (dollarsPerWebhook: number) => dollarsPerWebhook * 1e6;
  const add = (line: Omit<CostLine, 'perMillion'> & { dollars: number }) => {
    const { dollars, ...rest } = line;
    lines.push({ ...rest, perMillion: perMillion(dollars) });
  };
  const perSecond = workload.webhooksPerMonth / (MONTH_DAYS * 86_400);
  const f = withoutLeaseReads(measured.functions);
  // Publishers mark events for the broadcast rule only while an agent may be connected (LIVE_LEASE).
  const broadcasts = workload.agents > 0;
  const invocations: Record<Flow, number> = {
    ingest: 1,
    delivery: 1 / workload.batch,
    broadcast: broadcasts ? 1 / workload.batch : 0,
  };

  // API Gateway: one request per webhook (metered per 512 KB).
  add({
    group: 'flow',
    service: 'API Gateway',
    item: 'HTTP API request',
    units: 1,
    unit: 'requests',
    dollars: PRICES.httpApiRequest.value,
    basis: 'one request; the body is far below 512 KB',
  });

  // Lambda: requests and duration per function.
  const io: Record<Flow, number> = { ingest: 0, delivery: 0, broadcast: 0 };
  for (const name of ['ingest', 'delivery', 'broadcast'] as const) {
    for (const r of f[name].requests) {
      if (r.service === 'dynamodb')
        io[name] +=
          r.operation === 'GetItem' || r.operation === 'Query'
            ? workload.latencyMs.dynamoRead
            : workload.latencyMs.dynamoWrite;
      else if (r.service === 'events') io[name] += workload.latencyMs.putEvents;
    }
  }
  // The pushes run concurrently (broadcast.ts): one round trip when there is any agent.
  if (workload.agents > 0) io.broadcast += workload.latencyMs.postToConnection;
  io.delivery += workload.latencyMs.target;
  for (const name of ['ingest', 'delivery', 'broadcast'] as const) {
    if (invocations[name] === 0) continue;
    const fn = f[name];
    const cpuShare = Math.min(1, fn.memoryMb / 1769);
    // An invocation handles its messages one after the other, CPU at the memory's share of a vCPU plus the waits;
    // Lambda bills it rounded up to the millisecond.
    const messages = 1 / invocations[name];
    const billedMs = Math.ceil(messages * (fn.cpuMs / cpuShare + io[name])) / messages;
    add({
      group: 'flow',
      service: 'Lambda',
      item: `${name}: requests`,
      units: invocations[name],
      unit: 'invocations',
      dollars: invocations[name] * PRICES.lambdaRequest.value,
      basis: name === 'ingest' ? 'one per webhook' : `one per batch of ${workload.batch}`,
    });
    add({
      group: 'flow',
      service: 'Lambda',
      item: `${name}: duration (${fn.memoryMb} MB, arm64)`,
      units: (billedMs * fn.memoryMb) / 1024 / 1000,
      unit: 'GB-s',
      dollars: ((billedMs * fn.memoryMb) / 1024 / 1000) * PRICES.lambdaArmGbSecond.value,
      basis: `${fn.cpuMs.toFixed(2)} ms CPU (measured) at ${Math.round(cpuShare * 100)} % of a vCPU + ${io[name]} ms waiting on calls (assumed${name === 'delivery' ? `, target ${workload.latencyMs.target} ms` : ''}) = ${billedMs} ms billed`,
    });
  }

  // DynamoDB: measured from the requests' bodies.
  const levers = workload.levers ?? {};
  const dynamo = {
    ingest: dynamoUse(f.ingest.requests),
    delivery: dynamoUse(f.delivery.requests),
  };
  const broadcastDynamo = dynamoUse(f.broadcast.requests);
  for (const [name, use] of Object.entries(dynamo)) {
    add({
      group: 'flow',
      service: 'DynamoDB',
      item: `${name}: writes`,
      units: use.writeUnits,
      unit: 'WRU',
      dollars: use.writeUnits * PRICES.dynamoWriteUnit.value,
      basis: use.writes.join('; '),
    });
  }
  const readUnits =
    dynamo.ingest.readUnits +
    dynamo.delivery.readUnits * invocations.delivery +
    broadcastDynamo.readUnits * invocations.broadcast;
  add({
    group: 'flow',
    service: 'DynamoDB',
    item: 'reads (target state, live connections)',
    units: readUnits,
    unit: 'RRU',
    dollars: readUnits * PRICES.dynamoReadUnit.value,
    basis: 'eventually consistent minimum per read; one per invocation',
  });
  // Ingest reads the live lease (a strongly consistent read: 1 RRU) at most once a second per container; at a few
  // webhooks a second one container serves them all, below one a second every webhook reads it.
  const leaseReads = Math.min(1, 1 / perSecond);
  add({
    group: 'flow',
    service: 'DynamoDB',
    item: 'live lease read (ingest)',
    units: leaseReads,
    unit: 'RRU',
    dollars: leaseReads * PRICES.dynamoReadUnit.value,
    basis: `1 strongly consistent read a second per busy container, ${perSecond.toFixed(1)} webhooks/s`,
  });

  // EventBridge: the PutEvents entry (64 KB chunks), the archive.
  const putEvents = f.ingest.requests.find((r) => r.service === 'events');
  const entries = putEvents
    ? (JSON.parse(putEvents.body) as { Entries: { Source: string; DetailType: string; Detail: string }[] })
        .Entries
    : [];
  const entryBytes = entries.reduce(
    (sum, e) => sum + 14 + utf8(e.Source) + utf8(e.DetailType) + utf8(e.Detail),
    0,
  );
  add({
    group: 'flow',
    service: 'EventBridge',
    item: 'custom event',
    units: units(entryBytes, 64 * 1024),
    unit: 'events',
    dollars: units(entryBytes, 64 * 1024) * PRICES.eventBridgeEvent.value,
    basis: `one ${(entryBytes / 1024).toFixed(1)} KB entry; rule matches and delivery to the two queues are free`,
  });
  if (!levers.noArchive)
    add({
      group: 'flow',
      service: 'EventBridge',
      item: 'archive (processing)',
      units: entryBytes / GB,
      unit: 'GB',
      dollars: (entryBytes / GB) * PRICES.eventBridgeArchiveGb.value,
      basis: 'every event is archived for replay (archiveRetentionDays, default 30)',
    });

  // SQS: per queue, EventBridge's send plus the poller's receive and delete per batch.
  const chunks = units(measured.queueMessageBytes, 64 * 1024);
  const sqsPerQueue = chunks + 2 / workload.batch;
  add({
    group: 'flow',
    service: 'SQS',
    item: 'target queue: send, receive, delete',
    units: sqsPerQueue,
    unit: 'requests',
    dollars: sqsPerQueue * PRICES.sqsRequest.value,
    basis: `${(measured.queueMessageBytes / 1024).toFixed(1)} KB message = ${chunks} request; receive and delete per batch of ${workload.batch}`,
  });
  if (broadcasts)
    add({
      group: 'flow',
      service: 'SQS',
      item: 'broadcast queue: send, receive, delete',
      units: sqsPerQueue,
      unit: 'requests',
      dollars: sqsPerQueue * PRICES.sqsRequest.value,
      basis: 'every event published while agents are connected goes to the live stream',
    });

  // WebSocket messages per agent (32 KB increments) and their transfer out.
  const messageBytes = measured.deliveredBodyBytes + '{"kind":"event","event":}'.length;
  if (workload.agents > 0) {
    add({
      group: 'flow',
      service: 'API Gateway',
      item: `WebSocket messages (${workload.agents} agents)`,
      units: workload.agents * units(messageBytes, 32 * 1024),
      unit: 'messages',
      dollars: workload.agents * units(messageBytes, 32 * 1024) * PRICES.websocketMessage.value,
      basis: `${(messageBytes / 1024).toFixed(1)} KB per message`,
    });
  }

  // CloudWatch Logs: the functions' lines (measured), Lambda's own, the HTTP API's access log.
  let logBytes = measured.accessLogBytes;
  const logParts: string[] = [`access log ${measured.accessLogBytes} B`];
  const tracing = (name: Flow) => (levers.tracingOff?.includes(name) ? 'off' : f[name].tracing);
  for (const name of ['ingest', 'delivery', 'broadcast'] as const) {
    if (invocations[name] === 0) continue;
    const fn = f[name];
    const traced =
      tracing(name) === 'off'
        ? 0
        : tracing(name) === 'Active'
          ? sampledFraction(perSecond * invocations[name])
          : tracing('ingest') === 'Active'
            ? sampledFraction(perSecond)
            : 0;
    const perInvocation =
      fn.logBytes + fn.loggerLines * TRACE_ID_FIELD_BYTES + PLATFORM_LOG_BYTES + traced * XRAY_REPORT_BYTES;
    logBytes += perInvocation * invocations[name];
    logParts.push(
      `${name} ${Math.round(perInvocation)} B (${Math.round(fn.logBytes)} B measured + trace ids + Lambda's ${PLATFORM_LOG_BYTES} B)`,
    );
  }
  add({
    group: 'flow',
    service: 'CloudWatch Logs',
    item: 'ingestion',
    units: logBytes / GB,
    unit: 'GB',
    dollars: (logBytes / GB) * PRICES.logsIngestionGb.value,
    basis: `${logParts.join('; ')}; function lines from ${measured.logSource}`,
  });

  // X-Ray: Lambda samples each actively traced function on its own; a pass-through function records what its
  // caller sampled (counted as a trace of its own: its trace is linked to the producer's, not the same one).
  let traces = 0;
  const traceParts: string[] = [];
  // What arrives sampled from upstream: ingest's own decision when it traces (the HTTP API starts no trace).
  const ingestSampled = tracing('ingest') === 'Active' ? sampledFraction(perSecond) : 0;
  for (const name of ['ingest', 'delivery', 'broadcast'] as const) {
    if (invocations[name] === 0) continue;
    const rate = perSecond * invocations[name];
    const mode = tracing(name);
    const fraction = mode === 'off' ? 0 : mode === 'Active' ? sampledFraction(rate) : ingestSampled;
    traces += fraction * invocations[name];
    traceParts.push(`${name} ${mode} ${(fraction * 100).toFixed(0)} %`);
  }
  add({
    group: 'flow',
    service: 'X-Ray',
    item: 'traces recorded',
    units: traces,
    unit: 'traces',
    dollars: traces * PRICES.xrayTrace.value,
    basis: `at ${perSecond.toFixed(1)} webhooks/s: ${traceParts.join(', ')}`,
  });

  // Data transfer out: the POST to the target, the answer to the provider, the pushes to agents.
  const postBytes = measured.deliveredBodyBytes + 700;
  add({
    group: 'flow',
    service: 'Data transfer out',
    item: 'POST to the HTTP target',
    units: postBytes / GB,
    unit: 'GB',
    dollars: (postBytes / GB) * PRICES.dataTransferOutGb.value,
    basis: `${(measured.deliveredBodyBytes / 1024).toFixed(1)} KB body + ~0.7 KB of request line, headers and TLS framing`,
    dto: true,
  });
  add({
    group: 'flow',
    service: 'Data transfer out',
    item: '202 answer to the provider',
    units: 400 / GB,
    unit: 'GB',
    dollars: (400 / GB) * PRICES.dataTransferOutGb.value,
    basis: '~0.4 KB answer',
    dto: true,
  });
  if (workload.agents > 0) {
    add({
      group: 'flow',
      service: 'Data transfer out',
      item: `pushes to ${workload.agents} agents`,
      units: (workload.agents * messageBytes) / GB,
      unit: 'GB',
      dollars: ((workload.agents * messageBytes) / GB) * PRICES.dataTransferOutGb.value,
      basis: `${(messageBytes / 1024).toFixed(1)} KB per agent`,
      dto: true,
    });
  }

  // Held data: what each webhook leaves stored, for as long as it is kept (steady state: per month of retention).
  const months = (days: number) => days / MONTH_DAYS;
  const storedBytes = [...dynamo.ingest.stored, ...dynamo.delivery.stored].reduce(
    (sum, s) =>
      sum +
      s.bytes *
        months(
          s.kind === 'event'
            ? workload.retentionDays
            : s.kind === 'dedupe'
              ? workload.dedupeDays
              : workload.deliveryLogDays,
        ),
    0,
  );
  add({
    group: 'held data',
    service: 'DynamoDB',
    item: 'storage (event, dedupe record, attempt, index entries)',
    units: storedBytes / GB,
    unit: 'GB-month',
    dollars: (storedBytes / GB) * (PRICES.dynamoStorage.value + PRICES.dynamoPitr.value),
    basis: `kept ${workload.retentionDays} / ${workload.dedupeDays} / ${workload.deliveryLogDays} days; storage $${PRICES.dynamoStorage.value} + point-in-time recovery $${PRICES.dynamoPitr.value} per GB-month`,
  });
  if (!levers.noArchive)
    add({
      group: 'held data',
      service: 'EventBridge',
      item: 'archive storage',
      units: (entryBytes / GB) * months(workload.archiveRetentionDays),
      unit: 'GB-month',
      dollars:
        (entryBytes / GB) * months(workload.archiveRetentionDays) * PRICES.eventBridgeArchiveStorage.value,
      basis: `kept ${workload.archiveRetentionDays} days`,
    });
  add({
    group: 'held data',
    service: 'CloudWatch Logs',
    item: 'storage',
    units: (logBytes / GB) * months(workload.logRetentionDays),
    unit: 'GB-month',
    dollars: (logBytes / GB) * months(workload.logRetentionDays) * PRICES.logsStorageGb.value,
    basis: `kept ${workload.logRetentionDays} days (prod stage)`,
  });

  // Fixed monthly, spread over the workload's volume.
  const perWebhook = (monthly: number) => monthly / workload.webhooksPerMonth;
  // Lambda's poller long-polls each queue (about 5 concurrent receives of 20 s when idle).
  const idleReceives = workload.polledQueues * 5 * 3 * 60 * 24 * MONTH_DAYS;
  const fixed: [string, string, number, string, number][] = [
    ['Secrets Manager', 'secrets', workload.secrets, 'secret-months', workload.secrets * PRICES.secret.value],
    [
      'SQS',
      'idle long polls of the queues with a poller',
      idleReceives,
      'requests',
      idleReceives * PRICES.sqsRequest.value,
    ],
    [
      'CloudWatch',
      'custom metrics (EMF)',
      workload.customMetrics,
      'metric-months',
      workload.customMetrics * PRICES.customMetric.value,
    ],
  ];
  for (const [service, item, n, unit, monthly] of fixed) {
    add({
      group: 'fixed',
      service,
      item,
      units: n,
      unit: `${unit} a month`,
      dollars: perWebhook(monthly),
      basis: `$${monthly.toFixed(2)} a month over ${(workload.webhooksPerMonth / 1e6).toFixed(0)} M webhooks`,
    });
  }

  const total = lines.reduce((sum, l) => sum + l.perMillion, 0);
  const withoutDto = lines.filter((l) => !l.dto).reduce((sum, l) => sum + l.perMillion, 0);
  const floor =
    perMillion(PRICES.httpApiRequest.value) +
    perMillion(PRICES.eventBridgeEvent.value) +
    perMillion(3 * PRICES.sqsRequest.value) +
    perMillion(2 * PRICES.lambdaRequest.value);
  return {
    workload,
    lines,
    total,
    withoutDto,
    floor,
    writeUnits: dynamo.ingest.writeUnits + dynamo.delivery.writeUnits,
    eventItemBytes: dynamo.ingest.eventItemBytes,
    logBytesPerWebhook: logBytes,
    peers: PEERS,
  };
}

const money = (n: number) => (n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** The model as a markdown table (README, `npm run cost`). */
export function costTable(model: CostModel): string {
  const rows = model.lines.map(
    (l) =>
      `| ${l.group} | ${l.service} | ${l.item} | ${l.units < 0.01 ? l.units.toExponential(2) : Number(l.units.toFixed(3))} ${l.unit} | ${money(l.perMillion)} | ${l.basis} |`,
  );
  return [
    `Reference workload: ${model.workload.name}. Dollars per million webhooks, us-east-1, no free tier.`,
    '',
    '| group | service | item | per webhook | $ / million | basis |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    `| | | **all-in** | | **${money(model.total)}** | |`,
    `| | | **without data transfer out** | | **${money(model.withoutDto)}** | |`,
  ].join('\n');
}

/** The model summed by service (README, Cost): each service's $ per million, largest first. */
export function serviceTable(model: CostModel): string {
  const byService = new Map<string, number>();
  for (const l of model.lines) {
    const service = l.dto ? 'Data transfer out' : l.service === 'CloudWatch' ? 'CloudWatch Logs' : l.service;
    byService.set(service, (byService.get(service) ?? 0) + l.perMillion);
  }
  const rows = [...byService.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([service, dollars]) => `| ${service} | ${dollars.toFixed(2)} |`);
  return [
    '| service | $ / million webhooks |',
    '| --- | --- |',
    ...rows,
    `| **all-in** | **${model.total.toFixed(2)}** |`,
    `| **without data transfer out** | **${model.withoutDto.toFixed(2)}** |`,
  ].join('\n');
}

/** What each lever the code does not pull would save, and all of them together (same measurements). */
export function leverTable(
  measured: Measured,
  workload: Workload,
): { lever: string; total: number; saves: number }[] {
  const base = costModel(measured, workload).total;
  const levers: [string, NonNullable<Workload['levers']>][] = [
    [
      'X-Ray tracing off (`-c tracing=none`: deliveries untraced too)',
      { tracingOff: ['ingest', 'delivery', 'broadcast'] },
    ],
    ['no EventBridge archive (the event store keeps events for replay)', { noArchive: true }],
    [
      'both',
      {
        tracingOff: ['ingest', 'delivery', 'broadcast'],
        noArchive: true,
      },
    ],
  ];
  return levers.map(([lever, l]) => {
    const total = costModel(measured, { ...workload, levers: l }).total;
    return { lever, total, saves: base - total };
  });
}
