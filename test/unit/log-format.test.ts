import { describe, expect, it } from 'vitest';
import { humanLine, localLogSink } from '../../local/log-format';

/** A Powertools logger line as the functions write it (fields trimmed to what matters here). */
const powertools = (level: string, message: string, fields: Record<string, unknown> = {}) =>
  JSON.stringify({
    level,
    message,
    timestamp: '2026-12-01T15:43:17.123Z',
    service: 'ingest',
    cold_start: false,
    function_name: 'ingest',
    function_request_id: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    ...fields,
  });

describe('local log lines', () => {
  it('turns each event that matters into one short line', () => {
    const cases: [string, string, string][] = [
      [
        'ingest',
        powertools('INFO', 'webhook accepted', {
          eventId: '01M8S4CKCMDM4QPPCB2WX9XXKS',
          source: 'github',
          type: 'pull_request.opened',
          deliveryId: 'd-1',
        }),
        '15:43:17 accepted  github  pull_request.opened  01M8S4CKCMDM4QPPCB2WX9XXKS  delivery d-1',
      ],
      [
        'ingest',
        powertools('INFO', 'duplicate webhook', { eventId: 'E1', source: 'github', type: 'push' }),
        '15:43:17 duplicate github  push  E1  already accepted',
      ],
      [
        'ingest',
        powertools('WARN', 'webhook rejected', {
          source: 'github',
          statusCode: 401,
          reason: 'invalid_signature',
          detail: 'missing x-hub-signature-256 header',
        }),
        '15:43:17 rejected  github  401  invalid_signature: missing x-hub-signature-256 header',
      ],
      [
        'delivery-pr-agent',
        powertools('INFO', 'delivered', {
          eventId: 'E1',
          target: 'pr-agent',
          attempt: 1,
          outcome: 'delivered',
          status: 200,
          latencyMs: 45,
        }),
        '15:43:17 delivered pr-agent  E1  200 in 45 ms  attempt 1',
      ],
      [
        'delivery-pr-agent',
        powertools('WARN', 'delivery attempt failed', {
          eventId: 'E1',
          target: 'pr-agent',
          attempt: 2,
          outcome: 'retrying',
          status: 503,
        }),
        '15:43:17 retrying  pr-agent  E1  503  attempt 2',
      ],
      [
        'delivery-pr-agent',
        powertools('ERROR', 'delivery failed for good; recorded and moved to the DLQ', {
          eventId: 'E1',
          target: 'pr-agent',
          reason: '5 attempts, last 503',
        }),
        '15:43:17 FAILED    pr-agent  E1  5 attempts, last 503  recorded, message in the DLQ',
      ],
      [
        'sweeper',
        powertools('ERROR', 'EventBridge refused the event for good; set aside as poisoned', {
          eventId: 'E2',
          error: { name: 'MalformedDetail', message: 'Detail is malformed.' },
        }),
        '15:43:17 ERROR     [sweeper] EventBridge refused the event for good; set aside as poisoned — MalformedDetail: Detail is malformed.',
      ],
    ];
    for (const [fn, raw, expected] of cases) expect(humanLine(fn, raw)).toBe(expected);
  });

  it('leaves out routine INFO and DEBUG lines, and shows what is not a Powertools line as it is', () => {
    expect(humanLine('routes', powertools('INFO', 'routes reconciled', { created: 1 }))).toBeUndefined();
    expect(humanLine('ingest', powertools('DEBUG', 'anything'))).toBeUndefined();
    expect(humanLine('ingest', 'Error: boom\n    at x')).toBe('[ingest] Error: boom\n    at x');
  });

  it('keeps only what went wrong when quiet', () => {
    expect(
      humanLine('ingest', powertools('INFO', 'webhook accepted', { source: 'github' }), true),
    ).toBeUndefined();
    expect(
      humanLine(
        'ingest',
        powertools('WARN', 'webhook rejected', { source: 'github', statusCode: 413 }),
        true,
      ),
    ).toContain('rejected  github  413');
  });

  it('prints the raw JSON lines with --log-format json (warnings and errors only when quiet)', () => {
    const written: string[] = [];
    const sink = localLogSink('json', { write: (text) => written.push(text) });
    const quiet = localLogSink('json', { quiet: true, write: (text) => written.push(text) });
    const info = powertools('INFO', 'webhook accepted');
    const warn = powertools('WARN', 'webhook rejected');
    if (!sink || !quiet) throw new Error('expected sinks');
    sink('ingest', info, 'stdout');
    quiet('ingest', info, 'stdout');
    quiet('ingest', warn, 'stdout');
    expect(written).toEqual([`[ingest] ${info}`, `[ingest] ${warn}`]);
  });
});
