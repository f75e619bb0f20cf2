import { describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { allowanceFromClaim, discoveryUrl, isLoopbackHttp, looksLikeJwt } from '../../core/oidc';
import { connectionsRuntime, planTopology } from '../../core/plan';
import { isConnectionsRuntime } from '../../core/runtime-config';
import exampleConfig from '../../router.config';

const PRS = { 'detail-type': [{ prefix: 'pull_request.' }] };

describe('OIDC, the pure part', () => {
  it('tells a JWT (three base64url parts) from an agent key or a token', () => {
    expect(looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).toBe(true);
    // An unsecured JWT has an empty signature: it looks like one (and is refused by the verifier).
    expect(looksLikeJwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')).toBe(true);
    expect(looksLikeJwt(`erk_0123456789abcdef_${'A'.repeat(43)}`)).toBe(false);
    expect(looksLikeJwt('local-dev-stream-token')).toBe(false);
    expect(looksLikeJwt('a.b')).toBe(false);
    expect(looksLikeJwt('a.b.c.d')).toBe(false);
    expect(looksLikeJwt('a+b.c.d')).toBe(false);
    expect(looksLikeJwt(`${'a'.repeat(9000)}.b.c`)).toBe(false);
  });

  it('finds the discovery document under the issuer, with or without its trailing slash', () => {
    expect(discoveryUrl('https://login.example.com/')).toBe(
      'https://login.example.com/.well-known/openid-configuration',
    );
    expect(discoveryUrl('https://login.example.com/realms/x')).toBe(
      'https://login.example.com/realms/x/.well-known/openid-configuration',
    );
  });

  it('knows a loopback http URL', () => {
    expect(isLoopbackHttp('http://127.0.0.1:8080')).toBe(true);
    expect(isLoopbackHttp('http://localhost/x')).toBe(true);
    expect(isLoopbackHttp('http://[::1]:3000')).toBe(true);
    expect(isLoopbackHttp('https://127.0.0.1')).toBe(false);
    expect(isLoopbackHttp('http://10.0.0.1')).toBe(false);
    expect(isLoopbackHttp('http://127.0.0.1.example.com')).toBe(false);
  });

  it.each<[string, unknown, Record<string, unknown>[]]>([
    ['an array of patterns', [PRS, { source: ['webhook.stripe'] }], [PRS, { source: ['webhook.stripe'] }]],
    ['one pattern', PRS, [PRS]],
    ['a string holding one pattern', JSON.stringify(PRS), [PRS]],
    ['a string holding an array', JSON.stringify([PRS]), [PRS]],
    ['an array of pattern strings', [JSON.stringify(PRS)], [PRS]],
  ])('reads an allowance claim that is %s', (_, claim, patterns) => {
    expect(allowanceFromClaim(claim)).toEqual({ ok: true, patterns });
  });

  it.each<[string, unknown, RegExp]>([
    ['a string that is not JSON', 'pull_request.*', /not JSON/],
    ['an empty array', [], /lists no pattern/],
    ['too many patterns', Array.from({ length: 11 }, () => PRS), /11 patterns; at most 10/],
    ['a number', 5, /must be a JSON object/],
    ['an invalid pattern', [PRS, { source: 'x' }], /^\[1\]: invalid pattern: source/],
    [
      'a pattern too wide to compile',
      { $or: Array.from({ length: 101 }, (_, i) => ({ a: [i] })) },
      /combinations/,
    ],
  ])('refuses an allowance claim that is %s, saying why', (_, claim, reason) => {
    const result = allowanceFromClaim(claim);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  it('carries the settings to the connections function (runtime.json), the audience as a list', () => {
    const config = parseRouterConfig({
      ...exampleConfig,
      liveStream: { oidc: { issuer: 'https://login.example.com/', audience: 'er' } },
    });
    const runtime = planTopology(config).functions.connections?.runtime;
    expect(runtime).toEqual(connectionsRuntime(config));
    expect(runtime).toEqual({
      oidc: {
        issuer: 'https://login.example.com/',
        audience: ['er'],
        patternsClaim: 'event_router_patterns',
        nameClaim: 'sub',
        maxConnections: 10,
        algorithms: ['RS256', 'ES256'],
        clockToleranceSeconds: 30,
      },
    });
    expect(isConnectionsRuntime(runtime)).toBe(true);
    // Without an issuer the function still gets its runtime.json, empty.
    expect(planTopology(parseRouterConfig(exampleConfig)).functions.connections?.runtime).toEqual({});
    expect(isConnectionsRuntime({})).toBe(true);
    expect(isConnectionsRuntime({ oidc: { issuer: 'x' } })).toBe(false);
  });
});
