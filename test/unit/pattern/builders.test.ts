import { describe, expect, it } from 'vitest';
import { EVENT_SOURCE_PREFIX } from '../../../core/contracts';
import {
  allOf,
  anyOf,
  compilePattern,
  eventType,
  eventTypePrefix,
  field,
  fromSource,
  PatternError,
  WEBHOOK_SOURCE_PREFIX,
} from '../../../core/pattern';

const event = {
  source: 'webhook.github',
  'detail-type': 'pull_request.opened',
  detail: {
    id: 'evt_1',
    source: 'github',
    provider: 'github',
    type: 'pull_request.opened',
    subject: 'acme/widgets#42',
    data: {
      action: 'opened',
      number: 42,
      title: 'Fix *all* the things',
      labels: ['bug', 'ui'],
      sender: { ip: '10.1.2.3' },
    },
  },
};

describe('builders', () => {
  it('use the same source prefix as the contracts', () => {
    expect(WEBHOOK_SOURCE_PREFIX).toBe(EVENT_SOURCE_PREFIX);
  });

  it('fromSource, eventType and eventTypePrefix produce plain EventBridge patterns', () => {
    expect(fromSource('github')).toEqual({ source: ['webhook.github'] });
    expect(fromSource('github', 'stripe')).toEqual({ source: ['webhook.github', 'webhook.stripe'] });
    expect(eventType('push', 'pull_request.opened')).toEqual({
      'detail-type': ['push', 'pull_request.opened'],
    });
    expect(eventTypePrefix('pull_request.')).toEqual({ 'detail-type': [{ prefix: 'pull_request.' }] });
    expect(() => fromSource()).toThrow(PatternError);
  });

  it('field() builds detail-relative leaves', () => {
    expect(field('data.action').equals('opened')).toEqual({ detail: { data: { action: ['opened'] } } });
    expect(field('data.action').in(['opened', 'closed'])).toEqual({
      detail: { data: { action: ['opened', 'closed'] } },
    });
    expect(field('data.draft').exists(false)).toEqual({ detail: { data: { draft: [{ exists: false }] } } });
    expect(field('data.number').numeric('>', 5)).toEqual({
      detail: { data: { number: [{ numeric: ['>', 5] }] } },
    });
    expect(field('data.number').numeric('>=', 0, '<', 10)).toEqual({
      detail: { data: { number: [{ numeric: ['>=', 0, '<', 10] }] } },
    });
    expect(field('data.title').contains('foo')).toEqual({
      detail: { data: { title: [{ wildcard: '*foo*' }] } },
    });
    expect(field('region', { from: 'event' }).prefix('eu-')).toEqual({ region: [{ prefix: 'eu-' }] });
    expect(field(['data', 'a.b']).equals(1)).toEqual({ detail: { data: { 'a.b': [1] } } });
  });

  it('field() patterns match the envelope', () => {
    const yes = [
      field('data.action').equals('opened'),
      field('data.number').numeric('>', 5),
      field('data.title').contains('*all*'),
      field('data.title').contains('Fix'),
      field('data.labels').in(['ui']),
      field('data.sender.ip').cidr('10.0.0.0/8'),
      field('subject').suffix('#42'),
      field('data.action').equalsIgnoreCase('OPENED'),
      field('data.action').anythingBut('closed', 'merged'),
      field('data.title').prefix('fix', { ignoreCase: true }),
      field('data.draft').exists(false),
    ];
    for (const p of yes) expect({ p, m: compilePattern(p).matches(event) }).toEqual({ p, m: true });
    const no = [
      field('data.action').equals('closed'),
      field('data.number').numeric('<', 42),
      field('data.title').contains('*none*'),
      field('data.number').equals('42'),
      field('data.draft').exists(),
    ];
    for (const p of no) expect({ p, m: compilePattern(p).matches(event) }).toEqual({ p, m: false });
  });

  it('contains() escapes wildcard characters in the text', () => {
    expect(field('t').contains('a*b\\c')).toEqual({ detail: { t: [{ wildcard: '*a\\*b\\\\c*' }] } });
    expect(compilePattern(field('t').contains('a*b')).matches({ detail: { t: 'xxa*byy' } })).toBe(true);
    expect(compilePattern(field('t').contains('a*b')).matches({ detail: { t: 'axxb' } })).toBe(false);
  });

  it('regex() throws a clear error', () => {
    expect(() => field('data.title').regex(/^fix/)).toThrow(/no regular expressions/);
    try {
      field('data.title').regex('^fix');
    } catch (error) {
      expect(error).toBeInstanceOf(PatternError);
      expect((error as PatternError).path).toBe('detail.data.title');
    }
  });

  it('builders validate: invalid numeric values throw PatternError', () => {
    expect(() => field('n').numeric('>', 1e12)).toThrow(/outside the range/);
    expect(() => field('n').numeric('>', 5, '<', 1)).toThrow(/inverted/);
    expect(() => field('a..b')).toThrow(/empty segment/);
  });

  it('allOf merges fields, nested objects and numeric bounds', () => {
    const p = allOf(
      fromSource('github'),
      eventTypePrefix('pull_request.'),
      field('data.action').equals('opened'),
      field('data.number').numeric('>', 1),
      field('data.number').numeric('<=', 100),
      field('data.action').equals('opened'),
    );
    expect(p).toEqual({
      source: ['webhook.github'],
      'detail-type': [{ prefix: 'pull_request.' }],
      detail: { data: { action: ['opened'], number: [{ numeric: ['>', 1, '<=', 100] }] } },
    });
    expect(compilePattern(p).matches(event)).toBe(true);
  });

  it('allOf refuses two different conditions on one field', () => {
    expect(() => allOf(field('data.action').equals('a'), field('data.action').equals('b'))).toThrow(
      /detail\.data\.action: both patterns constrain this field/,
    );
  });

  it('anyOf builds $or, and allOf distributes two $or', () => {
    const either = anyOf(field('data.action').equals('opened'), eventType('push'));
    expect(either).toEqual({
      $or: [{ detail: { data: { action: ['opened'] } } }, { 'detail-type': ['push'] }],
    });
    expect(anyOf(fromSource('x'))).toEqual(fromSource('x'));
    const both = allOf(either, anyOf(fromSource('github'), fromSource('stripe')));
    const compiled = compilePattern(both);
    expect(compiled.matches(event)).toBe(true);
    expect(compiled.matches({ ...event, source: 'webhook.slack' })).toBe(false);
    expect(compiled.matches({ source: 'webhook.stripe', 'detail-type': 'push' })).toBe(true);
    expect(compiled.matches({ source: 'webhook.stripe', 'detail-type': 'pull' })).toBe(false);
  });
});
