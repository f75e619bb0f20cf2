/** The correlation id on every log line: one event's lines carry its ids, and only its own, even in parallel. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  correlate,
  correlationKeys,
  currentCorrelation,
  logger,
  type TraceAnnotations,
  withCorrelation,
} from '../../lambdas/shared/observability';

let lines: Record<string, unknown>[] = [];
beforeEach(() => {
  lines = [];
  // The Powertools logger writes one JSON line per entry: INFO and DEBUG to stdout, WARN and ERROR to stderr.
  const capture = (chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
});
afterEach(() => {
  vi.restoreAllMocks();
});

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('correlation', () => {
  it("puts the event's id and the provider's delivery id on every line logged while handling it", async () => {
    await withCorrelation({ eventId: '01JDH8ZQ2K0000000000000001', deliveryId: 'gh-1' }, async () => {
      logger.info('delivered', { status: 200 });
      logger.warn('delivery attempt failed');
    });
    logger.info('after');
    expect(lines).toHaveLength(3);
    for (const line of lines.slice(0, 2)) {
      expect(line).toMatchObject({
        correlation_id: '01JDH8ZQ2K0000000000000001',
        eventId: '01JDH8ZQ2K0000000000000001',
        deliveryId: 'gh-1',
      });
    }
    // Powertools' own keys are still there, and first.
    expect(Object.keys(lines[0]!).slice(0, 4)).toEqual(['level', 'message', 'timestamp', 'service']);
    expect(lines[0]).toMatchObject({ message: 'delivered', status: 200 });
    expect(lines[2]).not.toHaveProperty('correlation_id');
    expect(lines[2]).not.toHaveProperty('eventId');
  });

  it('keeps records handled in parallel apart: each line has its own record ids, never another one', async () => {
    const handle = (n: number) =>
      withCorrelation({}, async () => {
        logger.info('received');
        await tick();
        // Known only once the record is read, as the delivery function learns it.
        correlate({ eventId: `E${n}`, deliveryId: `D${n}` });
        await tick();
        logger.info('attempt', { n });
        await tick();
        logger.info('done', { n });
      });
    await Promise.all([1, 2, 3, 4].map(handle));
    const withN = lines.filter((l) => typeof l.n === 'number');
    expect(withN).toHaveLength(8);
    for (const line of withN) expect(line).toMatchObject({ eventId: `E${line.n}`, deliveryId: `D${line.n}` });
    // Before the id was known the line had none (not another record's).
    for (const line of lines.filter((l) => l.message === 'received'))
      expect(line).not.toHaveProperty('eventId');
  });

  it("lets a line's own field win over the correlation", async () => {
    await withCorrelation({ eventId: 'A' }, async () => logger.info('x', { eventId: 'B' }));
    expect(lines[0]).toMatchObject({ eventId: 'B', correlation_id: 'A' });
  });

  it("annotates the record's trace with the ids (X-Ray indexes annotations) and closes it", async () => {
    const annotations: Record<string, unknown> = {};
    let closed = false;
    const trace: TraceAnnotations = {
      addAnnotation: (key, value) => {
        annotations[key] = value;
      },
      close: () => {
        closed = true;
      },
    };
    await withCorrelation(
      { requestId: 'r-1' },
      async () => {
        expect(annotations).toEqual({});
        correlate({ eventId: 'E', deliveryId: 'D' });
        expect(currentCorrelation()).toEqual({ requestId: 'r-1', eventId: 'E', deliveryId: 'D' });
      },
      { annotations: trace },
    );
    expect(annotations).toEqual({ eventId: 'E', deliveryId: 'D' });
    expect(closed).toBe(true);
  });

  it('keeps the API Gateway request id of an ingest request on its lines, and adds nothing without a scope', async () => {
    await withCorrelation({ requestId: 'req-9' }, async () => logger.warn('webhook rejected'));
    expect(lines[0]).toMatchObject({ requestId: 'req-9' });
    correlate({ eventId: 'ignored' });
    expect(currentCorrelation()).toBeUndefined();
    expect(correlationKeys({ deliveryId: null })).toEqual({});
  });
});
