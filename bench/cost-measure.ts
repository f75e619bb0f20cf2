/**
 * What the cost model (bench/cost-model.ts) needs, measured: the three functions' SDK requests, CPU and memory
 * (bench/usage.ts: the deployed bundles with the network stubbed at the SDK's request handler) and their log bytes
 * per webhook (bench/local-logs.ts: a real run of the local stack).
 */
import { STAGES } from '../lib/stages';
import type { ACCESS_LOG_FIELDS } from '../lib/webhook-ingest';
import type { Flow, Measured } from './cost-model';
import { measureLocalLogs } from './local-logs';
import { median } from './stats';
import { measureUsage, type UsageOptions } from './usage';

/** One access log line of the HTTP API with typical values (its format is lib/webhook-ingest.ts's). */
function accessLogLine(): string {
  const typical: Record<keyof typeof ACCESS_LOG_FIELDS, string> = {
    requestId: 'Bq3xYh2sIAMEVxw=',
    time: '01/Dec/2026:15:00:00 +0000',
    ip: '140.82.115.1',
    method: 'POST',
    status: '202',
    protocol: 'HTTP/1.1',
    responseLength: '38',
    integrationLatency: '41',
    integrationStatus: '200',
    error: '-',
    integrationError: '-',
  };
  return JSON.stringify(typical);
}

export async function measureCost(
  options: UsageOptions & { readonly webhooks: number },
): Promise<{ measured: Measured; note: string }> {
  const usage = await measureUsage(options);
  const logs = await measureLocalLogs(options.webhooks);
  const putEvents = usage.ingest!.requests.find((r) => r.service === 'events');
  if (!putEvents) throw new Error('ingest made no PutEvents call');
  const detail = (JSON.parse(putEvents.body) as { Entries: { Detail: string }[] }).Entries[0]!.Detail;
  const detailBytes = Buffer.byteLength(detail);
  const functions = {} as Record<Flow, Measured['functions'][Flow]>;
  for (const name of ['ingest', 'delivery', 'broadcast'] as const) {
    const u = usage[name]!;
    functions[name] = {
      requests: u.requests,
      cpuMs: median(u.rounds.map((r) => r.value)),
      // Logger lines from the local run; EMF metric lines (off locally) as the deployed bundle writes them.
      logBytes: logs[name].bytes + u.metricBytes,
      loggerLines: logs[name].loggerLines,
      memoryMb: u.spec.memoryMb,
      // As the reference stage (prod) deploys it (lib/stages.ts).
      tracing: STAGES.prod.activeTracing.includes(name) ? 'Active' : 'PassThrough',
    };
  }
  return {
    measured: {
      functions,
      // EventBridge's event around the envelope, as the queue holds it (the `detail` plus ~300 bytes of fields).
      queueMessageBytes: detailBytes + 300,
      deliveredBodyBytes: detailBytes,
      accessLogBytes: Buffer.byteLength(accessLogLine()) + 1,
      logSource: `a local run of ${options.webhooks} reference webhooks (INFO), plus the EMF metric lines the deployed bundles write (metrics are off locally)`,
    },
    note: `CPU per event: ${(['ingest', 'delivery', 'broadcast'] as const).map((n) => `${n} ${functions[n].cpuMs.toFixed(2)} ms`).join(', ')}; log bytes per webhook from the local run: ${(['ingest', 'delivery', 'broadcast'] as const).map((n) => `${n} ${Math.round(logs[n].bytes)} B`).join(', ')}`,
  };
}
