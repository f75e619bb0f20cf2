/**
 * Secrets Manager, locally: `secretsmanager.GetSecretValue` over the JSON protocol, serving a fixed set of secrets by
 * name (or ARN). Each value comes from, in order: env `EVENT_ROUTER_SECRET_<NAME>` (name upper-cased, every
 * non-alphanumeric character → `_`), an optional JSON secrets file (`{ "<name>": "<value>" }`), else a
 * deterministic local default — so a developer can paste the same secret into a provider's settings every run.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { closeServer, LOOPBACK, listenOnLoopback, readBody, sendAwsJsonError, sendJson } from '../net';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws-env';

export type SecretOrigin = 'env' | 'file' | 'default';

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

/** Default value of a source's webhook secret when nothing overrides it. */
export const defaultSourceSecret = (sourceName: string): string => `local-dev-secret-${sourceName}`;

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

  constructor(
    private readonly env: Readonly<Record<string, string | undefined>> = process.env,
    secretsFile?: string,
  ) {
    this.file = secretsFile ? (JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>) : {};
  }

  /** Registers a secret; its value is resolved from env, then the file, then `fallback`. */
  define(name: string, fallback: string): LocalSecret {
    const existing = this.secrets.get(name);
    if (existing) return existing;
    const envName = secretEnvName(name);
    const fromEnv = this.env[envName];
    const fromFile = this.file[name];
    const secret: LocalSecret =
      fromEnv !== undefined && fromEnv !== ''
        ? { name, value: fromEnv, origin: 'env', envName, arn: secretArn(name) }
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
  options: { port?: number } = {},
): Promise<LocalSecretsManager> {
  const createdDate = Math.floor(Date.now() / 1000);
  const server = createServer((req, res) => {
    void (async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      let body: { SecretId?: unknown; VersionStage?: unknown };
      try {
        body = JSON.parse((await readBody(req, 64 * 1024)).toString('utf8') || '{}');
      } catch {
        sendAwsJsonError(res, 400, 'SerializationException', 'Request body is not valid JSON');
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
