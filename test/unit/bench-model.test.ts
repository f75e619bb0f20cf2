/**
 * The arithmetic the bench figures rest on: the tail percentile rule, paired ratios, and the cost model's DynamoDB
 * sizes and write units (no timing here: the benches measure, these check what they compute from measurements).
 */
import { describe, expect, it } from 'vitest';
import {
  costModel,
  itemBytes,
  type Measured,
  REFERENCE_WORKLOAD,
  sampledFraction,
  serviceTable,
} from '../../bench/cost-model';
import type { RecordedRequest } from '../../bench/cpu/harness';
import { pairedSummary, percentile, tail } from '../../bench/stats';

describe('bench statistics', () => {
  it('reports p99 only from 1,000 samples, p95 below', () => {
    const samples = (n: number) => Array.from({ length: n }, (_, i) => n - i);
    expect(tail(samples(999))).toEqual({ p: 95, value: 950, samples: 999 });
    expect(tail(samples(1_000))).toEqual({ p: 99, value: 990, samples: 1_000 });
  });

  it('takes the nearest-rank percentile', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 100)).toBe(4);
    expect(percentile([], 50)).toBeNaN();
  });

  it('pairs rounds: the ratio is the median of per-round ratios, not the ratio of medians', () => {
    const s = pairedSummary([
      { value: 10, floor: 10 },
      { value: 30, floor: 10 },
      { value: 40, floor: 20 },
    ]);
    expect(s).toEqual({ value: 30, floor: 10, ratio: 2, rounds: 3 });
  });
});

const request = (service: string, operation: string, body: unknown): RecordedRequest => {
  const text = JSON.stringify(body);
  return { service, operation, body: text, bodyBytes: Buffer.byteLength(text) };
};

describe('cost model', () => {
  it('sizes items as DynamoDB does: attribute names plus values, binary counted raw', () => {
    expect(itemBytes({ pk: { S: 'abc' } })).toBe(5);
    // 12345 has 5 significant digits: ceil(5 / 2) + 1 bytes.
    expect(itemBytes({ n: { N: '12345' } })).toBe(1 + 4);
    expect(itemBytes({ b: { B: Buffer.alloc(1500).toString('base64') } })).toBe(1 + 1500);
  });

  it('samples the first trace each second and 5 % of the rest', () => {
    expect(sampledFraction(1)).toBe(1);
    expect(sampledFraction(21)).toBeCloseTo(2 / 21);
  });

  it('prices write units from the measured requests and keeps data transfer out apart', () => {
    const fn = (requests: RecordedRequest[]) => ({
      requests,
      cpuMs: 1,
      logBytes: 300,
      loggerLines: 1,
      memoryMb: 512,
      tracing: 'Active' as const,
    });
    const measured: Measured = {
      functions: {
        ingest: fn([
          // 1,500 B of binary + names: 2 WRU; a small item: 1 WRU.
          request('dynamodb', 'PutItem', {
            Item: {
              pk: { S: 'EVENT#a#1' },
              sk: { S: 'EVENT' },
              e: { B: Buffer.alloc(1500).toString('base64') },
            },
          }),
          request('dynamodb', 'PutItem', { Item: { pk: { S: 'DEDUPE#a#1' }, sk: { S: 'DEDUPE' } } }),
          request('events', 'PutEvents', {
            Entries: [{ Source: 'webhook.a', DetailType: 't', Detail: 'x'.repeat(20_000) }],
          }),
        ]),
        delivery: fn([request('dynamodb', 'GetItem', { Key: { pk: { S: 'TARGET#x' } } })]),
        broadcast: fn([]),
      },
      queueMessageBytes: 20_300,
      deliveredBodyBytes: 20_000,
      accessLogBytes: 250,
      logSource: 'test',
    };
    const model = costModel(measured, REFERENCE_WORKLOAD);
    expect(model.writeUnits).toBe(3);
    expect(model.eventItemBytes).toBe(
      itemBytes(JSON.parse(measured.functions.ingest.requests[0]!.body).Item),
    );
    const sum = model.lines.reduce((s, l) => s + l.perMillion, 0);
    expect(model.total).toBeCloseTo(sum);
    const dto = model.lines.filter((l) => l.dto).reduce((s, l) => s + l.perMillion, 0);
    expect(dto).toBeGreaterThan(0);
    expect(model.withoutDto).toBeCloseTo(model.total - dto);
    // One HTTP API request at $1 per million.
    expect(model.lines.find((l) => l.item === 'HTTP API request')?.perMillion).toBeCloseTo(1);
    // The by-service summary adds up to the same total.
    const rows = serviceTable(model)
      .split('\n')
      .filter((r) => /^\| [A-Z]/.test(r))
      .map((r) => Number(r.split('|')[2]));
    expect(rows.reduce((a, b) => a + b, 0)).toBeCloseTo(model.total, 1);

    // No agent: no broadcast queue, no broadcast invocation; the live lease read once a second, not per webhook.
    const broadcastLines = (m: typeof model) =>
      m.lines.filter((l) => /broadcast/i.test(`${l.item} ${l.basis}`));
    expect(broadcastLines(model)).toEqual([]);
    const lease = model.lines.find((l) => l.item === 'live lease read (ingest)');
    expect(lease?.units).toBeCloseTo(1 / (REFERENCE_WORKLOAD.webhooksPerMonth / (30 * 86_400)), 1);
    // A lease read the recorded invocation happened to make is not counted again per webhook.
    const withLeaseRead = costModel(
      {
        ...measured,
        functions: {
          ...measured.functions,
          ingest: fn([
            ...measured.functions.ingest.requests,
            request('dynamodb', 'GetItem', { Key: { pk: { S: 'SUBSCRIPTIONS' } }, ConsistentRead: true }),
          ]),
        },
      },
      REFERENCE_WORKLOAD,
    );
    expect(withLeaseRead.total).toBeCloseTo(model.total, 6);
    // With agents connected, every event goes through the broadcast queue and function.
    const withAgents = costModel(measured, { ...REFERENCE_WORKLOAD, agents: 2 });
    expect(broadcastLines(withAgents).length).toBeGreaterThan(0);
    expect(withAgents.total).toBeGreaterThan(model.total);
  });
});
