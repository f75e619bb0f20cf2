import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  desiredRoutes,
  finishRotation,
  newToken,
  parseTokens,
  type RoutesDeps,
  readTokens,
  reconcileRoutes,
  rotateToken,
  sourceRouteKey,
} from '../../lambdas/routes/routes';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { LOCAL_HTTP_API_ID, type LocalHttpApi, startLocalHttpApi } from '../../local/services/http-api';
import {
  LocalSecretStore,
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/services/secrets';

let http: LocalHttpApi;
let secretsManager: LocalSecretsManager;
let deps: RoutesDeps;
const store = new LocalSecretStore({});
const SECRET = 'test/url-tokens';
const A = 'A'.repeat(32);

beforeAll(async () => {
  http = await startLocalHttpApi({
    function: { invoke: async () => ({ statusCode: 202 }) },
    routes: ['$default'],
    defaultThrottle: { rateLimit: 10, burstLimit: 20 },
  });
  // github has a token already; stripe is a new source: the routes function generates its token.
  store.define(SECRET, JSON.stringify({ github: { token: A } }));
  secretsManager = await startLocalSecretsManager(store);
  const client = { region: LOCAL_REGION, credentials: localCredentials };
  deps = {
    api: new ApiGatewayV2Client({ ...client, endpoint: http.controlEndpoint }),
    secrets: new SecretsManagerClient({ ...client, endpoint: secretsManager.endpoint }),
    apiId: LOCAL_HTTP_API_ID,
    stageName: '$default',
    integrationId: 'ingest',
    secretId: SECRET,
    sources: [
      { name: 'github', rateLimitPerSecond: 50, burstLimit: 100 },
      { name: 'stripe', rateLimitPerSecond: 5, burstLimit: 10 },
    ],
  };
});
afterAll(async () => {
  deps.api.destroy();
  deps.secrets.destroy();
  await Promise.all([http.stop(), secretsManager.stop()]);
});

describe('source routes (routes function domain, real SDK clients on the local API Gateway and Secrets Manager)', () => {
  let stripe = '';
  it('creates one route per source from its token, generating (and storing) a token for a new source', async () => {
    expect(await reconcileRoutes(deps)).toEqual({ created: 2, deleted: 0, routes: 2 });
    const stored = JSON.parse(store.get(SECRET)) as Record<string, { token: string }>;
    expect(stored.github).toEqual({ token: A });
    stripe = stored.stripe!.token;
    expect(stripe).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(http.routeKeys()).toEqual([
      '$default',
      sourceRouteKey('github', A),
      sourceRouteKey('stripe', stripe),
    ]);
    expect(http.throttleOf(sourceRouteKey('stripe', stripe))).toEqual({ rateLimit: 5, burstLimit: 10 });
    // Idempotent: a second deploy changes nothing, and keeps the tokens.
    expect(await reconcileRoutes(deps)).toEqual({ created: 0, deleted: 0, routes: 2 });
    expect((JSON.parse(store.get(SECRET)) as Record<string, { token: string }>).stripe?.token).toBe(stripe);
  });

  it('removes the route of a source no longer configured, and never touches routes it does not own', async () => {
    await reconcileRoutes({ ...deps, sources: deps.sources.slice(0, 1) });
    expect(http.routeKeys()).toEqual(['$default', sourceRouteKey('github', A)]);
    expect(http.throttleOf(sourceRouteKey('stripe', stripe))).toEqual({ rateLimit: 10, burstLimit: 20 });
    await reconcileRoutes(deps);
  });

  it('rotates with an overlap: both tokens route until the rotation is finished', async () => {
    const rotated = await rotateToken(deps, 'github');
    expect(rotated.previous).toBe(A);
    expect(rotated.token).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(http.routeKeys()).toEqual(
      expect.arrayContaining([sourceRouteKey('github', rotated.token), sourceRouteKey('github', A)]),
    );
    expect(http.throttleOf(sourceRouteKey('github', rotated.token))).toEqual({
      rateLimit: 50,
      burstLimit: 100,
    });
    await finishRotation(deps, 'github');
    expect((await readTokens(deps)).get('github')).toEqual({ token: rotated.token });
    expect(http.routeKeys()).not.toContain(sourceRouteKey('github', A));
    expect(http.routeKeys()).toContain(sourceRouteKey('github', rotated.token));
    // The other source's token is untouched.
    expect((await readTokens(deps)).get('stripe')).toEqual({ token: stripe });
  });

  it('removes every source route when the stack is deleted', async () => {
    await reconcileRoutes(deps, true);
    expect(http.routeKeys()).toEqual(['$default']);
    await reconcileRoutes(deps);
  });

  it('refuses to rotate a source that is not configured', async () => {
    await expect(rotateToken(deps, 'gitlab')).rejects.toThrow('no source named "gitlab" is configured');
  });
});

describe('URL tokens', () => {
  it('are 32 letters and digits, each drawn uniformly', () => {
    const tokens = Array.from({ length: 200 }, newToken);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(new Set(tokens).size).toBe(200);
  });

  it('are read from the secret JSON, ignoring entries that are not tokens (they are generated again)', () => {
    const tokens = parseTokens(
      JSON.stringify({
        a: { token: 'x'.repeat(32), previous: 'y'.repeat(32) },
        b: { token: 'short' },
        c: { token: `${'x'.repeat(31)}/` },
        _seed: 'random',
      }),
      's',
    );
    expect([...tokens]).toEqual([['a', { token: 'x'.repeat(32), previous: 'y'.repeat(32) }]]);
    expect(() => parseTokens('not json', 's')).toThrow('secret s is not JSON');
    expect(() => parseTokens('[]', 's')).toThrow('not a JSON object of sources');
  });

  it('plan a route per current and previous token', () => {
    const routes = desiredRoutes(
      [{ name: 'a', rateLimitPerSecond: 1, burstLimit: 2 }],
      new Map([['a', { token: 'T1', previous: 'T0' }]]),
    );
    expect([...routes.keys()]).toEqual(['POST /webhooks/a/T1', 'POST /webhooks/a/T0']);
  });
});
