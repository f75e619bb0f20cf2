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
const PREFIX = 'test/url-token/';

beforeAll(async () => {
  http = await startLocalHttpApi({
    function: { invoke: async () => ({ statusCode: 202 }) },
    routes: ['$default'],
    defaultThrottle: { rateLimit: 10, burstLimit: 20 },
  });
  store.define(`${PREFIX}github`, JSON.stringify({ token: 'A'.repeat(32) }));
  store.define(`${PREFIX}stripe`, JSON.stringify({ token: 'B'.repeat(32) }));
  secretsManager = await startLocalSecretsManager(store);
  const client = { region: LOCAL_REGION, credentials: localCredentials };
  deps = {
    api: new ApiGatewayV2Client({ ...client, endpoint: http.controlEndpoint }),
    secrets: new SecretsManagerClient({ ...client, endpoint: secretsManager.endpoint }),
    apiId: LOCAL_HTTP_API_ID,
    stageName: '$default',
    integrationId: 'ingest',
    secretPrefix: PREFIX,
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
  it("creates one route per source from its secret's token, each with the source's throttle", async () => {
    expect(await reconcileRoutes(deps)).toEqual({ created: 2, deleted: 0, routes: 2 });
    expect(http.routeKeys()).toEqual([
      '$default',
      sourceRouteKey('github', 'A'.repeat(32)),
      sourceRouteKey('stripe', 'B'.repeat(32)),
    ]);
    expect(http.throttleOf(sourceRouteKey('stripe', 'B'.repeat(32)))).toEqual({
      rateLimit: 5,
      burstLimit: 10,
    });
    // Idempotent: a second deploy changes nothing.
    expect(await reconcileRoutes(deps)).toEqual({ created: 0, deleted: 0, routes: 2 });
  });

  it('removes the route of a source no longer configured, and never touches routes it does not own', async () => {
    await reconcileRoutes({ ...deps, sources: deps.sources.slice(0, 1) });
    expect(http.routeKeys()).toEqual(['$default', sourceRouteKey('github', 'A'.repeat(32))]);
    expect(http.throttleOf(sourceRouteKey('stripe', 'B'.repeat(32)))).toEqual({
      rateLimit: 10,
      burstLimit: 20,
    });
    await reconcileRoutes(deps);
  });

  it('rotates with an overlap: both tokens route until the rotation is finished', async () => {
    const rotated = await rotateToken(deps, 'github');
    expect(rotated.previous).toBe('A'.repeat(32));
    expect(rotated.token).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(http.routeKeys()).toEqual(
      expect.arrayContaining([
        sourceRouteKey('github', rotated.token),
        sourceRouteKey('github', 'A'.repeat(32)),
      ]),
    );
    expect(http.throttleOf(sourceRouteKey('github', rotated.token))).toEqual({
      rateLimit: 50,
      burstLimit: 100,
    });
    await finishRotation(deps, 'github');
    expect(await readTokens(deps, 'github')).toEqual({ token: rotated.token });
    expect(http.routeKeys()).not.toContain(sourceRouteKey('github', 'A'.repeat(32)));
    expect(http.routeKeys()).toContain(sourceRouteKey('github', rotated.token));
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

  it('are read from the secret JSON, refusing anything that is not a token', () => {
    expect(parseTokens(JSON.stringify({ token: 'x'.repeat(32), previous: 'y'.repeat(32) }), 's')).toEqual({
      token: 'x'.repeat(32),
      previous: 'y'.repeat(32),
    });
    expect(() => parseTokens('not json', 's')).toThrow('secret s is not JSON');
    expect(() => parseTokens(JSON.stringify({ token: 'short' }), 's')).toThrow(/no valid "token"/);
    expect(() => parseTokens(JSON.stringify({ token: `${'x'.repeat(31)}/` }), 's')).toThrow(
      /no valid "token"/,
    );
  });

  it('plan a route per current and previous token', () => {
    const routes = desiredRoutes(
      [{ name: 'a', rateLimitPerSecond: 1, burstLimit: 2 }],
      new Map([['a', { token: 'T1', previous: 'T0' }]]),
    );
    expect([...routes.keys()]).toEqual(['POST /webhooks/a/T1', 'POST /webhooks/a/T0']);
  });
});
