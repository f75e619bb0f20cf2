/**
 * Secrets Manager, locally: `secretsmanager.GetSecretValue` over the JSON protocol, serving a fixed set of secrets by
 * name (or ARN). Each value comes from, in order: env `EVENT_ROUTER_SECRET_<NAME>` (name upper-cased, every
 * non-alphanumeric character → `_`), an optional JSON secrets file (`{ "<name>": "<value>" }`), else a
 * deterministic local default — so a developer can paste the same secret into a provider's settings every run.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { FaultSwitch } from '../faults';
import { closeServer, LOOPBACK, listenOnLoopback, readBody, sendAwsJsonError, sendJson } from '../net';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws-env';

export type SecretOrigin = 'env' | 'file' | 'default' | 'stored';

export interface LocalSecret {
  readonly name: string;
  readonly value: string;
  readonly origin: SecretOrigin;
  /** The env variable that overrides it. */
  readonly envName: string;
  readonly arn: string;
}

export function secretEnvName(secretName: string): string {
  return `EVENT_ROUTER_SECRET_${secretName.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Default value of a source's webhook secret when nothing overrides it, in the form its provider's own tools accept:
 * a Standard Webhooks secret is `whsec_` + base64 (the official library refuses anything else, so a plain default
 * would make every local request a 401); others are plain text.
 */
export function defaultSourceSecret(source: { readonly name: string; readonly provider: string }): string {
  if (source.provider === 'standard-webhooks') {
    const key = createHash('sha256').update(`event-router-local-source-secret:${source.name}`).digest();
    return `whsec_${key.subarray(0, 24).toString('base64')}`;
  }
  return `local-dev-secret-${source.name}`;
}

/** Default secret name of a target without `signingSecret` (on AWS the stack generates one). */
export const defaultSigningSecretName = (targetName: string): string =>
  `event-router/targets/${targetName}/signing-secret`;

/**
 * Deterministic Standard Webhooks secret for a target: `whsec_` + base64 of 24 bytes derived from its name
 * (stable across restarts; local only — never use it anywhere real).
 */
export function defaultSigningSecret(targetName: string): string {
  const key = createHash('sha256')
    .update(`event-router-local-signing-secret:${targetName}`)
    .digest()
    .subarray(0, 24);
  return `whsec_${key.toString('base64')}`;
}

function secretArn(name: string): string {
  // Secrets Manager appends `-` and 6 random characters; derive them so ARNs are stable.
  const suffix = createHash('sha256')
    .update(name)
    .digest('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 6);
  return `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${name}-${suffix}`;
}

export class LocalSecretStore {
  private readonly secrets = new Map<string, LocalSecret>();
  private readonly file: Record<string, string>;
  private readonly stored: Record<string, string>;

  /**
   * @param storeFile where values written at run time (PutSecretValue, generated tokens) are kept across restarts
   *   (`--data-dir`); they win over the secrets file and the defaults, not over env.
   */
  constructor(
    private readonly env: Readonly<Record<string, string | undefined>> = process.env,
    secretsFile?: string,
    private readonly storeFile?: string,
  ) {
    this.file = secretsFile ? (JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>) : {};
    this.stored =
      storeFile && existsSync(storeFile)
        ? (JSON.parse(readFileSync(storeFile, 'utf8')) as Record<string, string>)
        : {};
  }

  /** Writes a new value (Secrets Manager PutSecretValue), kept in the store file when there is one. */
  put(id: string, value: string): LocalSecret {
    const existing = this.find(id);
    if (!existing) throw new Error(`unknown local secret ${id}`);
    const updated: LocalSecret = { ...existing, value, origin: 'stored' };
    this.secrets.set(existing.name, updated);
    this.stored[existing.name] = value;
    if (this.storeFile) {
      // Write-then-rename: a crash never leaves a torn file.
      writeFileSync(`${this.storeFile}.tmp`, JSON.stringify(this.stored, null, 2));
      renameSync(`${this.storeFile}.tmp`, this.storeFile);
    }
    return updated;
  }

  /** Registers a secret whose default is generated (a URL token): generated once, then kept like a put value. */
  defineGenerated(name: string, generate: () => string): LocalSecret {
    const secret = this.define(name, this.stored[name] ?? generate());
    if (secret.origin === 'default' && this.stored[name] === undefined) return this.put(name, secret.value);
    return secret;
  }

  /** Registers a secret; its value is resolved from env, then the file, then `fallback`. */
  define(name: string, fallback: string): LocalSecret {
    const existing = this.secrets.get(name);
    if (existing) return existing;
    const envName = secretEnvName(name);
    const fromEnv = this.env[envName];
    const fromFile = this.file[name];
    const fromStore = this.stored[name];
    const secret: LocalSecret =
      fromEnv !== undefined && fromEnv !== ''
        ? { name, value: fromEnv, origin: 'env', envName, arn: secretArn(name) }
        : typeof fromStore === 'string'
          ? { name, value: fromStore, origin: 'stored', envName, arn: secretArn(name) }
          : typeof fromFile === 'string'
            ? { name, value: fromFile, origin: 'file', envName, arn: secretArn(name) }
            : { name, value: fallback, origin: 'default', envName, arn: secretArn(name) };
    this.secrets.set(name, secret);
    return secret;
  }

  /** By name, full ARN or partial ARN (without the random suffix). */
  find(id: string): LocalSecret | undefined {
    const byName = this.secrets.get(id);
    if (byName) return byName;
    for (const secret of this.secrets.values()) {
      if (secret.arn === id || secret.arn.replace(/-[A-Za-z0-9]{6}$/, '') === id) return secret;
    }
    return undefined;
  }

  get(name: string): string {
    const secret = this.find(name);
    if (!secret) throw new Error(`unknown local secret ${name}`);
    return secret.value;
  }

  list(): LocalSecret[] {
    return [...this.secrets.values()];
  }
}

export interface LocalSecretsManager {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startLocalSecretsManager(
  store: LocalSecretStore,
  options: { port?: number; faults?: FaultSwitch } = {},
): Promise<LocalSecretsManager> {
  const createdDate = Math.floor(Date.now() / 1000);
  const server = createServer((req, res) => {
    void (async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const fault = options.faults?.check('secretsmanager', target.split('.')[1] ?? '');
      if (fault) {
        req.resume();
        sendAwsJsonError(res, fault.status, fault.code, fault.message ?? fault.code);
        return;
      }
      let body: { SecretId?: unknown; VersionStage?: unknown };
      try {
        body = JSON.parse((await readBody(req, 64 * 1024)).toString('utf8') || '{}');
      } catch {
        sendAwsJsonError(res, 400, 'SerializationException', 'Request body is not valid JSON');
        return;
      }
      if (target === 'secretsmanager.PutSecretValue') {
        const secret = typeof body.SecretId === 'string' ? store.find(body.SecretId) : undefined;
        const value = (body as { SecretString?: unknown }).SecretString;
        if (!secret || typeof value !== 'string') {
          sendAwsJsonError(
            res,
            400,
            'ResourceNotFoundException',
            "Secrets Manager can't find the specified secret.",
          );
          return;
        }
        const updated = store.put(secret.name, value);
        sendJson(
          res,
          200,
          {
            ARN: updated.arn,
            Name: updated.name,
            VersionId: createHash('sha256').update(value).digest('hex').slice(0, 32),
            VersionStages: ['AWSCURRENT'],
          },
          {},
          'application/x-amz-json-1.1',
        );
        return;
      }
      if (target !== 'secretsmanager.GetSecretValue') {
        sendAwsJsonError(
          res,
          400,
          'UnknownOperationException',
          `Operation ${target} is not supported locally`,
        );
        return;
      }
      const secret = typeof body.SecretId === 'string' ? store.find(body.SecretId) : undefined;
      if (!secret || (body.VersionStage !== undefined && body.VersionStage !== 'AWSCURRENT')) {
        sendAwsJsonError(
          res,
          400,
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret.",
        );
        return;
      }
      sendJson(
        res,
        200,
        {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: createHash('sha256').update(secret.value).digest('hex').slice(0, 32),
          SecretString: secret.value,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: createdDate,
        },
        {},
        'application/x-amz-json-1.1',
      );
    })().catch((error: Error) => {
      if (!res.headersSent) sendAwsJsonError(res, 500, 'InternalServiceError', error.message);
    });
  });
  const port = await listenOnLoopback(server, options.port ?? 0, 'Secrets Manager');
  return { endpoint: `http://${LOOPBACK}:${port}`, port, stop: () => closeServer(server) };
}
