/** Patterns EventBridge rejects: each throws a PatternError whose message names the JSON path and the reason. */
import { describe, expect, it } from 'vitest';
import { PatternError, validatePattern } from '../../../core/pattern';

function rejection(pattern: unknown): PatternError {
  try {
    validatePattern(pattern);
  } catch (error) {
    if (error instanceof PatternError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(pattern)} to be rejected`);
}

const nestedOr = (width: number, depth: number): Record<string, unknown> => {
  const branch = (i: number) => ({ [`f${depth}_${i}`]: ['x'] });
  const level: Record<string, unknown> = { $or: Array.from({ length: width }, (_, i) => branch(i)) };
  return depth <= 1 ? level : { ...level, [`n${depth}`]: nestedOr(width, depth - 1) };
};

const rejected: [string, unknown, string, RegExp][] = [
  ['an array as the pattern', [], '$', /must be a JSON object/],
  ['a string as the pattern', 'source', '$', /must be a JSON object/],
  ['null as the pattern', null, '$', /must be a JSON object/],
  ['an empty pattern', {}, '$', /empty objects/],
  ['an empty nested object', { detail: {} }, 'detail', /empty objects/],
  [
    'a leaf that is not an array',
    { source: 'aws.ec2' },
    'source',
    /array of match values.*write \["aws.ec2"\]/,
  ],
  ['a numeric leaf that is not an array', { detail: { n: 5 } }, 'detail.n', /array of match values/],
  ['an empty array', { detail: { state: [] } }, 'detail.state', /empty arrays/],
  ['an array inside a value list', { detail: { state: [['a']] } }, 'detail.state[0]', /not an array/],
  ['an empty match expression', { state: [{}] }, 'state[0]', /empty match expression/],
  ['an unknown operator', { state: [{ startswith: 'a' }] }, 'state[0]', /unknown operator "startswith"/],
  [
    'regex',
    { detail: { title: [{ regex: '^fix' }] } },
    'detail.title[0]',
    /"regex" is not an EventBridge operator.*no regular expressions/,
  ],
  [
    'contains',
    { title: [{ contains: 'fix' }] },
    'title[0]',
    /"contains" is not an EventBridge operator.*wildcard/,
  ],
  ['not', { title: [{ not: 'fix' }] }, 'title[0]', /not an EventBridge operator.*anything-but/],
  ['exactly', { title: [{ exactly: 'fix' }] }, 'title[0]', /not an EventBridge operator/],
  ['two operators in one object', { n: [{ prefix: 'a', suffix: 'b' }] }, 'n[0]', /only one operator/],
  ['prefix with a number', { n: [{ prefix: 5 }] }, 'n[0]', /prefix must be a string/],
  [
    'prefix with an unknown nested operator',
    { n: [{ prefix: { wildcard: 'a' } }] },
    'n[0]',
    /unsupported prefix operator/,
  ],
  [
    'suffix ignore-case with a number',
    { n: [{ suffix: { 'equals-ignore-case': 1 } }] },
    'n[0]',
    /must be a string/,
  ],
  ['equals-ignore-case with a list', { n: [{ 'equals-ignore-case': ['a'] }] }, 'n[0]', /must be a string/],
  ['numeric that is not an array', { n: [{ numeric: '>5' }] }, 'n[0]', /numeric must be an array/],
  [
    'numeric with an unknown operator',
    { n: [{ numeric: ['!=', 5] }] },
    'n[0]',
    /unknown numeric operator "!="/,
  ],
  ['numeric with a string value', { n: [{ numeric: ['>', '5'] }] }, 'n[0]', /must be a JSON number/],
  ['numeric without a value', { n: [{ numeric: ['>'] }] }, 'n[0]', /needs a number/],
  ['numeric in the wrong order', { n: [{ numeric: ['<', 10, '>', 0] }] }, 'n[0]', /wrong operator order/],
  [
    'numeric with two lower bounds',
    { n: [{ numeric: ['>', 0, '>=', 1] }] },
    'n[0]',
    /cannot be followed by ">="/,
  ],
  ['an inverted numeric range', { n: [{ numeric: ['>', 10, '<', 1] }] }, 'n[0]', /inverted or empty/],
  ['an empty numeric range', { n: [{ numeric: ['>=', 1, '<=', 1] }] }, 'n[0]', /inverted or empty/],
  ['= followed by more', { n: [{ numeric: ['=', 1, '<', 2] }] }, 'n[0]', /"=" takes a single number/],
  ['numeric with too many elements', { n: [{ numeric: ['>', 0, '<', 2, 3] }] }, 'n[0]', /too many elements/],
  ['numeric beyond 5.0e9', { n: [{ numeric: ['>', 5.1e9] }] }, 'n[0]', /outside the range.*5\.0e9/],
  [
    'numeric with 7 decimals',
    { n: [{ numeric: ['<', 0.0000001] }] },
    'n[0]',
    /more than 6 digits after the decimal point/,
  ],
  ['exists with a string', { n: [{ exists: 'true' }] }, 'n[0]', /exists must be true or false/],
  ['exists with null', { detail: { n: [{ exists: null }] } }, 'detail.n[0]', /exists must be true or false/],
  ['wildcard with **', { path: [{ wildcard: 'a/**/b' }] }, 'path[0]', /consecutive wildcard characters/],
  ['wildcard with a bad escape', { path: [{ wildcard: 'a\\b' }] }, 'path[0]', /invalid escape/],
  ['wildcard with a trailing backslash', { path: [{ wildcard: 'a\\' }] }, 'path[0]', /invalid escape/],
  ['cidr without a mask', { ip: [{ cidr: '10.0.0.1' }] }, 'ip[0]', /exactly one "\/"/],
  ['cidr with a bad address', { ip: [{ cidr: '10.0.0.300/24' }] }, 'ip[0]', /invalid IP address/],
  ['cidr with a host name', { ip: [{ cidr: 'example.com/24' }] }, 'ip[0]', /nonstandard IP address/],
  ['cidr with /32', { ip: [{ cidr: '10.0.0.1/32' }] }, 'ip[0]', /IPv4 mask bits must be < 32/],
  ['cidr with a mask that is not a number', { ip: [{ cidr: '10.0.0.0/x' }] }, 'ip[0]', /must be an integer/],
  ['IPv6 cidr with /128', { ip: [{ cidr: '::1/128' }] }, 'ip[0]', /IPv6 mask bits must be < 128/],
  ['anything-but with a boolean', { s: [{ 'anything-but': true }] }, 's[0]', /anything-but takes a string/],
  [
    'anything-but with a mixed list',
    { s: [{ 'anything-but': ['a', 1] }] },
    's[0]',
    /all strings or all numbers/,
  ],
  [
    'anything-but with null in a list',
    { s: [{ 'anything-but': ['a', null] }] },
    's[0]',
    /only strings or only numbers/,
  ],
  ['anything-but with an empty list', { s: [{ 'anything-but': [] }] }, 's[0]', /must not be empty/],
  [
    'anything-but numeric',
    { s: [{ 'anything-but': { numeric: ['>', 1] } }] },
    's[0]',
    /unsupported anything-but operator "numeric"/,
  ],
  [
    'anything-but with an empty prefix',
    { s: [{ 'anything-but': { prefix: '' } }] },
    's[0]',
    /empty prefix\/suffix/,
  ],
  [
    'anything-but prefix with a number',
    { s: [{ 'anything-but': { prefix: 1 } }] },
    's[0]',
    /must be a string/,
  ],
  [
    'anything-but wildcard with **',
    { s: [{ 'anything-but': { wildcard: ['a**'] } }] },
    's[0]',
    /consecutive wildcard/,
  ],
  ['anything-but number beyond the range', { s: [{ 'anything-but': 6e9 }] }, 's[0]', /outside the range/],
  ['$or with one item', { $or: [{ a: ['x'] }] }, '$or', /at least 2/],
  ['$or that is not an array', { $or: { a: ['x'] } }, '$or', /must be an array/],
  [
    '$or with a non-object item',
    { detail: { $or: [{ a: ['x'] }, ['y']] } },
    'detail.$or[1]',
    /must be a pattern object/,
  ],
  ['$or with an invalid branch', { $or: [{ a: ['x'] }, { b: [] }] }, '$or[1].b', /empty arrays/],
  [
    'an operator name as a field inside $or',
    { $or: [{ prefix: ['x'] }, { b: ['y'] }] },
    '$or[0].prefix',
    /operator name/,
  ],
  ['$or with more than 1000 combinations', nestedOr(6, 4), 'n4.n3.n2.$or', /more than 1000 combinations/],
  [
    'a pattern nested too deeply',
    JSON.parse(`${'{"a":'.repeat(80)}["x"]${'}'.repeat(80)}`),
    'a.a',
    /nested deeper/,
  ],
  ['odd keys in the path', { detail: { 'a.b': [{ numeric: ['>'] }] } }, 'detail["a.b"][0]', /needs a number/],
];

describe('validatePattern rejects what EventBridge rejects', () => {
  for (const [name, pattern, path, reason] of rejected) {
    it(name, () => {
      const error = rejection(pattern);
      expect(error.path.startsWith(path)).toBe(true);
      expect(error.reason).toMatch(reason);
      expect(error.message).toBe(`${error.path}: ${error.reason}`);
      expect(error.name).toBe('PatternError');
    });
  }
});

describe('validatePattern accepts what EventBridge accepts', () => {
  const accepted: [string, unknown][] = [
    ['plain values of every JSON scalar type', { a: ['x', 1, -2.5, true, false, null, ''] }],
    ['an empty prefix (matches any string)', { a: [{ prefix: '' }] }],
    ['exists mixed with values', { a: [{ exists: false }, 'x'] }],
    [
      'numeric at the documented limits',
      { a: [{ numeric: ['>=', -5e9, '<=', 5e9] }, { numeric: ['=', 0.000001] }] },
    ],
    ['exact numbers outside the numeric range', { account: [123456789012] }],
    ['anything-but lists of each nested kind', { a: [{ 'anything-but': { suffix: ['.png', '.jpg'] } }] }],
    ['wildcard escapes', { a: [{ wildcard: 'a\\*b\\\\c*' }] }],
    ['cidr /0 and IPv6', { a: [{ cidr: '0.0.0.0/0' }, { cidr: '2001:db8::/127' }] }],
    [
      'exactly 1000 combinations',
      {
        $or: Array.from({ length: 10 }, (_, i) => ({ [`a${i}`]: ['x'] })),
        b: {
          $or: Array.from({ length: 10 }, (_, i) => ({ [`b${i}`]: ['x'] })),
          c: { $or: Array.from({ length: 10 }, (_, i) => ({ [`c${i}`]: ['x'] })) },
        },
      },
    ],
    ['operator names as ordinary field names outside $or', { prefix: ['x'], numeric: { exists: [1] } }],
  ];
  for (const [name, pattern] of accepted) {
    it(name, () => {
      expect(() => validatePattern(pattern)).not.toThrow();
    });
  }
});
