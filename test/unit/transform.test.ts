/** Per-target JSONata transforms: compile errors, results, the bounds on time, depth, sequences and output. */
import { describe, expect, it } from 'vitest';
import {
  compileTransform,
  DEFAULT_TRANSFORM_LIMITS,
  TRANSFORM_MAX_DEPTH,
  TRANSFORM_MAX_OUTPUT_BYTES,
  TRANSFORM_MAX_SEQUENCE,
  TRANSFORM_TIMEOUT_MS,
  TransformError,
  type TransformResult,
  transformProblem,
} from '../../core/transform';

const envelope = {
  id: '01J0000000000000000000000A',
  source: 'github',
  provider: 'github',
  type: 'push',
  deliveryId: 'd-1',
  providerTime: null,
  receivedAt: '2025-01-01T00:00:00.000Z',
  subject: 'octo/repo',
  headers: { 'x-github-event': 'push', 'content-type': 'application/json' },
  data: {
    ref: 'refs/heads/main',
    repository: { full_name: 'octo/repo', private: false },
    sender: { login: 'octocat' },
    commits: [
      { id: 'c1', message: 'first', added: ['a.ts'] },
      { id: 'c2', message: 'second', added: ['b.ts', 'c.ts'] },
    ],
  },
};

async function run(
  expression: string,
  input: unknown = envelope,
  limits?: Parameters<typeof compileTransform>[1],
) {
  return compileTransform(expression, limits).apply(input);
}

/** The parsed body of a successful result (fails the test otherwise). */
function value(result: TransformResult): unknown {
  if (!result.ok) throw new Error(`expected success, got: ${result.reason}`);
  return JSON.parse(result.body);
}

/**
 * Runs a runaway expression. The reason says which bound stopped it; how long that took is a benchmark's business,
 * not a test's (a loaded CI machine would make a timed assertion flaky).
 */
async function timed(expression: string, limits?: Parameters<typeof compileTransform>[1]) {
  return { result: await run(expression, envelope, limits) };
}

const compileError = (expression: string): TransformError => {
  try {
    compileTransform(expression);
  } catch (error) {
    expect(error).toBeInstanceOf(TransformError);
    return error as TransformError;
  }
  throw new Error(`expected ${JSON.stringify(expression)} not to compile`);
};

describe('limits', () => {
  it('exports the defaults', () => {
    expect(TRANSFORM_TIMEOUT_MS).toBe(1000);
    expect(TRANSFORM_MAX_DEPTH).toBe(10_000);
    expect(TRANSFORM_MAX_SEQUENCE).toBe(1_000_000);
    expect(TRANSFORM_MAX_OUTPUT_BYTES).toBe(1024 * 1024);
    expect(DEFAULT_TRANSFORM_LIMITS).toEqual({
      timeoutMs: TRANSFORM_TIMEOUT_MS,
      maxDepth: TRANSFORM_MAX_DEPTH,
      maxSequence: TRANSFORM_MAX_SEQUENCE,
      maxOutputBytes: TRANSFORM_MAX_OUTPUT_BYTES,
    });
    expect(compileTransform('id').limits).toEqual(DEFAULT_TRANSFORM_LIMITS);
  });

  it('takes overrides and rejects limits that are not positive integers', () => {
    expect(compileTransform('id', { timeoutMs: 50 }).limits).toEqual({
      ...DEFAULT_TRANSFORM_LIMITS,
      timeoutMs: 50,
    });
    // 0 would switch jsonata's guardrail off rather than allow nothing.
    expect(() => compileTransform('id', { timeoutMs: 0 })).toThrow(RangeError);
    expect(() => compileTransform('id', { maxDepth: 1.5 })).toThrow(/maxDepth must be a positive integer/);
    expect(() => compileTransform('id', { maxOutputBytes: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });
});

describe('compile errors', () => {
  it('says why and where, with jsonata’s code and position', () => {
    const e = compileError('{"a": 1 }}');
    expect(e.message).toBe('transform: Syntax error: "}" at position 10 (S0201)');
    expect({ code: e.code, position: e.position, token: e.token }).toEqual({
      code: 'S0201',
      position: 10,
      token: '}',
    });
  });

  it('reports expressions that end too early at their end', () => {
    expect(compileError('$uppercase(type').message).toBe(
      'transform: Expected ")" before end of expression at position 15 (S0203)',
    );
    expect(compileError('"abc').message).toMatch(
      /String literal must be terminated .* at position 4 \(S0101\)/,
    );
    expect(compileError('type &').message).toBe(
      'transform: Unexpected end of expression at position 6 (S0207)',
    );
  });

  it('rejects an empty expression in plain words', () => {
    expect(compileError('').message).toBe('transform: the expression is empty');
    expect(compileError(' \n ').message).toBe('transform: the expression is empty');
  });

  it('transformProblem returns the error or undefined (for config validation)', () => {
    expect(transformProblem('{"type": type}')).toBeUndefined();
    expect(transformProblem('{"type": }')).toBeInstanceOf(TransformError);
  });
});

describe('results', () => {
  it('reshapes the envelope and returns compact JSON text', async () => {
    const result = await run(
      '{"event": type, "repo": data.repository.full_name, "by": data.sender.login, "private": data.repository.private}',
    );
    expect(result).toEqual({
      ok: true,
      body: '{"event":"push","repo":"octo/repo","by":"octocat","private":false}',
    });
  });

  it('concatenates strings', async () => {
    expect(value(await run('"[" & source & "] " & type & " on " & subject'))).toBe(
      '[github] push on octo/repo',
    );
    expect(
      value(await run('{"text": data.sender.login & " pushed " & $count(data.commits) & " commits"}')),
    ).toEqual({
      text: 'octocat pushed 2 commits',
    });
  });

  it('looks up keys that are not identifiers with $lookup', async () => {
    expect(value(await run('$lookup(headers, "x-github-event")'))).toBe('push');
    expect(value(await run('{"kind": $lookup(headers, "content-type")}'))).toEqual({
      kind: 'application/json',
    });
  });

  it('maps, flattens and filters arrays', async () => {
    expect(value(await run('data.commits.id'))).toEqual(['c1', 'c2']);
    expect(value(await run('data.commits.added'))).toEqual(['a.ts', 'b.ts', 'c.ts']);
    expect(value(await run('data.commits.{"sha": id, "files": $count(added)}'))).toEqual([
      { sha: 'c1', files: 1 },
      { sha: 'c2', files: 2 },
    ]);
    expect(value(await run('data.commits[$count(added) > 1].message'))).toBe('second');
    // One match is a single value unless the path asks for an array with [].
    expect(value(await run('{"ids": data.commits[$count(added) > 1].id[]}'))).toEqual({ ids: ['c2'] });
    expect(value(await run('data.commits{id: message}'))).toEqual({ c1: 'first', c2: 'second' });
  });

  it('passes the whole envelope through with $', async () => {
    expect(value(await run('$'))).toEqual(envelope);
  });

  it('evaluates with no envelope at all without throwing', async () => {
    expect(await run('"constant"', undefined)).toEqual({ ok: true, body: '"constant"' });
  });

  it('rounds integers beyond 2^53: it sees the parsed envelope (documented behaviour)', async () => {
    const parsed = JSON.parse('{"data":{"id":12345678901234567891,"small":9007199254740991}}');
    const result = await run('{"id": data.id, "small": data.small, "text": $string(data.id)}', parsed);
    expect(result).toEqual({
      ok: true,
      body: '{"id":12345678901234567000,"small":9007199254740991,"text":"12345678901234567000"}',
    });
  });
});

describe('evaluation errors are results, never exceptions', () => {
  it('an undefined result (nothing matched) is an error, not an empty body', async () => {
    const result = await run('data.nope');
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^transform produced no value/) });
    expect(result.ok === false && result.reason).toMatch(/\?\? null/);
    // What the reason suggests works.
    expect(await run('data.nope ?? null')).toEqual({ ok: true, body: 'null' });
    expect(await run('{"x": data.nope}')).toEqual({ ok: true, body: '{}' });
  });

  it('$error() fails with its message', async () => {
    expect(await run('$error("x")')).toEqual({
      ok: false,
      reason: 'transform failed: x at position 7 (D3137)',
    });
    expect(await run('type = "push" ? $error("no pushes, please") : type')).toEqual({
      ok: false,
      reason: expect.stringContaining('no pushes, please'),
    });
  });

  it('a type error fails with jsonata’s message', async () => {
    expect(await run('type + 1')).toEqual({
      ok: false,
      reason:
        'transform failed: The left side of the "+" operator must evaluate to a number at position 6 (T2001)',
    });
    expect(await run('$substring(data.commits, 1)')).toEqual({
      ok: false,
      reason: expect.stringMatching(/^transform failed: .*\(T0410\)$/),
    });
  });

  it('a function value is not JSON', async () => {
    for (const expression of ['function($x) { $x }', '$uppercase', '{"f": $uppercase}', '[1, /re/]']) {
      expect(await run(expression)).toEqual({
        ok: false,
        reason: 'transform produced a function, which is not JSON',
      });
    }
  });

  it('refuses an envelope whose payload was not fetched (dataRef without data)', async () => {
    const ref = { bucket: 'b', key: 'k', bytes: 10, sha256: '0'.repeat(64) };
    const unresolved = { ...envelope, data: undefined, dataRef: ref };
    expect(await run('{"t": type}', unresolved)).toEqual({
      ok: false,
      reason: expect.stringMatching(/dataRef.*fetch it into data first/),
    });
    expect(value(await run('data.ref', { ...envelope, dataRef: ref }))).toBe('refs/heads/main');
  });
});

describe('time bound', () => {
  it('stops an infinite loop (tail recursion, which jsonata runs as a loop) after the timeout', async () => {
    const { result } = await timed('($loop := function($i) { $loop($i + 1) }; $loop(0))');
    expect(result).toEqual({ ok: false, reason: 'transform exceeded 1000 ms' });
  });

  it('stops infinite recursion that never grows the stack', async () => {
    const { result } = await timed('($f := function($x) { $f($x) }; $f(1))');
    expect(result).toEqual({ ok: false, reason: 'transform exceeded 1000 ms' });
  });

  it('takes a configured timeout, also for long finite work', async () => {
    const { result } = await timed('$count([1..999999].($string($) & "x"))', { timeoutMs: 100 });
    expect(result).toEqual({ ok: false, reason: 'transform exceeded 100 ms' });
  });

  it('counts the branches of array and object constructors (which jsonata evaluates in parallel)', async () => {
    const loop = '($f := function($x) { $f($x) }; $f(1))';
    for (const expression of [`{"a": 1, "b": ${loop}}`, `[1, ${loop}]`]) {
      const { result } = await timed(expression, { timeoutMs: 200 });
      expect(result).toEqual({ ok: false, reason: 'transform exceeded 200 ms' });
    }
  });

  it('reaches into $eval()', async () => {
    const { result } = await timed('$eval("($f := function($x) { $f($x) }; $f(1))")', { timeoutMs: 200 });
    expect(result).toEqual({ ok: false, reason: 'transform exceeded 200 ms' });
  });

  it('starts afresh on each apply', async () => {
    const compiled = compileTransform('$count([1..20000].($string($)))', { timeoutMs: 1000 });
    for (let i = 0; i < 3; i++) expect(await compiled.apply(envelope)).toEqual({ ok: true, body: '20000' });
  });
});

describe('depth bound', () => {
  const countdown = (n: number) => `($f := function($x) { $x = 0 ? 0 : 1 + $f($x - 1) }; $f(${n}))`;

  it('allows deep but finite recursion', async () => {
    expect(await run(countdown(1000))).toEqual({ ok: true, body: '1000' });
  });

  it('stops infinite non-tail recursion quickly, before the timeout', async () => {
    // A generous timeout so that only the depth bound can end it, even on a loaded machine.
    const { result } = await timed('($f := function($x) { 1 + $f($x) }; $f(1))', { timeoutMs: 10_000 });
    expect(result).toEqual({
      ok: false,
      reason: 'transform exceeded depth 10000 (runaway recursion? make recursion a tail call)',
    });
  });

  it('takes a configured depth', async () => {
    expect(await run(countdown(20), envelope, { maxDepth: 100 })).toEqual({ ok: true, body: '20' });
    expect(await run(countdown(200), envelope, { maxDepth: 100 })).toEqual({
      ok: false,
      reason: expect.stringMatching(/^transform exceeded depth 100 /),
    });
  });

  it('has room for wide objects and group-by over thousands of keys', async () => {
    const items = Array.from({ length: 3000 }, (_, i) => ({ id: `k${i}`, v: i }));
    const result = await run('$count($keys(items{id: v}))', { items });
    expect(result).toEqual({ ok: true, body: '3000' });
  });
});

describe('sequence bound', () => {
  it('stops huge sequences before a built-in works on them', async () => {
    expect(await run('$count([1..2000000])')).toEqual({
      ok: false,
      reason: 'transform exceeded 1000000 items in one sequence',
    });
    expect(await run('$count([1..1000000])')).toEqual({ ok: true, body: '1000000' });
    expect(await run('$count(data.commits.added)', envelope, { maxSequence: 2 })).toEqual({
      ok: false,
      reason: 'transform exceeded 2 items in one sequence',
    });
  });
});

describe('output bound', () => {
  it('rejects output over 1 MiB', async () => {
    const result = await run('{"padding": $pad("", 1048576, "x")}');
    expect(result).toEqual({
      ok: false,
      reason: expect.stringMatching(/^transform output exceeded 1048576 bytes \(at least \d+\)$/),
    });
    // 1 MiB including the quotes is fine.
    expect(await run('$pad("", 1048574, "x")')).toMatchObject({ ok: true });
  });

  it('counts UTF-8 bytes, not characters', async () => {
    // "éééé" is 4 characters, 8 bytes, 10 with the quotes.
    expect(await run('"éééé"', envelope, { maxOutputBytes: 10 })).toEqual({ ok: true, body: '"éééé"' });
    expect(await run('"ééééé"', envelope, { maxOutputBytes: 10 })).toEqual({
      ok: false,
      reason: 'transform output exceeded 10 bytes (at least 12)',
    });
  });
});
