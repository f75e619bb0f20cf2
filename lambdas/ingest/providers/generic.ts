/**
 * Generic HMAC, driven by the source's `generic` block (GenericHmacConfig in core/config.ts).
 *
 * - `signatureFormat` is a template of the whole header value, e.g. `sha256=${signature}` or
 *   `t=${timestamp},v1=${signature}`: the header must match it exactly (one signature; no lists). When it contains
 *   `${timestamp}` the timestamp comes from the signature header, else from `timestampHeader` when configured.
 * - `signedContent` is a template of the signed bytes: `${body}` (raw bytes), `${timestamp}` (exactly as sent) and
 *   `${id}` (the `deliveryIdHeader` value). Other text is literal.
 * - A timestamp, when there is one, must be an integer in `timestampUnit` within the symmetric tolerance.
 *
 * - type: the `eventTypeHeader` value, else `body.type` when it is a string, else `webhook`.
 * - deliveryId: the `deliveryIdHeader` value, else null (dedupe on the body hash).
 * - providerTime: the timestamp, when there is one.
 * - subject: null.
 */
import type { GenericHmacConfig, SourceConfig } from '../../../core/config';
import {
  anyKeyMatches,
  DIGEST_BYTES,
  decodeSignature,
  type HmacAlgorithm,
  hmac,
  usableSecrets,
} from './hmac';
import { checkWindow, isoFromEpoch, parseIntegerTimestamp } from './timestamp';
import type { ProviderAdapter, WebhookRequest } from './types';
import {
  bodyBytes,
  deliveryId,
  eventType,
  fail,
  guardNormalise,
  guardVerify,
  header,
  headerText,
  OK,
  prop,
  text,
} from './util';

const PLACEHOLDER_RE = /\$\{(signature|timestamp|body|id)\}/g;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** Values a placeholder may take inside the signature header. */
const SIGNATURE_CHARS = { hex: '[0-9a-fA-F]+', base64: '[A-Za-z0-9+/]+={0,2}' } as const;

const formatCache = new Map<string, RegExp>();

/** Compiles a `signatureFormat` template into an anchored regex with named groups `signature` and `timestamp`. */
export function compileSignatureFormat(format: string, encoding: GenericHmacConfig['encoding']): RegExp {
  const cacheKey = `${encoding}\u0000${format}`;
  const cached = formatCache.get(cacheKey);
  if (cached) return cached;
  let pattern = '^';
  const seen = new Set<string>();
  let last = 0;
  for (const match of format.matchAll(PLACEHOLDER_RE)) {
    const name = match[1] ?? '';
    pattern += escapeRegExp(format.slice(last, match.index));
    last = match.index + match[0].length;
    if (name === 'signature' || name === 'timestamp') {
      if (seen.has(name)) pattern += `\\k<${name}>`;
      else pattern += `(?<${name}>${name === 'signature' ? SIGNATURE_CHARS[encoding] : '[0-9]+'})`;
      seen.add(name);
    } else pattern += escapeRegExp(match[0]);
  }
  pattern += `${escapeRegExp(format.slice(last))}$`;
  const compiled = new RegExp(pattern);
  if (formatCache.size > 256) formatCache.clear();
  formatCache.set(cacheKey, compiled);
  return compiled;
}

/** Fills config defaults for a `generic` block given without them (e.g. built by hand rather than parsed). */
function settings(source: SourceConfig | undefined): GenericHmacConfig | undefined {
  const generic = source?.generic;
  if (!generic || typeof generic !== 'object' || typeof generic.signatureHeader !== 'string')
    return undefined;
  return {
    ...generic,
    signatureFormat: generic.signatureFormat ?? '${signature}',
    algorithm: generic.algorithm ?? 'sha256',
    encoding: generic.encoding ?? 'hex',
    signedContent: generic.signedContent ?? '${body}',
    timestampUnit: generic.timestampUnit ?? 's',
  };
}

type Parsed = { signature: string; timestamp: string | undefined } | { error: string };

function parseSignatureHeader(request: WebhookRequest, config: GenericHmacConfig): Parsed {
  const name = config.signatureHeader.toLowerCase();
  const value = header(request, name);
  if (value === undefined || value === '') return { error: `missing ${name} header` };
  const match = compileSignatureFormat(config.signatureFormat, config.encoding).exec(value);
  const signature = match?.groups?.signature;
  if (!match || signature === undefined) return { error: `${name} does not match the configured format` };
  const timestamp = config.signatureFormat.includes('${timestamp}')
    ? match.groups?.timestamp
    : config.timestampHeader
      ? header(request, config.timestampHeader)
      : undefined;
  return { signature, timestamp };
}

/** The timestamp text as sent (from the signature header or `timestampHeader`), or undefined when none is configured. */
function timestampText(request: WebhookRequest, config: GenericHmacConfig): string | undefined {
  if (config.signatureFormat.includes('${timestamp}')) {
    const parsed = parseSignatureHeader(request, config);
    return 'error' in parsed ? undefined : parsed.timestamp;
  }
  return config.timestampHeader ? header(request, config.timestampHeader) : undefined;
}

export const genericAdapter: ProviderAdapter = {
  provider: 'generic',
  defaultToleranceSeconds: 300,
  bodyFormats: ['json', 'form'],
  // The configured id/type/timestamp headers are source-specific: see `keptHeadersFor`.
  keptHeaders: ['user-agent', 'content-type'],
  keptHeadersFor: (source) => {
    const config = settings(source);
    const names = [config?.deliveryIdHeader, config?.eventTypeHeader, config?.timestampHeader]
      .filter((n): n is string => typeof n === 'string')
      .map((n) => n.toLowerCase())
      .filter((n) => n !== config?.signatureHeader.toLowerCase());
    return [...new Set([...names, 'user-agent', 'content-type'])];
  },

  verify: (request, context) =>
    guardVerify(() => {
      const config = settings(context.source);
      if (!config) return fail('source has no generic HMAC configuration');
      const algorithm: HmacAlgorithm = config.algorithm;
      const bytes = DIGEST_BYTES[algorithm];
      if (bytes === undefined) return fail('unsupported algorithm');

      const parsed = parseSignatureHeader(request, config);
      if ('error' in parsed) return fail(parsed.error);
      const signature = decodeSignature(parsed.signature, config.encoding, bytes);
      if (!signature) return fail(`signature is not ${config.encoding} of ${bytes} bytes`);

      const hasTimestampSource =
        config.signatureFormat.includes('${timestamp}') || config.timestampHeader !== undefined;
      const needsTimestamp = hasTimestampSource || config.signedContent.includes('${timestamp}');
      let stamp = parsed.timestamp;
      if (needsTimestamp) {
        if (!hasTimestampSource)
          return fail('signedContent uses ${timestamp} but no timestamp source is configured');
        if (stamp === undefined || stamp === '') return fail('missing timestamp');
        const value = parseIntegerTimestamp(stamp);
        if (value === null) return fail('timestamp is not an integer');
        const window = checkWindow(
          config.timestampUnit === 'ms' ? value : value * 1000,
          context.now,
          context.toleranceSeconds,
        );
        if (!window.ok) return fail(window.reason);
      } else stamp = '';

      let id = '';
      if (config.signedContent.includes('${id}')) {
        const idValue = config.deliveryIdHeader ? header(request, config.deliveryIdHeader) : undefined;
        if (idValue === undefined || idValue === '') return fail('missing delivery id header');
        id = idValue;
      }

      const body = bodyBytes(request);
      const parts: (string | Buffer)[] = [];
      let last = 0;
      for (const match of config.signedContent.matchAll(PLACEHOLDER_RE)) {
        parts.push(config.signedContent.slice(last, match.index));
        last = match.index + match[0].length;
        const name = match[1];
        if (name === 'body') parts.push(body);
        else if (name === 'timestamp') parts.push(stamp);
        else if (name === 'id') parts.push(id);
        else parts.push(match[0]);
      }
      parts.push(config.signedContent.slice(last));

      const secrets = usableSecrets(context.secrets ?? []);
      if (secrets.length === 0) return fail('no signing secret configured');
      return anyKeyMatches(secrets, (key) => hmac(algorithm, key, parts), [signature])
        ? OK
        : fail('signature does not match');
    }),

  normalise: (request, body, source) =>
    guardNormalise('webhook', () => {
      const config = settings(source);
      const typeHeader = config?.eventTypeHeader ? headerText(request, config.eventTypeHeader) : undefined;
      const stamp = config ? parseIntegerTimestamp(timestampText(request, config)) : null;
      return {
        type: eventType(typeHeader ?? text(prop(body, 'type')), 'webhook'),
        deliveryId: deliveryId(
          config?.deliveryIdHeader ? headerText(request, config.deliveryIdHeader) : undefined,
        ),
        providerTime: config && stamp !== null ? isoFromEpoch(stamp, config.timestampUnit) : null,
        subject: null,
      };
    }),
};
