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

/**
 * The source named by the path `/webhooks/<source>/<url token>` (the third segment), whichever route the request
 * took. The token itself is never read here: API Gateway only routes a request to a source's route when the path
 * holds one of its tokens exactly.
 */
export function sourceNameOf(rawPath: string): string {
  const segment = rawPath.split('/')[2] ?? '';
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
  const sourceName = sourceNameOf(event.rawPath);
  // The public base URL (a custom domain and its base path): API Gateway's rawPath excludes the base path.
  const base = sources.get(sourceName)?.config.publicUrl?.replace(/\/+$/, '');
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  // HTTP API sets x-forwarded-proto; the local stack sets it too (http).
  const scheme = headers['x-forwarded-proto'] === 'http' ? 'http' : 'https';
  return {
    method: event.requestContext.http.method.toUpperCase(),
    sourceName,
    viaSourceRoute: event.routeKey !== CATCH_ALL_ROUTE && event.routeKey.startsWith('POST /webhooks/'),
    headers,
    body: Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8'),
    url: `${base ?? `${scheme}://${event.requestContext.domainName}`}${event.rawPath}${query}`,
    query: Object.fromEntries(
      Object.entries(event.queryStringParameters ?? {}).filter(
        (e): e is [string, string] => e[1] !== undefined,
      ),
    ),
  };
}
