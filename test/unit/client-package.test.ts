/**
 * The client SDK as published (`npm run build:client`, client/build.ts). The spec builds it into a temporary
 * project's node_modules/event-router beside the repository's package.json, and uses `event-router/client` there as
 * a consumer would: through the package's exports, type-checked by the TypeScript compiler against the emitted
 * declarations only, and loaded by a fresh Node process that has no AWS SDK to find.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, type ClientBuild } from '../../client/build';

const repo = path.resolve(import.meta.dirname, '../..');

/** Uses every part of the public API a consumer touches: options, statuses, the envelope, the iterator, errors. */
const CONSUMER = `
import {
  connectLive,
  type Envelope,
  type LiveEvent,
  type LiveOptions,
  type LiveStatus,
  LiveStreamError,
  type WebSocketConstructor,
} from 'event-router/client';

function describeStatus(status: LiveStatus): string {
  switch (status.type) {
    case 'connecting':
      return 'attempt ' + status.attempt;
    case 'open':
    case 'closed':
      return status.type;
    case 'resumed':
      return status.since + '..' + status.through;
    case 'reconnecting':
      return 'in ' + status.inMs + ' ms: ' + status.reason;
    default: {
      const unreachable: never = status;
      return unreachable;
    }
  }
}

function summary(envelope: Envelope): string {
  const provider: 'github' | 'internal' | (string & {}) = envelope.provider;
  const payload = envelope.dataRef ? envelope.dataRef.bucket + '/' + envelope.dataRef.key : typeof envelope.data;
  return provider + ' ' + envelope.type + ' ' + (envelope.subject ?? '-') + ' ' + payload;
}

export async function follow(
  WebSocket: WebSocketConstructor,
  log: (line: string) => void,
  since?: string,
): Promise<string | undefined> {
  const options: LiveOptions = {
    url: 'wss://example.com/live',
    key: 'erk_0123456789abcdef_secret',
    pattern: { 'detail-type': [{ prefix: 'pull_request.' }] },
    ...(since ? { since } : {}),
    WebSocket,
    backoff: { initialMs: 100, maxMs: 1_000 },
    onStatus: (status) => log(describeStatus(status)),
  };
  const stream = connectLive(options);
  try {
    for await (const event of stream) {
      const { id, envelope, text }: LiveEvent = event;
      log(id + ' ' + summary(envelope) + ' ' + text.length);
      if (envelope.headers['x-github-event'] === 'ping') break;
    }
  } catch (error) {
    if (error instanceof LiveStreamError) return error.code + ' ' + (error.status ?? '');
    throw error;
  }
  await stream.closed;
  return stream.lastId;
}
`;

/** On Node 20 (no global WebSocket), the README's way: \`ws\`'s class as it is, no cast. */
const NODE_CONSUMER = `
import WebSocket from 'ws';
import { connectLive } from 'event-router/client';

export const stream = connectLive({ url: 'wss://example.com/live', key: 'erk_0123456789abcdef_secret', WebSocket });
`;

/** Each line marked `// error TSnnnn` is a mistake the declarations must catch (and nothing else is reported). */
const BROKEN = `
import { connectLive, ENVELOPE_PROVIDERS } from 'event-router/client'; // error TS2459
const stream = connectLive({ url: 'wss://example.com/live', key: 42 }); // error TS2322
const seen: unknown[] = [];
for await (const { id, envelope } of stream) {
  if (envelope.provider === 'gitlab') break; // error TS2367
  const seq: number = id; // error TS2322
  seen.push(seq, ENVELOPE_PROVIDERS, envelope.body); // error TS2339
}
`;

/** What a strict consumer compiles with: Node's ESM resolution (the exports map), no DOM or Node typings. */
const CONSUMER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts'],
  types: [],
  noEmit: true,
  skipLibCheck: false,
};

let project: string;
let built: ClientBuild;

beforeAll(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'event-router-client-'));
  const pkg = path.join(project, 'node_modules', 'event-router');
  built = await buildClient(path.join(pkg, 'client', 'dist'));
  // Laid out as in the repository: the package.json, and the client's source beside its build (only the exports
  // map keeps a consumer on the build).
  await copyFile(path.join(repo, 'package.json'), path.join(pkg, 'package.json'));
  await copyFile(path.join(repo, 'client', 'index.ts'), path.join(pkg, 'client', 'index.ts'));
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  await mkdir(path.join(project, 'src'));
  await writeFile(path.join(project, 'src', 'consumer.ts'), CONSUMER);
  await writeFile(path.join(project, 'src', 'broken.ts'), BROKEN);
  await writeFile(path.join(project, 'src', 'node.ts'), NODE_CONSUMER);
  // The Node consumer's typings for `ws` (they bring Node's).
  await mkdir(path.join(project, 'node_modules', '@types'));
  await symlink(
    path.join(repo, 'node_modules', '@types', 'ws'),
    path.join(project, 'node_modules', '@types', 'ws'),
  );
});

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

/**
 * A program over the given consumer sources: the diagnostics of every file it reads from the project (the sources
 * and the package's declarations, `skipLibCheck` off) as `file:line TSnnnn`, and those files.
 */
function typeCheck(files: string[]) {
  const program = ts.createProgram({
    rootNames: files.map((f) => path.join(project, f)),
    options: CONSUMER_OPTIONS,
  });
  const read = program.getSourceFiles().filter((f) => !path.relative(project, f.fileName).startsWith('..'));
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...read.flatMap((f) => program.getSyntacticDiagnostics(f)),
    ...read.flatMap((f) => program.getSemanticDiagnostics(f)),
  ];
  const reported = diagnostics.map((d) => {
    const where = d.file
      ? `${path.relative(project, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
      : '(global)';
    return `${where} TS${d.code}`;
  });
  return { program, reported, read: read.map((f) => path.relative(project, f.fileName)) };
}

describe('event-router/client as published', () => {
  it('bundles one ESM file for a neutral platform, without the AWS SDK or Node built-ins', async () => {
    const inputs = Object.keys(built.metafile.inputs);
    expect(inputs.filter((i) => i.includes('node_modules'))).toEqual([]);
    const js = await readFile(built.js, 'utf8');
    expect(js).not.toMatch(/@aws-sdk|from ["']node:|require\(/);
    expect(js).toMatch(/export\s*\{[^}]*connectLive/);
  });

  it('declares its API in one file that imports nothing', async () => {
    const dts = await readFile(built.dts, 'utf8');
    expect(dts).not.toMatch(/^\s*import\s|\sfrom\s+['"]|\/\/\/\s*<reference|import\(/m);
    expect(dts).toMatch(/^export declare function connectLive\(options: LiveOptions\): LiveClient;$/m);
  });

  it('type-checks a strict consumer through the exports map, reading only the emitted declarations', () => {
    const { program, reported, read } = typeCheck(['src/consumer.ts']);
    expect(reported).toEqual([]);
    expect(read.sort()).toEqual(['node_modules/event-router/client/dist/index.d.ts', 'src/consumer.ts']);
    const checker = program.getTypeChecker();
    const declarations = program.getSourceFile(built.dts);
    const module = declarations && checker.getSymbolAtLocation(declarations);
    expect(
      module &&
        checker
          .getExportsOfModule(module)
          .map((s) => s.name)
          .sort(),
    ).toEqual([
      'Envelope',
      'LiveClient',
      'LiveEvent',
      'LiveOptions',
      'LiveStatus',
      'LiveStreamError',
      'WebSocketConstructor',
      'WebSocketLike',
      'connectLive',
    ]);
  });

  it("accepts ws's WebSocket class as the WebSocket option, without a cast", () => {
    expect(typeCheck(['src/node.ts']).reported).toEqual([]);
  });

  it('rejects a consumer that misuses the types, at each marked line', async () => {
    const expected = BROKEN.split('\n').flatMap((line, i) => {
      const code = /\/\/ error (TS\d+)$/.exec(line)?.[1];
      return code ? [`src/broken.ts:${i + 1} ${code}`] : [];
    });
    expect(expected).toHaveLength(5);
    expect(typeCheck(['src/broken.ts']).reported.sort()).toEqual(expected.sort());
  });

  it('loads in a fresh Node process that cannot reach the AWS SDK, and opens a stream', async () => {
    const script = `
      const sdk = await import('@aws-sdk/client-s3').then(() => 'found', (e) => e.code);
      const client = await import('event-router/client');
      const opened = [];
      class Socket {
        readyState = 0; onopen = null; onmessage = null; onclose = null; onerror = null;
        constructor(url, protocols) { opened.push({ url, protocols }); }
        send() {}
        close(code, reason) { this.readyState = 3; this.onclose?.({ code, reason }); }
      }
      const stream = client.connectLive({
        url: 'wss://example.com/live', key: 'erk_0123456789abcdef_secret',
        pattern: { source: ['webhook.github'] }, WebSocket: Socket,
      });
      await stream.close();
      console.log(JSON.stringify({ sdk, exports: Object.keys(client).sort(), opened }));
    `;
    const env = { ...process.env };
    delete env.NODE_PATH;
    delete env.NODE_OPTIONS;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: project,
      env,
    });
    expect(JSON.parse(stdout)).toEqual({
      sdk: 'ERR_MODULE_NOT_FOUND',
      exports: ['LiveClient', 'LiveStreamError', 'connectLive'],
      opened: [
        {
          url: `wss://example.com/live?pattern=${encodeURIComponent('{"source":["webhook.github"]}')}`,
          protocols: ['event-router', 'erk_0123456789abcdef_secret'],
        },
      ],
    });
  });
});
