/**
 * Each source's public URL carries an unguessable token — `POST /webhooks/<source>/<token>` — and only requests to
 * that exact path reach the source's route and its throttle. API Gateway throttles before anything checks a
 * signature, so a source whose route anyone could call could be starved by anyone; a request that does not know the
 * token lands on the `$default` catch-all instead, which has its own small throttle.
 *
 * The tokens live in one Secrets Manager secret, `{"<source>": {"token": "…", "previous": "…"}, …}`, generated at
 * deploy by this module for every source that has none yet, so they are never in the template or the repository.
 * It then makes the API's routes match the secret: one route (with the source's throttle) per current token, and one
 * for the previous token while a rotation overlaps. Receives its clients; used by the custom resource at deploy and
 * by rotation commands.
 */
import { randomBytes } from 'node:crypto';
import {
  type ApiGatewayV2Client,
  CreateRouteCommand,
  DeleteRouteCommand,
  DeleteRouteSettingsCommand,
  GetRoutesCommand,
  UpdateStageCommand,
} from '@aws-sdk/client-apigatewayv2';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

export interface RouteSource {
  readonly name: string;
  readonly rateLimitPerSecond: number;
  readonly burstLimit: number;
}

export interface RoutesDeps {
  readonly api: ApiGatewayV2Client;
  readonly secrets: SecretsManagerClient;
  readonly apiId: string;
  readonly stageName: string;
  /** Integration every source route targets (the ingest function). */
  readonly integrationId: string;
  /** The secret holding every source's URL tokens. */
  readonly secretId: string;
  readonly sources: readonly RouteSource[];
}

export interface UrlTokens {
  readonly token: string;
  /** The token being rotated out; its route stays until the rotation is finished. */
  readonly previous?: string;
}

/** Routes we own: every `POST /webhooks/…` route (the template itself only declares `$default`). */
const OWNED = /^POST \/webhooks\//;

/** Tokens are path segments: letters and digits only, long enough not to be guessed (32 × log2(62) ≈ 190 bits). */
const TOKEN_RE = /^[A-Za-z0-9]{24,128}$/;

export const sourceRouteKey = (source: string, token: string) => `POST /webhooks/${source}/${token}`;

export function newToken(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  // Rejection sampling keeps every character equally likely (256 is not a multiple of 62).
  while (out.length < 32) {
    for (const byte of randomBytes(48)) {
      if (byte < 248 && out.length < 32) out += alphabet[byte % 62];
    }
  }
  return out;
}

const validToken = (t: unknown): t is string => typeof t === 'string' && TOKEN_RE.test(t);

/** Every source's tokens from the secret's JSON; entries that are not tokens are ignored (and regenerated). */
export function parseTokens(value: string, secretId: string): Map<string, UrlTokens> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error(`secret ${secretId} is not JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`secret ${secretId} is not a JSON object of sources`);
  const tokens = new Map<string, UrlTokens>();
  for (const [source, entry] of Object.entries(
    parsed as Record<string, { token?: unknown; previous?: unknown }>,
  )) {
    if (!validToken(entry?.token)) continue;
    tokens.set(source, {
      token: entry.token,
      ...(validToken(entry.previous) ? { previous: entry.previous } : {}),
    });
  }
  return tokens;
}

async function readSecret(deps: RoutesDeps): Promise<Map<string, UrlTokens>> {
  const out = await deps.secrets.send(new GetSecretValueCommand({ SecretId: deps.secretId }));
  return parseTokens(out.SecretString ?? '{}', deps.secretId);
}

async function writeSecret(deps: RoutesDeps, tokens: ReadonlyMap<string, UrlTokens>): Promise<void> {
  await deps.secrets.send(
    new PutSecretValueCommand({
      SecretId: deps.secretId,
      SecretString: JSON.stringify(Object.fromEntries(tokens)),
    }),
  );
}

/** Every configured source's tokens, generating (and storing) one for each source that has none yet. */
export async function readTokens(deps: RoutesDeps): Promise<Map<string, UrlTokens>> {
  const tokens = await readSecret(deps);
  const missing = deps.sources.filter((s) => !tokens.has(s.name));
  if (missing.length > 0) {
    for (const source of missing) tokens.set(source.name, { token: newToken() });
    await writeSecret(deps, tokens);
  }
  return tokens;
}

/** The routes and throttles the API must have, by route key. */
export function desiredRoutes(
  sources: readonly RouteSource[],
  tokens: ReadonlyMap<string, UrlTokens>,
): Map<string, { rateLimit: number; burstLimit: number }> {
  const routes = new Map<string, { rateLimit: number; burstLimit: number }>();
  for (const source of sources) {
    const t = tokens.get(source.name);
    if (!t) continue;
    const throttle = { rateLimit: source.rateLimitPerSecond, burstLimit: source.burstLimit };
    routes.set(sourceRouteKey(source.name, t.token), throttle);
    if (t.previous) routes.set(sourceRouteKey(source.name, t.previous), throttle);
  }
  return routes;
}

async function existingRoutes(deps: RoutesDeps): Promise<Map<string, string>> {
  const routes = new Map<string, string>();
  let next: string | undefined;
  for (let page = 0; page < 100; page++) {
    const out = await deps.api.send(new GetRoutesCommand({ ApiId: deps.apiId, NextToken: next }));
    for (const route of out.Items ?? []) {
      if (route.RouteKey && route.RouteId && OWNED.test(route.RouteKey))
        routes.set(route.RouteKey, route.RouteId);
    }
    next = out.NextToken;
    if (!next) break;
  }
  return routes;
}

export interface ReconcileResult {
  readonly created: number;
  readonly deleted: number;
  readonly routes: number;
}

/** Makes the API's source routes match the token secrets (or removes them all, when `remove`). */
export async function reconcileRoutes(deps: RoutesDeps, remove = false): Promise<ReconcileResult> {
  const tokens = remove ? new Map<string, UrlTokens>() : await readTokens(deps);
  const wanted = desiredRoutes(deps.sources, tokens);
  const existing = await existingRoutes(deps);
  let created = 0;
  let deleted = 0;
  for (const routeKey of wanted.keys()) {
    if (existing.has(routeKey)) continue;
    await deps.api.send(
      new CreateRouteCommand({
        ApiId: deps.apiId,
        RouteKey: routeKey,
        Target: `integrations/${deps.integrationId}`,
      }),
    );
    created++;
  }
  // Throttles first for the new routes, so that no moment exists where a route runs on the stage default.
  if (wanted.size > 0) {
    await deps.api.send(
      new UpdateStageCommand({
        ApiId: deps.apiId,
        StageName: deps.stageName,
        RouteSettings: Object.fromEntries(
          [...wanted].map(([key, t]) => [
            key,
            { ThrottlingRateLimit: t.rateLimit, ThrottlingBurstLimit: t.burstLimit },
          ]),
        ),
      }),
    );
  }
  for (const [routeKey, routeId] of existing) {
    if (wanted.has(routeKey)) continue;
    await deps.api.send(new DeleteRouteCommand({ ApiId: deps.apiId, RouteId: routeId }));
    await deps.api
      .send(
        new DeleteRouteSettingsCommand({ ApiId: deps.apiId, StageName: deps.stageName, RouteKey: routeKey }),
      )
      .catch((error: unknown) => {
        if ((error as Error).name !== 'NotFoundException') throw error;
      });
    deleted++;
  }
  return { created, deleted, routes: wanted.size };
}

/**
 * Starts a rotation: a new token becomes current, the old one stays valid (its route kept) until
 * `finishRotation`, so the provider can be switched over without a moment where neither URL works.
 */
export async function rotateToken(deps: RoutesDeps, source: string): Promise<UrlTokens> {
  assertSource(deps, source);
  const tokens = await readTokens(deps);
  const next: UrlTokens = { token: newToken(), previous: tokens.get(source)!.token };
  tokens.set(source, next);
  await writeSecret(deps, tokens);
  await reconcileRoutes(deps);
  return next;
}

/** Ends a rotation: the previous token's route is removed. */
export async function finishRotation(deps: RoutesDeps, source: string): Promise<UrlTokens> {
  assertSource(deps, source);
  const tokens = await readTokens(deps);
  const next: UrlTokens = { token: tokens.get(source)!.token };
  tokens.set(source, next);
  await writeSecret(deps, tokens);
  await reconcileRoutes(deps);
  return next;
}

function assertSource(deps: RoutesDeps, source: string): void {
  if (!deps.sources.some((s) => s.name === source))
    throw new Error(`no source named "${source}" is configured`);
}
