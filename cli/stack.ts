/**
 * Which stack the CLI talks to. `--stack local` (the default): the stack `npm start` runs, found through its state
 * file (local/state.ts), with the local credentials. `--stack <name>`: a deployed stack, found through its
 * CloudFormation outputs; requests are signed with the caller's AWS credentials (the SDK's default chain: env,
 * profile, SSO, instance role) in its region.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { GenericHmacConfig } from '../core/config';
import type { ProviderName } from '../core/contracts';
import type { Credentials } from '../local/services/sigv4';
import { type LocalStackState, localStateFile, readLocalState } from '../local/state';
import { ManagementClient } from './client';

/** The stack is not there (not running, not deployed, no such output): exit 3. */
export class StackNotFoundError extends Error {}

export interface SourceEndpoint {
  readonly name: string;
  readonly provider: ProviderName;
  readonly url: string;
  readonly secret: () => Promise<string>;
  readonly generic?: GenericHmacConfig;
}

export interface StackTarget {
  readonly label: string;
  readonly client: ManagementClient;
  /** `wss://…` / `ws://…` of the live stream (null when the stack has none). */
  readonly websocketUrl: string | null;
  readonly streamToken: () => Promise<string>;
  /** The sources a sample webhook can be sent to (the local stack knows them all; a deployed one by config). */
  readonly sources: () => Promise<readonly SourceEndpoint[]>;
}

export interface StackOptions {
  readonly stack: string;
  readonly region?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export async function resolveStack(options: StackOptions): Promise<StackTarget> {
  return options.stack === 'local' ? localTarget(options.env) : deployedTarget(options);
}

function localTarget(env: Readonly<Record<string, string | undefined>>): StackTarget {
  const file = localStateFile(env);
  const state: LocalStackState | undefined = readLocalState(file);
  if (!state)
    throw new StackNotFoundError(
      `the local stack is not running (no live ${file}): start it with \`npm start\`, or pass --stack <deployed stack name>`,
    );
  return {
    label: `local stack (${state.httpUrl})`,
    client: new ManagementClient({
      baseUrl: state.httpUrl,
      region: state.region,
      credentials: state.credentials,
    }),
    websocketUrl: state.websocketUrl,
    streamToken: async () => {
      if (!state.streamToken)
        throw new StackNotFoundError('the local stack has no live stream (liveStream.enabled)');
      return state.streamToken;
    },
    sources: async () =>
      state.sources.map((s) => ({
        name: s.name,
        provider: s.provider,
        url: s.url,
        secret: async () => s.secret,
        ...(s.generic ? { generic: s.generic } : {}),
      })),
  };
}

/** A secret's value: a JSON array (rotation) yields its first, current, entry. */
function firstSecret(value: string): string {
  const trimmed = value.trim();
  if (!trimmed.startsWith('[')) return value;
  const parsed = JSON.parse(trimmed) as unknown[];
  return typeof parsed[0] === 'string' ? parsed[0] : value;
}

async function deployedTarget(options: StackOptions): Promise<StackTarget> {
  const cloudformation = new CloudFormationClient(options.region ? { region: options.region } : {});
  let outputs: Record<string, string>;
  try {
    const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: options.stack }));
    outputs = Object.fromEntries(
      (Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
    );
  } catch (error) {
    throw new StackNotFoundError(`cannot read stack ${options.stack}: ${(error as Error).message}`);
  }
  const apiUrl = outputs.ManagementApiUrl;
  if (!apiUrl)
    throw new StackNotFoundError(
      `stack ${options.stack} has no ManagementApiUrl output (deployed before the management API? run cdk deploy)`,
    );
  const region = await cloudformation.config.region();
  const credentials = async (): Promise<Credentials> => cloudformation.config.credentials();
  const secrets = new SecretsManagerClient({ region });
  const secretValue = async (id: string) =>
    (await secrets.send(new GetSecretValueCommand({ SecretId: id }))).SecretString ?? '';
  return {
    label: `stack ${options.stack} (${region})`,
    client: new ManagementClient({ baseUrl: apiUrl.replace(/\/$/, ''), region, credentials }),
    websocketUrl: outputs.WebSocketUrl ?? null,
    streamToken: async () => {
      if (!outputs.WebSocketTokenSecret)
        throw new StackNotFoundError(`stack ${options.stack} has no live stream`);
      return firstSecret(await secretValue(outputs.WebSocketTokenSecret));
    },
    sources: async () => {
      // Each source's URL token, and its provider and secret from the router config the stack was deployed from.
      const { loadConfigFile } = await import('../local/stack');
      const config = await loadConfigFile(options.env.EVENT_ROUTER_CONFIG ?? 'router.config.ts');
      const tokens = JSON.parse(await secretValue(outputs.UrlTokenSecret ?? '')) as Record<
        string,
        { token?: string }
      >;
      return config.sources.map((source) => ({
        name: source.name,
        provider: source.provider,
        url: `${outputs.WebhookBaseUrl ?? ''}${source.name}/${tokens[source.name]?.token ?? ''}`,
        secret: async () => firstSecret(await secretValue(source.secret.secretName)),
        ...(source.generic ? { generic: source.generic } : {}),
      }));
    },
  };
}
