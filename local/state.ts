/**
 * How the CLI finds the running local stack: `npm start` writes where it listens and the secrets a sender needs to
 * this file (mode 0600, under node_modules/.cache: never committed) and removes it when it stops. The CLI's
 * `--stack local` (the default) reads it; a file whose process is gone counts as no stack.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GenericHmacConfig } from '../core/config';
import type { ProviderName } from '../core/contracts';
import { LOCAL_REGION, localCredentials } from './services/aws-env';
import type { LocalStack } from './stack';

// Not lib/bundling's REPO_ROOT: the CLI reads this module, and must not load esbuild to do so.
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface LocalStackState {
  readonly version: 1;
  readonly pid: number;
  readonly startedAt: string;
  /** The HTTP API: webhooks, `/health` and the management API `/v1`. */
  readonly httpUrl: string;
  readonly websocketUrl: string | null;
  readonly streamToken: string | null;
  readonly region: string;
  /** What the management API accepts SigV4 signatures of (the banner prints them too). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly sources: readonly {
    readonly name: string;
    readonly provider: ProviderName;
    readonly url: string;
    /** The secret the source verifies with (the first, during a rotation). */
    readonly secret: string;
    readonly generic?: GenericHmacConfig;
  }[];
}

/** `EVENT_ROUTER_LOCAL_STATE`, else node_modules/.cache/event-router/local-stack.json. */
export function localStateFile(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return (
    env.EVENT_ROUTER_LOCAL_STATE ??
    path.join(REPO_ROOT, 'node_modules', '.cache', 'event-router', 'local-stack.json')
  );
}

export function localStackState(stack: LocalStack, pid: number = process.pid): LocalStackState {
  const live = stack.topology.liveStream.enabled;
  return {
    version: 1,
    pid,
    startedAt: new Date().toISOString(),
    httpUrl: stack.http.url,
    websocketUrl: live ? stack.websocketUrl : null,
    streamToken: live ? stack.secrets.streamToken : null,
    region: LOCAL_REGION,
    credentials: { ...localCredentials },
    sources: stack.config.sources.map((source) => ({
      name: source.name,
      provider: source.provider,
      url: stack.webhookUrl(source.name),
      secret: stack.secrets.source(source.name),
      ...(source.generic ? { generic: source.generic } : {}),
    })),
  };
}

export function writeLocalState(state: LocalStackState, file: string = localStateFile()): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync's mode applies to a new file only.
  chmodSync(file, 0o600);
}

export function removeLocalState(file: string = localStateFile(), pid: number = process.pid): void {
  const state = readStateFile(file);
  // Only our own: a second `npm start` that failed to bind must not remove the running stack's file.
  if (state?.pid === pid) rmSync(file, { force: true });
}

function readStateFile(file: string): LocalStackState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as LocalStackState;
    return state.version === 1 ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process is alive (signal 0 checks without signalling). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running local stack's state, or undefined when none is running. */
export function readLocalState(file: string = localStateFile()): LocalStackState | undefined {
  const state = readStateFile(file);
  return state && alive(state.pid) ? state : undefined;
}
