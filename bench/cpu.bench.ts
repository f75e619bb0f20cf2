/**
 * CPU per event of the ingest, delivery and broadcast functions: the whole handler, bundled as deployed, with the
 * network stubbed at the SDK's request handler (bench/usage.ts, bench/cpu/harness.ts), for the reference webhook
 * (GitHub pull_request.opened, 21,370 bytes). Each in a fresh process; rounds pair the handler with its floor back to
 * back; the ratio is the median of the per-round ratios.
 *
 * - ingest: API Gateway event → 202 (secret read, dedupe claim, event put, PutEvents, published mark). Floor:
 *   HMAC-SHA256 + JSON.parse of the body. Goal: ≤ 0.7 ms.
 * - delivery: one SQS record → a signed POST to a target on 127.0.0.1 (real socket, answered 200 by the parent) →
 *   the delivery log. Floor: JSON.parse of the message + HMAC-SHA256 over it.
 * - broadcast: one SQS record → the connections read → pushed to 10 connections. Floor: JSON.parse of the message.
 */
import { median, pairedSummary, round } from './stats';
import type { BenchFigure, BenchSuite } from './types';
import { BENCH_CONNECTIONS, MEASURED_FUNCTIONS, measureUsage } from './usage';

const ROUNDS = Number(process.env.BENCH_ROUNDS) > 0 ? Number(process.env.BENCH_ROUNDS) : 15;

const WHAT: Record<(typeof MEASURED_FUNCTIONS)[number], { unit: string; what: string; floor: string }> = {
  ingest: {
    unit: 'webhook',
    what: 'API Gateway event → 202: secret (cached), dedupe claim, event put, PutEvents, published mark',
    floor: 'HMAC-SHA256 + JSON.parse of the body',
  },
  delivery: {
    unit: 'delivery',
    what: 'one SQS record → signed POST to a target on 127.0.0.1 (real socket, new connection) → delivery log',
    floor: 'JSON.parse of the message + HMAC-SHA256 over it',
  },
  broadcast: {
    unit: 'event',
    what: `one SQS record → connections read → pushed to ${BENCH_CONNECTIONS} connections`,
    floor: 'JSON.parse of the message',
  },
};

const suite: BenchSuite = {
  name: 'cpu',
  async run() {
    const usage = await measureUsage({ rounds: ROUNDS, batch: 200, warmup: 500 });
    const figures: BenchFigure[] = [];
    for (const name of MEASURED_FUNCTIONS) {
      const u = usage[name]!;
      const s = pairedSummary(u.rounds);
      const w = WHAT[name];
      const calls = u.requests.map((r) => `${r.service} ${r.operation}`).join(', ');
      figures.push(
        {
          name: `cpu.${name}.ms_per_${w.unit}`,
          value: round(s.value, 3),
          unit: 'ms',
          floor: round(s.floor, 3),
          ratio: round(s.ratio, 2),
          ...(name === 'ingest' ? { goal: { value: 0.7, better: 'lower' as const } } : {}),
          note: `CPU (user + system, GC included) per ${w.unit}, whole handler bundled as deployed, network stubbed at the SDK's request handler: ${w.what}; SDK calls: ${calls}; floor: ${w.floor}; median of ${s.rounds} paired rounds of 200 after 500 warm-up invocations (per-round spread ${round(Math.min(...u.rounds.map((r) => r.value)), 3)}–${round(Math.max(...u.rounds.map((r) => r.value)), 3)} ms)${name === 'ingest' ? '; goal is the value' : ''}`,
        },
        {
          name: `cpu.${name}.first_event_ms`,
          value: round(u.firstEventMs, 1),
          unit: 'ms',
          note: 'CPU of the first invocation after init: lazily loaded chunks, the secret read, code not yet compiled',
        },
        {
          name: `cpu.${name}.log_bytes_per_${w.unit}`,
          value: u.logBytes,
          unit: 'bytes',
          note: `what the function writes to stdout for one warm ${w.unit} at log level INFO (${u.logLines} lines: Powertools JSON and EMF metrics); Lambda adds its own START/END/REPORT lines`,
        },
      );
    }
    figures.push({
      name: 'cpu.rss_mb',
      value: round(median(MEASURED_FUNCTIONS.map((n) => usage[n]!.rssMb))),
      unit: 'MB',
      note: `resident memory after the run: ${MEASURED_FUNCTIONS.map((n) => `${n} ${round(usage[n]!.rssMb)} MB`).join(', ')} (Node 20 x64; the median is the value)`,
    });
    return figures;
  },
};
export default suite;
