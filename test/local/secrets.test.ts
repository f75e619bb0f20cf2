import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCredentials } from '../../local/services/aws-env';
import {
  defaultSigningSecret,
  LocalSecretStore,
  type LocalSecretsManager,
  secretEnvName,
  startLocalSecretsManager,
} from '../../local/services/secrets';

let manager: LocalSecretsManager;
let client: SecretsManagerClient;
const store = new LocalSecretStore({ [secretEnvName('event-router/github-webhook-secret')]: 'from-env' });

beforeAll(async () => {
  store.define('event-router/github-webhook-secret', 'local-dev-secret-github');
  store.define('event-router/stripe', 'local-dev-secret-stripe');
  store.define('event-router/targets/pr-agent/signing-secret', defaultSigningSecret('pr-agent'));
  manager = await startLocalSecretsManager(store);
  client = new SecretsManagerClient({
    endpoint: manager.endpoint,
    region: 'us-east-1',
    credentials: localCredentials,
  });
});
afterAll(async () => {
  client.destroy();
  await manager.stop();
});

describe('local Secrets Manager', () => {
  it('maps secret names to env variable names', () => {
    expect(secretEnvName('event-router/github-webhook-secret')).toBe(
      'EVENT_ROUTER_SECRET_EVENT_ROUTER_GITHUB_WEBHOOK_SECRET',
    );
  });

  it('serves env overrides and defaults through GetSecretValue, by name or ARN', async () => {
    const fromEnv = await client.send(
      new GetSecretValueCommand({ SecretId: 'event-router/github-webhook-secret' }),
    );
    expect(fromEnv.SecretString).toBe('from-env');
    expect(store.list().find((s) => s.name === 'event-router/github-webhook-secret')?.origin).toBe('env');
    const byDefault = await client.send(new GetSecretValueCommand({ SecretId: 'event-router/stripe' }));
    expect(byDefault.SecretString).toBe('local-dev-secret-stripe');
    expect(byDefault.CreatedDate).toBeInstanceOf(Date);
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: byDefault.ARN }));
    expect(byArn.SecretString).toBe('local-dev-secret-stripe');
  });

  it('answers ResourceNotFoundException for unknown secrets', async () => {
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('generates stable Standard Webhooks signing secrets that the standardwebhooks library accepts', () => {
    const secret = defaultSigningSecret('pr-agent');
    expect(secret).toBe(defaultSigningSecret('pr-agent'));
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const wh = new Webhook(secret);
    const now = new Date();
    const signature = wh.sign('msg_1', now, '{"a":1}');
    expect(
      wh.verify('{"a":1}', {
        'webhook-id': 'msg_1',
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signature,
      }),
    ).toEqual({ a: 1 });
  });
});
