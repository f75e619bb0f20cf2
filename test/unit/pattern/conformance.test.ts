/**
 * Conformance with the EventBridge user guide: each documented pattern (content filtering, comparison operators,
 * arrays, null values and empty strings, $or) with events that match and events that do not.
 */
import { describe, expect, it } from 'vitest';
import { compilePattern, type EventPattern } from '../../../core/pattern';

interface Case {
  name: string;
  pattern: EventPattern;
  match: unknown[];
  noMatch: unknown[];
}

/** The sample event used throughout the docs and Event Ruler's README. */
const ec2 = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};
const withDetail = (detail: Record<string, unknown>) => ({ ...ec2, detail: { ...ec2.detail, ...detail } });
const withTop = (fields: Record<string, unknown>) => ({ ...ec2, ...fields });

const cases: Case[] = [
  {
    name: 'event patterns: source, detail-type and detail.state',
    pattern: {
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['terminated'] },
    },
    match: [withDetail({ state: 'terminated' })],
    noMatch: [ec2, withTop({ source: 'aws.fargate', detail: { state: 'terminated' } })],
  },
  {
    name: 'event patterns: several values of one field (OR)',
    pattern: { source: ['aws.ec2', 'aws.fargate'] },
    match: [ec2, withTop({ source: 'aws.fargate' })],
    noMatch: [withTop({ source: 'aws.s3' }), { detail: {} }],
  },
  {
    name: 'arrays: the event array and the pattern array intersect',
    pattern: {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    },
    match: [
      withTop({
        resources: [
          'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        ],
      }),
    ],
    noMatch: [
      ec2,
      withTop({ resources: [] }),
      withTop({ resources: ['arn:aws:ec2:us-east-1:999:instance/i-b188560f'] }),
    ],
  },
  {
    name: 'null values: null matches null only',
    pattern: { detail: { responseElements: [null] } },
    match: [withDetail({ responseElements: null })],
    noMatch: [ec2, withDetail({ responseElements: '' }), withDetail({ responseElements: 'null' })],
  },
  {
    name: 'empty strings: "" matches "" only',
    pattern: { detail: { eventVersion: [''] } },
    match: [withDetail({ eventVersion: '' })],
    noMatch: [ec2, withDetail({ eventVersion: null }), withDetail({ eventVersion: '1.0' })],
  },
  {
    name: 'exact match: a string never equals a number',
    pattern: { detail: { 'c-count': ['5'] } },
    match: [withDetail({ 'c-count': '5' })],
    noMatch: [ec2],
  },
  {
    name: 'exact match: a number matches the same number however written',
    pattern: { detail: { 'x-limit': [3.018e2] } },
    match: [ec2],
    noMatch: [withDetail({ 'x-limit': '301.8' }), withDetail({ 'x-limit': 301.80001 })],
  },
  {
    name: 'prefix matching',
    pattern: { time: [{ prefix: '2017-10-02' }] },
    match: [ec2, withTop({ time: '2017-10-02T18:43:48Z' })],
    noMatch: [withTop({ time: '2017-10-03T18:43:48Z' }), withTop({ time: 20171002 })],
  },
  {
    name: 'prefix matching (region example)',
    pattern: { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] },
    match: [withTop({ source: 'aws.autoscaling', region: 'eu-west-1' })],
    noMatch: [withTop({ source: 'aws.autoscaling' }), withTop({ region: 'eu-west-1' })],
  },
  {
    name: 'prefix matching while ignoring case',
    pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    match: [
      withDetail({ service: 'EventBridge' }),
      withDetail({ service: 'EVENTBRIDGE' }),
      withDetail({ service: 'eventb' }),
    ],
    noMatch: [withDetail({ service: 'Lambda' }), withDetail({ service: 'Event' }), ec2],
  },
  {
    name: 'suffix matching',
    pattern: { FileName: [{ suffix: '.png' }] },
    match: [{ FileName: 'image.png' }, { FileName: '.png' }],
    noMatch: [{ FileName: 'image.jpg' }, { FileName: 'image.PNG' }, {}],
  },
  {
    name: 'suffix matching while ignoring case',
    pattern: { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    match: [
      withDetail({ FileName: 'image.png' }),
      withDetail({ FileName: 'image.PNG' }),
      withDetail({ FileName: 'x.Png' }),
    ],
    noMatch: [withDetail({ FileName: 'image.jpg' }), ec2],
  },
  {
    name: 'anything-but matching (string)',
    pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
    match: [ec2, withDetail({ state: 'stopped' }), withDetail({ state: 5 }), withDetail({ state: null })],
    noMatch: [
      withDetail({ state: 'initializing' }),
      { ...ec2, detail: { 'c-count': 5 } },
      withDetail({ state: [] }),
    ],
  },
  {
    name: 'anything-but matching (number)',
    pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
    match: [ec2, withDetail({ 'x-limit': '123' })],
    noMatch: [withDetail({ 'x-limit': 123 }), withDetail({ 'x-limit': 1.23e2 })],
  },
  {
    name: 'anything-but matching (list of strings)',
    pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    match: [ec2, withDetail({ state: ['stopped', 'running'] })],
    noMatch: [
      withDetail({ state: 'stopped' }),
      withDetail({ state: 'overloaded' }),
      withDetail({ state: ['stopped'] }),
    ],
  },
  {
    name: 'anything-but matching (list of numbers)',
    pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    match: [ec2, withDetail({ 'x-limit': 101 })],
    noMatch: [withDetail({ 'x-limit': 100 }), withDetail({ 'x-limit': 300 })],
  },
  {
    name: 'anything-but matching (prefix)',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    match: [ec2, withDetail({ state: 'ini' })],
    noMatch: [withDetail({ state: 'initializing' }), withDetail({ state: 'init' })],
  },
  {
    name: 'anything-but matching (prefix: non-AWS sources)',
    pattern: { source: [{ 'anything-but': { prefix: 'aws.' } }] },
    match: [withTop({ source: 'webhook.github' })],
    noMatch: [ec2],
  },
  {
    name: 'anything-but matching (list of strings: not EC2 or S3)',
    pattern: { source: [{ 'anything-but': ['aws.ec2', 'aws.s3'] }] },
    match: [withTop({ source: 'aws.lambda' })],
    noMatch: [ec2, withTop({ source: 'aws.s3' })],
  },
  {
    name: 'anything-but matching (detail-type)',
    pattern: { 'detail-type': [{ 'anything-but': 'AWS API Call via CloudTrail' }] },
    match: [ec2],
    noMatch: [withTop({ 'detail-type': 'AWS API Call via CloudTrail' })],
  },
  {
    name: 'anything-but matching (suffix)',
    pattern: { FileName: [{ 'anything-but': { suffix: '.png' } }] },
    match: [{ FileName: 'image.jpg' }, { FileName: 'image.PNG' }],
    noMatch: [{ FileName: 'image.png' }, {}],
  },
  {
    name: 'anything-but matching (ignore case)',
    pattern: {
      detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['initializing', 'stopped'] } }] },
    },
    match: [ec2],
    noMatch: [withDetail({ state: 'INITIALIZING' }), withDetail({ state: 'Stopped' })],
  },
  {
    name: 'anything-but matching (wildcard)',
    pattern: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
    match: [{ FilePath: '/usr/bin/tool' }, { FilePath: 'lib/x' }],
    noMatch: [{ FilePath: '/usr/lib/libc.so' }, { FilePath: 'a/lib/' }],
  },
  {
    name: 'numeric matching (all fields must hold)',
    pattern: {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    },
    match: [ec2, withDetail({ 'c-count': 0.000001 })],
    noMatch: [
      withDetail({ 'c-count': 0 }),
      withDetail({ 'c-count': 5.000001 }),
      withDetail({ 'd-count': 10 }),
      withDetail({ 'x-limit': 301.81 }),
      withDetail({ 'c-count': '5' }),
    ],
  },
  {
    name: 'numeric matching: values beyond the documented range or precision never compare',
    pattern: { detail: { n: [{ numeric: ['>', 0] }] } },
    match: [withDetail({ n: 5e9 }), withDetail({ n: 0.000001 })],
    noMatch: [withDetail({ n: 5e9 + 1 }), withDetail({ n: 0.0000001 }), withDetail({ n: -1 })],
  },
  {
    name: 'IP address matching (IPv4)',
    pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
    match: [withDetail({ sourceIPAddress: '10.0.0.0' }), withDetail({ sourceIPAddress: '10.0.0.255' })],
    noMatch: [withDetail({ sourceIPAddress: '10.0.1.0' }), withDetail({ sourceIPAddress: 'ten' }), ec2],
  },
  {
    name: 'IP address matching (IPv6)',
    pattern: { detail: { sourceIPAddress: [{ cidr: '2001:db8::/32' }] } },
    match: [
      withDetail({ sourceIPAddress: '2001:db8:ffff::1' }),
      withDetail({ sourceIPAddress: '2001:0DB8::' }),
    ],
    noMatch: [withDetail({ sourceIPAddress: '2001:db9::1' }), withDetail({ sourceIPAddress: '10.0.0.1' })],
  },
  {
    name: 'exists matching: field absent',
    pattern: { detail: { 'c-count': [{ exists: false }] } },
    match: [
      {
        'detail-type': ['EC2 Instance State-change Notification'],
        resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
        detail: { state: ['initializing', 'running'] },
      },
      // c-count is not a leaf node here, so it does not "exist" either.
      {
        'detail-type': ['EC2 Instance State-change Notification'],
        resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
        detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } },
      },
      { source: 'x' },
    ],
    noMatch: [ec2, withDetail({ 'c-count': null })],
  },
  {
    name: 'exists matching: field present (leaf values only)',
    pattern: { detail: { description: [{ exists: true }] } },
    match: [
      withDetail({ description: 'x' }),
      withDetail({ description: null }),
      withDetail({ description: [1] }),
    ],
    noMatch: [ec2, withDetail({ description: { text: 'x' } }), withDetail({ description: [] })],
  },
  {
    name: 'equals-ignore-case matching',
    pattern: { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
    match: [ec2, withTop({ 'detail-type': 'EC2 INSTANCE STATE-CHANGE NOTIFICATION' })],
    noMatch: [withTop({ 'detail-type': 'EC2 Instance State-change Notification!' })],
  },
  {
    name: 'wildcard matching (event bus ARN)',
    pattern: { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
    match: [
      { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/default' },
      { EventBusArn: 'arn:aws:events:us-east-1::event-bus/' },
    ],
    noMatch: [{ EventBusArn: 'arn:aws:events:us-west-2:123456789012:event-bus/default' }],
  },
  {
    name: 'wildcard matching (file names)',
    pattern: { detail: { FileName: [{ wildcard: 'dir/*.png' }] } },
    match: [withDetail({ FileName: 'dir/image.png' }), withDetail({ FileName: 'dir/a/b.png' })],
    noMatch: [withDetail({ FileName: 'dir/image.jpg' }), withDetail({ FileName: 'other/image.png' })],
  },
  {
    name: 'wildcard matching: escaped asterisk is literal',
    pattern: { name: [{ wildcard: 'a\\*b*' }] },
    match: [{ name: 'a*b' }, { name: 'a*bcd' }],
    noMatch: [{ name: 'axb' }, { name: 'ab' }],
  },
  {
    name: '$or: metricName or namespace',
    pattern: {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    },
    match: [
      { source: 'aws.cloudwatch', metricName: 'ReadLatency' },
      { source: 'aws.cloudwatch', namespace: 'AWS/ES' },
    ],
    noMatch: [
      { source: 'aws.cloudwatch', metricName: 'Other' },
      { source: 'aws.ec2', namespace: 'AWS/ES' },
    ],
  },
  {
    name: '$or inside detail with numeric branches',
    pattern: {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    },
    match: [ec2, { detail: { 'd-count': 9 } }, { detail: { 'x-limit': 301.8 } }],
    noMatch: [{ detail: { 'c-count': 6, 'd-count': 10, 'x-limit': 1 } }, { detail: {} }],
  },
  {
    name: '$or nested inside an $or branch',
    pattern: {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization'] },
        {
          metricType: ['MetricType'],
          namespace: ['AWS/EC2'],
          $or: [{ metricId: [1234] }, { spaceId: [1000] }],
        },
        { scope: ['Service'] },
      ],
    },
    match: [
      { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 1000 },
      { source: 'aws.cloudwatch', scope: 'Service' },
    ],
    noMatch: [{ source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2', metricId: 1 }],
  },
  {
    name: 'complex example with multiple matching',
    pattern: {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
        'source-ip': [{ cidr: '10.0.0.0/8' }],
      },
    },
    match: [ec2],
    noMatch: [
      withDetail({ 'x-limit': 200 }),
      withDetail({ 'source-ip': '11.0.0.1' }),
      withTop({ time: '2018' }),
    ],
  },
  {
    name: 'matching on the other top-level fields: account, id, resources, version',
    pattern: {
      account: ['012345679012'],
      id: [{ prefix: 'ddddd4-' }],
      version: ['0'],
      resources: [{ exists: true }],
    },
    match: [ec2],
    noMatch: [withTop({ account: '999' }), withTop({ resources: [] })],
  },
];

describe('EventBridge user guide examples', () => {
  for (const c of cases) {
    it(c.name, () => {
      const compiled = compilePattern(c.pattern);
      for (const event of c.match)
        expect({ event, matches: compiled.matches(event) }).toEqual({ event, matches: true });
      for (const event of c.noMatch) {
        expect({ event, matches: compiled.matches(event) }).toEqual({ event, matches: false });
      }
    });
  }
});

describe('EventBridge semantics beyond the examples', () => {
  it('arrays of objects in events: a nested pattern matches when one element matches', () => {
    const p = compilePattern({ detail: { items: { sku: ['b'], qty: [{ numeric: ['>', 1] }] } } });
    expect(
      p.matches({
        detail: {
          items: [
            { sku: 'a', qty: 5 },
            { sku: 'b', qty: 2 },
          ],
        },
      }),
    ).toBe(true);
    expect(
      p.matches({
        detail: {
          items: [
            { sku: 'a', qty: 5 },
            { sku: 'b', qty: 1 },
          ],
        },
      }),
    ).toBe(false);
    expect(p.matches({ detail: { items: [] } })).toBe(false);
  });

  it('nested arrays in events are flattened', () => {
    expect(compilePattern({ tags: ['x'] }).matches({ tags: [['a'], ['b', ['x']]] })).toBe(true);
    expect(compilePattern({ tags: ['x'] }).matches({ tags: [['a'], ['b']] })).toBe(false);
  });

  it('a nested pattern does not match a scalar, and a leaf pattern does not match an object', () => {
    expect(compilePattern({ detail: { state: ['x'] } }).matches({ detail: 'x' })).toBe(false);
    expect(compilePattern({ detail: ['x'] }).matches({ detail: { state: 'x' } })).toBe(false);
  });

  it('booleans match booleans only', () => {
    const p = compilePattern({ ok: [true] });
    expect(p.matches({ ok: true })).toBe(true);
    expect(p.matches({ ok: 'true' })).toBe(false);
    expect(p.matches({ ok: 1 })).toBe(false);
  });

  it('prefix, suffix, wildcard and equals-ignore-case only apply to strings', () => {
    expect(compilePattern({ n: [{ prefix: '5' }] }).matches({ n: 55 })).toBe(false);
    expect(compilePattern({ n: [{ suffix: '' }] }).matches({ n: 'anything' })).toBe(true);
    expect(compilePattern({ n: [{ suffix: '' }] }).matches({ n: 5 })).toBe(false);
    expect(compilePattern({ n: [{ wildcard: '*' }] }).matches({ n: null })).toBe(false);
    expect(compilePattern({ n: [{ 'equals-ignore-case': 'TRUE' }] }).matches({ n: true })).toBe(false);
  });

  it('exact IP values compare as addresses (Event Ruler)', () => {
    expect(compilePattern({ ip: ['::1'] }).matches({ ip: '0:0:0:0:0:0:0:1' })).toBe(true);
    expect(compilePattern({ ip: ['10.0.0.1'] }).matches({ ip: '10.0.0.2' })).toBe(false);
  });

  it('exact numbers beyond the numeric range still match literally (account numbers)', () => {
    expect(compilePattern({ account: [123456789012] }).matches({ account: 123456789012 })).toBe(true);
    expect(compilePattern({ account: [123456789012] }).matches({ account: '123456789012' })).toBe(false);
  });

  it('a field constrained inside and outside $or keeps the value written last (Event Ruler compiles that way)', () => {
    const p = compilePattern({ a: ['1'], $or: [{ a: ['2'] }, { b: ['3'] }] });
    expect(p.matches({ a: '2' })).toBe(true);
    expect(p.matches({ a: '1', b: '3' })).toBe(true);
    expect(p.matches({ a: '1' })).toBe(false);
  });

  it('inherited properties are never read from events', () => {
    expect(compilePattern({ toString: [{ exists: true }] }).matches({})).toBe(false);
    expect(compilePattern({ constructor: [{ exists: false }] }).matches({})).toBe(true);
  });

  it('non-object events only match patterns satisfied by absence', () => {
    expect(compilePattern({ a: [{ exists: false }] }).matches('text')).toBe(true);
    expect(compilePattern({ a: ['x'] }).matches(null)).toBe(false);
  });
});
