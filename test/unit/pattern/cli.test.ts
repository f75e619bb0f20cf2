/** The `event-router` CLI: in-process for the details, and a few real spawns of the bin shim. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Io, main } from '../../../cli/main';

const root = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(root, 'cli/event-router.mjs');

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

describe('event-router (in process)', () => {
  it('prints true / false with exit 0', async () => {
    expect(await run(['test-pattern', '--pattern', '{"source":["a"]}', '--event', '{"source":"a"}'])).toEqual(
      {
        code: 0,
        out: 'true',
        err: '',
      },
    );
    const no = await run(['test-pattern', '--pattern={"source":["a"]}', '--event={"source":"b"}']);
    expect(no).toEqual({ code: 0, out: 'false', err: '' });
  });

  it('reads @files', async () => {
    const r = await run(['test-pattern', '--pattern', '@p.json', '--event', '@e.json'], {
      'p.json': '{"detail":{"n":[{"numeric":[">",1]}]}}',
      'e.json': '{"detail":{"n":2}}',
    });
    expect(r.out).toBe('true');
    const missing = await run(['test-pattern', '--pattern', '@nope.json', '--event', '{}']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read nope.json/);
  });

  it('exits 2 with the validation error for an invalid pattern', async () => {
    const r = await run(['test-pattern', '--pattern', '{"a":[{"regex":"x"}]}', '--event', '{}']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/a\[0\]: "regex" is not an EventBridge operator/);
  });

  it('exits 2 for bad JSON and bad usage', async () => {
    expect((await run(['test-pattern', '--pattern', '{', '--event', '{}'])).err).toMatch(
      /--pattern is not valid JSON/,
    );
    expect((await run(['test-pattern', '--pattern', '{"a":["x"]}'])).err).toMatch(
      /required option '--event <json>' not specified/,
    );
    expect((await run(['test-pattern', '--pattern', '{"a":["x"]}', '--event', '[]'])).err).toMatch(
      /JSON object/,
    );
    expect((await run(['test-pattern', '--pattern', '{}', '--event', '{}', '--bogus', 'x'])).err).toMatch(
      /unknown option '--bogus'/,
    );
    expect((await run(['test-pattern', 'stray'])).code).toBe(2);
    expect((await run(['frobnicate'])).err).toMatch(/unknown command 'frobnicate'/);
    expect((await run([])).code).toBe(2);
  });

  it('--help lists the commands and each command’s usage', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/test-pattern/);
    const sub = await run(['test-pattern', '--help']);
    expect(sub.out).toMatch(/--pattern <json>[\s\S]*--event <json>/);
  });
});

describe('event-router (spawned bin)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'event-router-'));
  const patternFile = path.join(dir, 'pattern.json');
  writeFileSync(patternFile, JSON.stringify({ 'detail-type': [{ prefix: 'pull_request.' }] }));
  const spawn = (args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });

  it('prints true for a matching event (file pattern)', () => {
    const r = spawn([
      'test-pattern',
      '--pattern',
      `@${patternFile}`,
      '--event',
      '{"detail-type":"pull_request.opened"}',
    ]);
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: 'true\n' });
  });

  it('prints false for a non-matching event', () => {
    const r = spawn(['test-pattern', '--pattern', `@${patternFile}`, '--event', '{"detail-type":"push"}']);
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: 'false\n' });
  });

  it('exits 2 with the reason for an invalid pattern', () => {
    const r = spawn(['test-pattern', '--pattern', '{"source":[]}', '--event', '{}']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/source: empty arrays are not allowed/);
  });
});
