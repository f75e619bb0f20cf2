import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rawJsonMember, spliceJsonObject, topLevelMembers } from '../../lambdas/shared/raw-json';

/** Keys that try to fool a scanner: `detail` spelled in strings, escapes, quotes, brackets, backslashes. */
const trickyKey = fc.oneof(
  fc.constantFrom(
    'detail',
    'details',
    'Detail',
    'detail ',
    '"detail"',
    'de\\tail',
    'x"detail":1',
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '\\',
    '\\"',
    '__proto__',
    '',
  ),
  fc.string(),
);

/** JSON values whose strings and keys are full of the characters that matter to the scanner. */
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string(),
    trickyKey,
    fc.string({ unit: 'binary' }),
  ),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(trickyKey, tie('node'), { maxKeys: 4 }),
  ),
})).node;

/** Serialises like JSON.stringify but with random whitespace between tokens (still valid JSON). */
function stringifySpaced(v: unknown, ws: () => string): string {
  if (Array.isArray(v))
    return `[${ws()}${v.map((x) => stringifySpaced(x, ws)).join(`${ws()},${ws()}`)}${ws()}]`;
  if (v !== null && typeof v === 'object') {
    const members = Object.entries(v).map(
      ([k, x]) => `${JSON.stringify(k)}${ws()}:${ws()}${stringifySpaced(x, ws)}`,
    );
    return `{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}`;
  }
  return JSON.stringify(v);
}

const whitespace = fc.array(fc.constantFrom('', ' ', '\n', '\t', '\r\n  '), { minLength: 64, maxLength: 64 });

describe('rawJsonMember', () => {
  it('returns the exact text of a top-level value', () => {
    const text =
      '{"version":"0","detail":{"id":9007199254740993,"big":123456789012345678901234567890},"x":1}';
    expect(rawJsonMember(text, 'detail')).toBe(
      '{"id":9007199254740993,"big":123456789012345678901234567890}',
    );
    expect(rawJsonMember(text, 'version')).toBe('"0"');
    expect(rawJsonMember(text, 'x')).toBe('1');
    expect(rawJsonMember(text, 'missing')).toBeUndefined();
  });

  it('keeps number spellings, escapes and whitespace inside the value as written', () => {
    const detail = '{ "a" : 1.0 , "b":1e2, "c":"\\u00e9\\"\\\\", "d":[ -0 , 1E-7 ] }';
    expect(rawJsonMember(`{"detail" :\n ${detail}\n}`, 'detail')).toBe(detail);
  });

  it('ignores "detail" inside strings and nested objects', () => {
    const text =
      '{"a":"\\"detail\\":{\\"fake\\":1}","nested":{"detail":{"fake":2}},"list":[{"detail":3}],"detail":{"real":true}}';
    expect(rawJsonMember(text, 'detail')).toBe('{"real":true}');
    expect(rawJsonMember('{"nested":{"detail":1}}', 'detail')).toBeUndefined();
  });

  it('decodes escaped keys and lets the last duplicate win, like JSON.parse', () => {
    expect(rawJsonMember('{"det\\u0061il":[1],"x":0}', 'detail')).toBe('[1]');
    expect(rawJsonMember('{"detail":1,"detail":{"second":2}}', 'detail')).toBe('{"second":2}');
  });

  it('handles brackets and backslashes inside strings', () => {
    const text = '{"s":"}]{[\\\\","detail":{"t":"\\\\\\"}"},"after":"]"}';
    expect(rawJsonMember(text, 'detail')).toBe('{"t":"\\\\\\"}"}');
    expect(JSON.parse(rawJsonMember(text, 'detail')!)).toEqual(JSON.parse(text).detail);
  });

  it('throws on text that is not one JSON object', () => {
    for (const bad of [
      '',
      '[]',
      '"detail"',
      '{',
      '{"detail":}',
      '{"detail":{"a":1}',
      '{"detail":{"a":1]}',
      '{"detail":"unterminated}',
      '{"detail" 1}',
      '{"a":1 "detail":2}',
      '{"a":1,}',
      '{detail:1}',
      '{"a":1} trailing',
      '{"a":"\u0001"}',
    ]) {
      expect(() => rawJsonMember(bad, 'detail'), bad).toThrow(SyntaxError);
    }
  });

  it('property: for random objects with a detail key, the slice parses to the same value as parsing the whole', () => {
    fc.assert(
      fc.property(
        fc.dictionary(trickyKey, value, { maxKeys: 6 }),
        value,
        fc.nat(),
        whitespace,
        (others, detail, position, spaces) => {
          // Insert `detail` at a random position among the other members (own __proto__ keys included).
          const entries = Object.entries(others).filter(([k]) => k !== 'detail');
          entries.splice(position % (entries.length + 1), 0, ['detail', detail]);
          const object = Object.fromEntries(entries);
          let w = 0;
          const text = stringifySpaced(object, () => spaces[w++ % spaces.length]!);
          const slice = rawJsonMember(text, 'detail');
          expect(slice).toBeDefined();
          expect(JSON.parse(slice!)).toEqual(JSON.parse(text).detail);
          // Exact: the slice is the value's own text, not a re-serialisation.
          expect(text).toContain(slice);
          expect(slice).toBe(slice!.trim());
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: every member slice parses to the member value (keys decoded like JSON.parse)', () => {
    fc.assert(
      fc.property(fc.dictionary(trickyKey, value, { maxKeys: 8 }), (object) => {
        const text = JSON.stringify(object);
        const parsed = JSON.parse(text) as Record<string, unknown>;
        const members = topLevelMembers(text);
        expect(members.map((m) => m.key)).toEqual(Object.keys(parsed));
        for (const m of members) expect(JSON.parse(text.slice(m.start, m.end))).toEqual(parsed[m.key]);
      }),
      { numRuns: 300 },
    );
  });

  it('property: large integers keep their digits', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), (n) => {
        const text = `{"version":"0","detail":{"id":${n},"nested":{"n":[${n}]}}}`;
        expect(rawJsonMember(text, 'detail')).toBe(`{"id":${n},"nested":{"n":[${n}]}}`);
      }),
    );
  });
});

describe('spliceJsonObject', () => {
  it('drops members and appends raw values, keeping every other member byte for byte', () => {
    const envelope = '{"id":"X","n":9007199254740993, "dataRef" : {"key":"k"},"headers":{"a":"b"}}';
    expect(spliceJsonObject(envelope, ['dataRef'], { data: '{"big":123456789012345678901234567890}' })).toBe(
      '{"id":"X","n":9007199254740993,"headers":{"a":"b"},"data":{"big":123456789012345678901234567890}}',
    );
    expect(spliceJsonObject('{}', [], { data: '[]' })).toBe('{"data":[]}');
    // An appended key replaces a member of the same name rather than duplicating it.
    expect(spliceJsonObject('{"data":1,"x":2}', [], { data: '3' })).toBe('{"x":2,"data":3}');
  });

  it('property: the result parses to the object without the omitted keys plus the appended value', () => {
    fc.assert(
      fc.property(fc.dictionary(trickyKey, value, { maxKeys: 6 }), value, (object, data) => {
        const text = JSON.stringify(object);
        const spliced = spliceJsonObject(text, ['dataRef'], { data: JSON.stringify(data) });
        const { dataRef: _dropped, data: _replaced, ...rest } = JSON.parse(text) as Record<string, unknown>;
        expect(JSON.parse(spliced)).toEqual({ ...rest, data: JSON.parse(JSON.stringify(data)) });
      }),
      { numRuns: 300 },
    );
  });
});
