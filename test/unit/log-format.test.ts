import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CorrelatedLogFormatter } from '../../lambdas/shared/observability';

const context = {
  functionName: 'ingest',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:ingest',
  memoryLimitInMB: '512',
  awsRequestId: '6f2a8a2e-5d2b-4a3b-9c1d-0e1f2a3b4c5d',
} as Context;

afterEach(() => vi.restoreAllMocks());

/** The JSON lines a logger writes while `act` runs. */
function linesOf(act: (logger: Logger) => void): Record<string, unknown>[] {
  const lines: string[] = [];
  // Powertools writes warnings and errors to stderr, the rest to stdout.
  for (const stream of [process.stdout, process.stderr])
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  const logger = new Logger({ serviceName: 'ingest', logFormatter: new CorrelatedLogFormatter() });
  logger.addContext(context);
  act(logger);
  return lines.flatMap((l) => l.split('\n').filter(Boolean)).map((l) => JSON.parse(l));
}

describe('CorrelatedLogFormatter', () => {
  it('leaves out what the log group says (function arn, name, memory, sampling rate) and keeps the rest', () => {
    const [line] = linesOf((logger) => logger.info('webhook accepted', { eventId: 'E1', source: 'github' }));
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'webhook accepted',
      service: 'ingest',
      cold_start: expect.any(Boolean),
      function_request_id: context.awsRequestId,
      eventId: 'E1',
      source: 'github',
    });
    expect(typeof line!.timestamp).toBe('string');
    for (const dropped of ['function_arn', 'function_name', 'function_memory_size', 'sampling_rate'])
      expect(line).not.toHaveProperty(dropped);
  });

  it('still formats errors', () => {
    const [line] = linesOf((logger) => logger.error('storage failed', { error: new TypeError('boom') }));
    expect(line!.error).toMatchObject({ name: 'TypeError', message: 'boom' });
  });
});
