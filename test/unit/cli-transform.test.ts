/** `event-router test-transform`: in-process for the details, and a few real spawns of the bin shim. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Io, main } from '../../cli/main';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'cli/event-router.mjs');

/** `files['-']` stands for stdin. */
function run(args: string[], files: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    isTTY: false,
    env: {},
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    readFile: (p) => {
      const text = files[p];
      if (text === undefined) throw new Error('ENOENT: no such file');
      return text;
    },
  };
  return main(args, io).then((code) => ({ code, out: out.join('\n'), err: err.join('\n') }));
}

const event = JSON.stringify({
  id: '01J0000000000000000000000A',
  source: 'github',
  type: 'pull_request.opened',
  headers: { 'x-github-event': 'pull_request' },
  data: { number: 7, pull_request: { title: 'Fix it', user: { login: 'octocat' } } },
});

describe('event-router test-transform (in process)', () => {
  it('prints the transformed JSON, indented by 2, with exit 0', async () => {
    const r = await run([
      'test-transform',
      '--transform',
      '{"text": data.pull_request.user.login & " opened #" & data.number, "kind": type}',
      '--event',
      event,
    ]);
    expect(r).toEqual({
      code: 0,
      out: '{\n  "text": "octocat opened #7",\n  "kind": "pull_request.opened"\n}',
      err: '',
    });
  });

  it('takes the expression as raw text, not JSON, and --name=value', async () => {
    // `type` is not JSON, and the JSON string "type" is a JSONata string literal.
    expect(await run(['test-transform', '--transform=type', `--event=${event}`])).toEqual({
      code: 0,
      out: '"pull_request.opened"',
      err: '',
    });
    expect((await run(['test-transform', '--transform', '"type"', '--event', event])).out).toBe('"type"');
    expect(
      (await run(['test-transform', '--transform', '$lookup(headers, "x-github-event")', '--event', event]))
        .out,
    ).toBe('"pull_request"');
  });

  it('reads @files, and @- from stdin', async () => {
    const files = { 't.jsonata': '/* a comment */\n{\n  "n": data.number\n}\n', 'e.json': event };
    const fromFiles = await run(['test-transform', '--transform', '@t.jsonata', '--event', '@e.json'], files);
    expect(fromFiles).toEqual({ code: 0, out: '{\n  "n": 7\n}', err: '' });
    const fromStdin = await run(['test-transform', '--transform', '@-', '--event', event], {
      '-': 'data.number',
    });
    expect(fromStdin.out).toBe('7');
    const eventFromStdin = await run(['test-transform', '--transform', 'id', '--event', '@-'], {
      '-': event,
    });
    expect(eventFromStdin.out).toBe('"01J0000000000000000000000A"');
    const missing = await run(['test-transform', '--transform', '@nope.jsonata', '--event', '{}']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--transform: cannot read nope.jsonata/);
  });

  it('exits 2 with where and why for an invalid expression', async () => {
    const r = await run(['test-transform', '--transform', '{"a": 1 }}', '--event', event]);
    expect(r).toEqual({ code: 2, out: '', err: 'transform: Syntax error: "}" at position 10 (S0201)' });
  });

  it('exits 1 with the reason for an evaluation error', async () => {
    expect(await run(['test-transform', '--transform', '$error("not this one")', '--event', event])).toEqual({
      code: 1,
      out: '',
      err: 'transform failed: not this one at position 7 (D3137)',
    });
    const nothing = await run(['test-transform', '--transform', 'data.missing', '--event', event]);
    expect(nothing.code).toBe(1);
    expect(nothing.err).toMatch(/^transform produced no value/);
  });

  it('exits 1 when a bound is exceeded', async () => {
    const r = await run(['test-transform', '--transform', '$count([1..2000000])', '--event', event]);
    expect(r).toEqual({ code: 1, out: '', err: 'transform exceeded 1000000 items in one sequence' });
  });

  it('exits 2 for bad JSON and bad usage', async () => {
    expect((await run(['test-transform', '--transform', 'id', '--event', '{'])).err).toMatch(
      /--event is not valid JSON/,
    );
    expect((await run(['test-transform', '--event', event])).err).toMatch(
      /required option '--transform <expression>' not specified/,
    );
    expect((await run(['test-transform', '--transform', 'id'])).err).toMatch(
      /required option '--event <json>' not specified/,
    );
    expect((await run(['test-transform', '--transform', 'id', '--event', '[1]'])).err).toMatch(/JSON object/);
    expect(
      (await run(['test-transform', '--transform', 'id', '--event', '{}', '--pattern', 'x'])).err,
    ).toMatch(/unknown option '--pattern'/);
    expect((await run(['test-transform', 'stray'])).code).toBe(2);
  });

  it('--help lists the command and its usage', async () => {
    const top = await run(['--help']);
    expect(top.out).toMatch(/test-transform \[options\] +Apply a target’s JSONata transform/);
    const sub = await run(['test-transform', '--help']);
    expect(sub).toMatchObject({ code: 0, err: '' });
    expect(sub.out).toMatch(/--transform <expression>[\s\S]*--event <json>/);
    expect((await run(['help', 'test-transform'])).out).toBe(sub.out);
  });
});

describe('event-router test-transform (spawned bin)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'event-router-'));
  const eventFile = path.join(dir, 'event.json');
  writeFileSync(eventFile, event);
  const spawn = (args: string[], input?: string) =>
    spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', input });

  it('prints the transformed JSON (expression on stdin, event from a file)', () => {
    const r = spawn(
      ['test-transform', '--transform', '@-', '--event', `@${eventFile}`],
      '{"n": data.number}',
    );
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 0,
      stdout: '{\n  "n": 7\n}\n',
      stderr: '',
    });
  });

  it('exits 1 with the reason for an evaluation error', () => {
    const r = spawn(['test-transform', '--transform', 'data.nope', '--event', `@${eventFile}`]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^transform produced no value/);
  });

  it('exits 2 with the reason for an invalid expression', () => {
    const r = spawn(['test-transform', '--transform', 'data[', '--event', '{}']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^transform: .* at position 5 \(S0203\)/);
  });
});
