/** The README's Observe section documents every alarm, with the defaults the code has, and what to do. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALARM_INFO,
  ALARM_KINDS,
  type AlarmKind,
  STAGE_THRESHOLDS,
  type Thresholds,
} from '../../core/alarms';
import { STAGE_NAMES } from '../../core/stages';
import { LOCAL_DIFFERENCES } from '../../local/topology';

const readme = readFileSync(path.join(import.meta.dirname, '../../README.md'), 'utf8');
const observe = readme.slice(
  readme.indexOf('\n## Observe\n'),
  readme.indexOf('\n## ', readme.indexOf('\n## Observe\n') + 1),
);

/** The stage threshold each kind's default comes from (target-paused is a state: always 1). */
const THRESHOLD_OF = {
  'dlq-depth': 'dlqDepth',
  'oldest-message-age': 'oldestMessageAgeSeconds',
  'delivery-failure-ratio': 'failureRatio',
  'target-paused': null,
  'signature-failures': 'signatureFailures',
  'source-throttled': 'throttleShare',
  'ingest-5xx': 'ingest5xx',
  'ingest-503': 'ingest503',
  'ingest-429': 'ingest429',
  'events-poisoned': 'poisonedEvents',
  'oldest-pending-age': 'oldestPendingAgeSeconds',
  'broadcast-dlq-depth': 'broadcastDlqDepth',
  'websocket-errors': 'websocketErrors',
  'lambda-errors': 'lambdaErrors',
  'lambda-throttles': 'lambdaThrottles',
  'lambda-duration': 'durationShareOfTimeout',
} as const satisfies Record<AlarmKind, keyof Thresholds | null>;

describe("the README's Observe section", () => {
  it('exists', () => {
    expect(observe.length).toBeGreaterThan(1000);
  });

  it.each(ALARM_KINDS)('lists %s with its scope and the defaults of every stage', (kind) => {
    const row = observe.split('\n').find((line) => line.startsWith(`| \`${kind}\` |`));
    expect(row, `no table row for ${kind}`).toBeDefined();
    const cells = row!.split('|').map((c) => c.trim());
    // | kind | one per | ALARM when | dev | staging | prod |
    expect(cells[2]).toBe(ALARM_INFO[kind].scope);
    const key = THRESHOLD_OF[kind];
    const expected = STAGE_NAMES.map((stage) => String(key === null ? 1 : STAGE_THRESHOLDS[stage][key]));
    expect(cells.slice(4, 7)).toEqual(expected);
  });

  it.each(ALARM_KINDS)('says what %s means and what to do', (kind) => {
    expect(observe).toMatch(new RegExp(`\\n- \\*\\*\`${kind}\`\\*\\* — \\S`));
  });

  it('names the alarms the local stack does not evaluate', () => {
    for (const kind of Object.keys(LOCAL_DIFFERENCES.alarmsNotEvaluated))
      expect(observe).toContain(`\`${kind}\``);
    expect(observe).toContain('ALARM dlq-depth pr-agent = 3');
  });
});
