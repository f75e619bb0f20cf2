/**
 * A local OIDC issuer for tests: discovery document and JWKS served over http on 127.0.0.1, key pairs made with
 * jose, tokens signed with them. It can answer with an error or stop answering, to test an unreachable issuer.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export interface SignOptions {
  /** @default 'RS256' (with the issuer's RSA key) */
  readonly alg?: 'RS256' | 'ES256' | 'PS256';
  /** @default the key's own id */
  readonly kid?: string | null;
  /** Sign with a key the issuer does not publish. */
  readonly foreignKey?: boolean;
  readonly issuer?: string;
  readonly audience?: string | string[];
  readonly subject?: string | null;
  /** Seconds from now; negative: already expired. `null`: no `exp`. @default 300 */
  readonly expiresIn?: number | null;
  /** Seconds from now. */
  readonly notBefore?: number;
}

export interface LocalIssuer {
  /** `http://127.0.0.1:<port>` */
  readonly issuer: string;
  readonly jwksUri: string;
  /** Requests the issuer answered, by path. */
  readonly hits: Map<string, number>;
  /** What the next requests get: the documents, an HTTP error, or nothing at all (the request hangs). */
  mode: 'ok' | 'error' | 'hang';
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>;
  /** Publishes another key (a rotation): tokens signed with it name a kid not seen before. */
  rotate(): Promise<string>;
  stop(): Promise<void>;
}

interface Pair {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256' | 'PS256';
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function pair(kid: string, alg: Pair['alg']): Promise<Pair> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export const AUDIENCE = 'event-router-test';

export async function startLocalIssuer(): Promise<LocalIssuer> {
  const published: Pair[] = [
    await pair('rsa-1', 'RS256'),
    await pair('ec-1', 'ES256'),
    await pair('ps-1', 'PS256'),
  ];
  const foreign = await pair('rsa-1', 'RS256');
  const hits = new Map<string, number>();
  const hanging = new Set<import('node:http').ServerResponse>();
  let issuer = '';
  const state: { mode: LocalIssuer['mode'] } = { mode: 'ok' };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (state.mode === 'hang') {
      hanging.add(res);
      return;
    }
    if (state.mode === 'error') {
      res.writeHead(500).end('down');
      return;
    }
    const body =
      path === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256', 'ES256'] }
        : path === '/jwks'
          ? { keys: published.map((p) => p.jwk) }
          : undefined;
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    hits,
    get mode() {
      return state.mode;
    },
    set mode(mode) {
      state.mode = mode;
    },
    async sign(claims, options = {}) {
      const alg = options.alg ?? 'RS256';
      const key = options.foreignKey ? foreign : published.find((p) => p.alg === alg)!;
      const kid = options.kid === undefined ? key.kid : options.kid;
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg, ...(kid === null ? {} : { kid }), typ: 'JWT' })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? AUDIENCE)
        .setIssuedAt(now);
      if (options.subject !== null) jwt.setSubject(options.subject ?? 'agent-1');
      if (options.expiresIn !== null) jwt.setExpirationTime(now + (options.expiresIn ?? 300));
      if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
      return jwt.sign(key.privateKey);
    },
    async rotate() {
      const next = await pair(`rsa-${published.length + 1}`, 'RS256');
      // The newest RSA key signs from now on.
      published.unshift(next);
      return next.kid;
    },
    async stop() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An unsecured JWT (`alg: none`), which must never be accepted. */
export function unsecuredToken(claims: JWTPayload): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}
