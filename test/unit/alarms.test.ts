import { describe, expect, it } from 'vitest';
import {
  ALARM_INFO,
  ALARM_KINDS,
  type AlarmPlan,
  alarmLine,
  breaches,
  STAGE_THRESHOLDS,
} from '../../core/alarms';
import { parseRouterConfig, type RouterConfigInput } from '../../core/config';
import { planTopology } from '../../core/plan';
import { deliveryTimeoutSeconds } from '../../core/queues';
import { worstCaseSeconds } from '../../core/retry';
import { STAGE_NAMES, type StageName } from '../../core/stages';
import exampleConfig from '../../router.config';

const plan = (config: RouterConfigInput = exampleConfig, stage: StageName = 'dev') =>
  planTopology(parseRouterConfig(config), { stage }).alarms;
const byId = (alarms: readonly AlarmPlan[]) => new Map(alarms.map((a) => [a.id, a]));

describe('the alarm plan', () => {
  it('watches every target, source and function, and the router, with unique ids', () => {
    const { alarms } = plan();
    expect(alarms.map((a) => a.id)).toEqual([
      'dlq-depth/pr-agent',
      'oldest-message-age/pr-agent',
      'delivery-failure-ratio/pr-agent',
      'target-paused/pr-agent',
      'signature-failures/github',
      'source-throttled/github',
      ...[
        'ingest',
        'sweeper',
        'routes',
        'management',
        'connections',
        'broadcast',
        'delivery-pr-agent',
      ].flatMap((fn) => [`lambda-errors/${fn}`, `lambda-throttles/${fn}`, `lambda-duration/${fn}`]),
      'ingest-5xx/router',
      'ingest-503/router',
      'ingest-429/router',
      'events-poisoned/router',
      'oldest-pending-age/router',
      'broadcast-dlq-depth/router',
      'websocket-errors/router',
    ]);
    // Every kind is planned for the example config.
    expect(new Set(alarms.map((a) => a.kind))).toEqual(new Set(ALARM_KINDS));
  });

  it("takes each kind's comparison, period and missing-data rule from its description", () => {
    for (const alarm of plan().alarms) {
      const info = ALARM_INFO[alarm.kind];
      expect(alarm, alarm.id).toMatchObject({
        comparison: info.comparison,
        periodSeconds: info.periodSeconds,
        missingData: info.missingData,
      });
    }
    const alarms = byId(plan().alarms);
    // Levels are read every minute, counts over 5 minutes; a paused target keeps alarming while no data arrives.
    expect(alarms.get('dlq-depth/pr-agent')).toMatchObject({
      comparison: '>',
      threshold: 0,
      periodSeconds: 60,
    });
    expect(alarms.get('target-paused/pr-agent')).toMatchObject({ threshold: 1, missingData: 'keep' });
    expect(alarms.get('signature-failures/github')?.periodSeconds).toBe(300);
  });

  it.each(STAGE_NAMES)('uses the %s defaults', (stage) => {
    const d = STAGE_THRESHOLDS[stage];
    const alarms = byId(plan(exampleConfig, stage).alarms);
    const threshold = (id: string) => alarms.get(id)?.threshold;
    expect(threshold('dlq-depth/pr-agent')).toBe(d.dlqDepth);
    expect(threshold('oldest-message-age/pr-agent')).toBe(d.oldestMessageAgeSeconds);
    expect(threshold('delivery-failure-ratio/pr-agent')).toBe(d.failureRatio);
    expect(threshold('signature-failures/github')).toBe(d.signatureFailures);
    // The example source keeps the default route throttle: 50 webhooks/s.
    expect(threshold('source-throttled/github')).toBeCloseTo(d.throttleShare * 50);
    expect(threshold('ingest-5xx/router')).toBe(d.ingest5xx);
    expect(threshold('ingest-503/router')).toBe(d.ingest503);
    expect(threshold('ingest-429/router')).toBe(d.ingest429);
    expect(threshold('events-poisoned/router')).toBe(d.poisonedEvents);
    expect(threshold('oldest-pending-age/router')).toBe(d.oldestPendingAgeSeconds);
    expect(threshold('broadcast-dlq-depth/router')).toBe(d.broadcastDlqDepth);
    expect(threshold('websocket-errors/router')).toBe(d.websocketErrors);
    expect(threshold('lambda-errors/ingest')).toBe(d.lambdaErrors);
    expect(threshold('lambda-throttles/ingest')).toBe(d.lambdaThrottles);
    // Ingest times out after 10 s; delivery-pr-agent after 20 s.
    expect(threshold('lambda-duration/ingest')).toBe(Math.round(d.durationShareOfTimeout * 10_000));
    expect(threshold('lambda-duration/delivery-pr-agent')).toBe(
      Math.round(d.durationShareOfTimeout * 20_000),
    );
  });

  it('tells earlier in prod than in dev', () => {
    const dev = STAGE_THRESHOLDS.dev;
    const prod = STAGE_THRESHOLDS.prod;
    expect(prod.oldestMessageAgeSeconds).toBeLessThan(dev.oldestMessageAgeSeconds);
    expect(prod.failureRatio).toBeLessThan(dev.failureRatio);
    expect(prod.lambdaErrors).toBeLessThan(dev.lambdaErrors);
    expect(prod.ingest503).toBeLessThan(dev.ingest503);
  });

  it("applies the config's router-wide thresholds, and a target's or source's own over them", () => {
    const target = exampleConfig.targets![0]!;
    const source = exampleConfig.sources[0]!;
    const alarms = byId(
      plan(
        {
          ...exampleConfig,
          sources: [
            source,
            { ...source, name: 'quiet', alarms: { signatureFailures: 2, throttleShare: 0.5 } },
          ],
          targets: [target, { ...target, name: 'batch', alarms: { oldestMessageAgeSeconds: 7200 } }],
          alarms: {
            thresholds: {
              oldestMessageAgeSeconds: 600,
              signatureFailures: 3,
              lambdaErrors: 7,
              ingest429: 99,
            },
          },
        },
        'prod',
      ).alarms,
    );
    expect(alarms.get('oldest-message-age/pr-agent')?.threshold).toBe(600);
    expect(alarms.get('oldest-message-age/batch')?.threshold).toBe(7200);
    expect(alarms.get('signature-failures/github')?.threshold).toBe(3);
    expect(alarms.get('signature-failures/quiet')?.threshold).toBe(2);
    expect(alarms.get('source-throttled/quiet')?.threshold).toBe(25);
    expect(alarms.get('lambda-errors/delivery-batch')?.threshold).toBe(7);
    expect(alarms.get('ingest-429/router')?.threshold).toBe(99);
    // What was not overridden keeps the prod default.
    expect(alarms.get('delivery-failure-ratio/batch')?.threshold).toBe(STAGE_THRESHOLDS.prod.failureRatio);
  });

  it("never defaults the oldest-message age below the target's own worst-case retry schedule", () => {
    const target = {
      ...exampleConfig.targets![0]!,
      retry: { maxAttempts: 12, initialDelaySeconds: 60, maxDelaySeconds: 3600 },
    };
    const parsed = parseRouterConfig({ ...exampleConfig, targets: [target] }).targets[0]!;
    const floor = Math.ceil(worstCaseSeconds(parsed.retry, deliveryTimeoutSeconds(parsed)));
    expect(floor).toBeGreaterThan(STAGE_THRESHOLDS.prod.oldestMessageAgeSeconds);
    const alarms = byId(plan({ ...exampleConfig, targets: [target] }, 'prod').alarms);
    expect(alarms.get('oldest-message-age/pr-agent')?.threshold).toBe(floor);
    // A threshold the target sets itself is taken as it is.
    const own = byId(
      plan({ ...exampleConfig, targets: [{ ...target, alarms: { oldestMessageAgeSeconds: 600 } }] }, 'prod')
        .alarms,
    );
    expect(own.get('oldest-message-age/pr-agent')?.threshold).toBe(600);
  });

  it('plans no live stream alarms without a live stream, and only delivery alarms for configured targets', () => {
    const ids = plan({ ...exampleConfig, liveStream: { enabled: false }, targets: [] }).alarms.map(
      (a) => a.id,
    );
    expect(ids).not.toContain('broadcast-dlq-depth/router');
    expect(ids).not.toContain('websocket-errors/router');
    expect(ids).not.toContain('lambda-errors/broadcast');
    expect(ids.filter((id) => id.startsWith('dlq-depth/'))).toEqual([]);
  });

  it('carries the notification addresses', () => {
    expect(plan().email).toEqual([]);
    expect(plan({ ...exampleConfig, alarms: { email: ['ops@example.com'] } }).email).toEqual([
      'ops@example.com',
    ]);
  });
});

describe('alarm config', () => {
  const errorOf = (input: RouterConfigInput) => {
    try {
      parseRouterConfig(input);
    } catch (error) {
      return (error as Error).message;
    }
    return undefined;
  };

  it('names the field and the reason of a bad threshold or address', () => {
    const message = errorOf({
      ...exampleConfig,
      sources: [{ ...exampleConfig.sources[0]!, alarms: { throttleShare: 1.5 } }],
      targets: [{ ...exampleConfig.targets![0]!, alarms: { failureRatio: 0 } }],
      alarms: { email: ['not-an-address'], thresholds: { lambdaErrors: 0 } },
    });
    expect(message).toContain('sources[0].alarms.throttleShare');
    expect(message).toContain('targets[0].alarms.failureRatio');
    expect(message).toContain('alarms.email[0]');
    expect(message).toContain('alarms.thresholds.lambdaErrors');
  });

  it('refuses an address listed twice', () => {
    expect(
      errorOf({ ...exampleConfig, alarms: { email: ['ops@example.com', 'OPS@example.com'] } }),
    ).toContain('alarms.email[1]: duplicate address "OPS@example.com"');
  });

  it('refuses a misspelt threshold instead of keeping the default without a word', () => {
    expect(
      errorOf({ ...exampleConfig, alarms: { thresholds: { dlqDepht: 1 } as Record<string, number> } }),
    ).toContain('alarms.thresholds: Unrecognized key: "dlqDepht"');
  });
});

describe('alarm lines and comparisons', () => {
  it('formats the local report as ALARM/OK <kind> <subject> = <value>', () => {
    expect(alarmLine('ALARM', { kind: 'dlq-depth', subject: 'pr-agent' }, 3)).toBe(
      'ALARM dlq-depth pr-agent = 3',
    );
    expect(alarmLine('OK', { kind: 'delivery-failure-ratio', subject: 'a' }, 0.25)).toBe(
      'OK delivery-failure-ratio a = 0.250',
    );
  });

  it('compares as the alarm says: above, or at least', () => {
    expect(breaches({ comparison: '>', threshold: 0 }, 0)).toBe(false);
    expect(breaches({ comparison: '>', threshold: 0 }, 1)).toBe(true);
    expect(breaches({ comparison: '>=', threshold: 5 }, 5)).toBe(true);
    expect(breaches({ comparison: '>=', threshold: 5 }, 4)).toBe(false);
  });
});
