/** API Gateway HTTP API (payload v2) event → the ingest domain's request. Pure. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { RuntimeSource } from '../../core/runtime-config';
import type { IngestRequest } from './ingest';

/** Header map as the domain wants it: lower-case names (HTTP API already lower-cases them). */
function lowerCaseHeaders(headers: APIGatewayProxyEventV2['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name.toLowerCase()] = value;
  }
  return out;
}

/** Route key of the catch-all: every request that is not a POST to a source's own URL lands there. */
export const CATCH_ALL_ROUTE = '$default';

/** `/webhooks/<source>/<token>` at the end of a path, with or without a trailing slash. */
const WEBHOOK_TAIL = /\/webhooks\/[^/]+\/[^/]+\/?$/;

/**
 * The `/webhooks/<source>/<url token>` part of a request's path. A request that came through a source's route has it
 * as its route key: API Gateway matched that route after removing a custom domain's base path. Otherwise it is the
 * tail of `rawPath`, which may start with the base path (`/router/webhooks/…`): AWS's documentation does not settle
 * whether an HTTP API's `rawPath` keeps a custom domain's API mapping key, so both forms are read.
 */
export function webhookPath(event: Pick<APIGatewayProxyEventV2, 'routeKey' | 'rawPath'>): string {
  if (event.routeKey.startsWith('POST /webhooks/')) return event.routeKey.slice('POST '.length);
  return WEBHOOK_TAIL.exec(event.rawPath)?.[0] ?? event.rawPath;
}

/**
 * The source named by a path `/webhooks/<source>/<url token>` (the third segment), whichever route the request
 * took. The token itself is never read here: API Gateway only routes a request to a source's route when the path
 * holds one of its tokens exactly.
 */
export function sourceNameOf(path: string): string {
  const segment = path.split('/')[2] ?? '';
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // Malformed %-escapes name no source: the domain answers 404.
  }
}

export function toIngestRequest(
  event: APIGatewayProxyEventV2,
  sources: ReadonlyMap<string, RuntimeSource>,
): IngestRequest {
  const headers = lowerCaseHeaders(event.headers);
  const path = webhookPath(event);
  const sourceName = sourceNameOf(path);
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  // The URL the provider called (Twilio signs it). With a configured public base URL (a custom domain and its base
  // path): that base + the webhook path. Otherwise the host the request came to + the path as received.
  const base = sources.get(sourceName)?.config.publicUrl?.replace(/\/+$/, '');
  // HTTP API sets x-forwarded-proto; the local stack sets it too (http).
  const scheme = headers['x-forwarded-proto'] === 'http' ? 'http' : 'https';
  return {
    method: event.requestContext.http.method.toUpperCase(),
    sourceName,
    viaSourceRoute: event.routeKey !== CATCH_ALL_ROUTE && event.routeKey.startsWith('POST /webhooks/'),
    headers,
    body: Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8'),
    url: base
      ? `${base}${path}${query}`
      : `${scheme}://${event.requestContext.domainName}${event.rawPath}${query}`,
    query: Object.fromEntries(
      Object.entries(event.queryStringParameters ?? {}).filter(
        (e): e is [string, string] => e[1] !== undefined,
      ),
    ),
  };
}
