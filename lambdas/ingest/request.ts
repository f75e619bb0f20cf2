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

/**
 * The source named by the request. Configured sources have their own route (`POST /webhooks/github`, for its
 * throttling) with no path parameter; only the catch-all `/webhooks/{source}` carries one. The path's last segment
 * names the source either way.
 */
export function sourceNameOf(event: Pick<APIGatewayProxyEventV2, 'pathParameters' | 'rawPath'>): string {
  if (event.pathParameters?.source) return event.pathParameters.source;
  const segment = event.rawPath.split('/').pop() ?? '';
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
  const sourceName = sourceNameOf(event);
  const configured = sources.get(sourceName)?.config.publicUrl;
  const query = event.rawQueryString ? `${configured?.includes('?') ? '&' : '?'}${event.rawQueryString}` : '';
  // HTTP API sets x-forwarded-proto; the local stack sets it too (http).
  const scheme = headers['x-forwarded-proto'] === 'http' ? 'http' : 'https';
  return {
    method: event.requestContext.http.method.toUpperCase(),
    sourceName,
    headers,
    body: Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8'),
    url: configured
      ? `${configured}${query}`
      : `${scheme}://${event.requestContext.domainName}${event.rawPath}${query}`,
    query: Object.fromEntries(
      Object.entries(event.queryStringParameters ?? {}).filter(
        (e): e is [string, string] => e[1] !== undefined,
      ),
    ),
  };
}
