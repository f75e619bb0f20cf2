/**
 * AWS Signature Version 4 for `execute-api`, both ways: the CLI signs its management API requests with it, and the
 * local HTTP API checks them on its `AWS_IAM` routes as API Gateway does — by computing the signature again with
 * the secret key of the access key the request names (the local credentials) and comparing.
 *
 * What API Gateway answers (HTTP API, IAM authorization), and the local API with it: no `Authorization` header →
 * 403 `{"message":"Forbidden"}`; an unknown access key → 403 "The security token included in the request is
 * invalid."; a signature that does not match → 403 "The request signature we calculated does not match …"; a
 * request signed more than 5 minutes before or after now → 403 "Signature expired …".
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** SHA-256 (and HMAC-SHA-256 with a secret) as the signer wants it, from node:crypto. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): Buffer | string =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

class Sha256 {
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  private readonly secret: Buffer | string | undefined;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : bytes(secret);
    this.hash = this.fresh();
  }
  private fresh() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export interface SignableRequest {
  readonly method: string;
  /** The URL as sent: its path as on the wire (already percent-encoded), its query string. */
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** SigV4 `execute-api` signer: every header given is signed, with `host` and `x-amz-date`. */
export function executeApiSigner(credentials: Credentials | (() => Promise<Credentials>), region: string) {
  return new SignatureV4({
    credentials,
    region,
    service: 'execute-api',
    sha256: Sha256,
    uriEscapePath: true,
    // Only S3 requires `x-amz-content-sha256`; left to the signer it would add and sign the header even when the
    // client did not (curl --aws-sigv4 signs `host;x-amz-date` only), and the check would never match. signRequest
    // sets it itself.
    applyChecksum: false,
  });
}

function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const existing = query[key];
    query[key] = existing === undefined ? value : [...[existing].flat(), value];
  }
  return query;
}

/** The request's headers, signed: `authorization`, `x-amz-date`, `x-amz-content-sha256`, and any session token. */
export async function signRequest(
  request: SignableRequest,
  credentials: Credentials | (() => Promise<Credentials>),
  region: string,
  signingDate?: Date,
): Promise<Record<string, string>> {
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  const signed = await executeApiSigner(credentials, region).sign(
    {
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      ...(request.url.port ? { port: Number(request.url.port) } : {}),
      path: request.url.pathname,
      query: queryOf(request.url),
      headers: {
        ...request.headers,
        host: request.url.host,
        // Signed too, so that the body cannot be swapped.
        'x-amz-content-sha256': createHash('sha256')
          .update(body ?? Buffer.alloc(0))
          .digest('hex'),
      },
      ...(body === undefined ? {} : { body }),
    },
    signingDate ? { signingDate } : {},
  );
  return signed.headers as Record<string, string>;
}

export type Verification =
  | { readonly ok: true; readonly accessKeyId: string }
  | { readonly ok: false; readonly message: string };

/** API Gateway's messages (see the module comment). */
export const SIGV4_MESSAGES = {
  missing: 'Forbidden',
  unknownKey: 'The security token included in the request is invalid.',
  mismatch:
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access ' +
    'Key and signing method. Consult the service documentation for details.',
  expired: 'Signature expired',
} as const;

/** Requests signed this far from now are refused (AWS: 5 minutes). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;

/** `20261201T164743Z` → a Date (or undefined). */
function amzDate(value: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/**
 * Checks a request's SigV4 signature for `execute-api` in `region` against the known credentials. `headers` are the
 * request's, lower-cased (duplicates joined by ","), `url` as received.
 */
export async function verifyRequest(
  request: { method: string; url: URL; headers: Readonly<Record<string, string>>; body: Buffer },
  known: readonly Credentials[],
  region: string,
  now: number = Date.now(),
): Promise<Verification> {
  const authorization = request.headers.authorization;
  if (!authorization) return { ok: false, message: SIGV4_MESSAGES.missing };
  const m = AUTHORIZATION.exec(authorization.trim());
  if (!m) return { ok: false, message: SIGV4_MESSAGES.unknownKey };
  const [, accessKeyId, day, signedRegion, service, signedHeaderList, signature] = m as unknown as string[];
  const credentials = known.find((c) => c.accessKeyId === accessKeyId);
  if (!credentials) return { ok: false, message: SIGV4_MESSAGES.unknownKey };
  if (
    credentials.sessionToken !== undefined &&
    request.headers['x-amz-security-token'] !== credentials.sessionToken
  )
    return { ok: false, message: SIGV4_MESSAGES.unknownKey };
  const date = amzDate(request.headers['x-amz-date']);
  if (
    !date ||
    service !== 'execute-api' ||
    signedRegion !== region ||
    !date.toISOString().replace(/-/g, '').startsWith(day!)
  )
    return { ok: false, message: SIGV4_MESSAGES.mismatch };
  if (Math.abs(now - date.getTime()) > MAX_CLOCK_SKEW_MS) {
    return {
      ok: false,
      message: `${SIGV4_MESSAGES.expired}: ${request.headers['x-amz-date']} is not within 5 minutes of the server's time`,
    };
  }
  const names = signedHeaderList!.split(';');
  if (!names.includes('host')) return { ok: false, message: SIGV4_MESSAGES.mismatch };
  // The body is what was signed: its hash, when the client sent one, must be this body's.
  const declared = request.headers['x-amz-content-sha256'];
  if (declared !== undefined && declared !== 'UNSIGNED-PAYLOAD') {
    if (declared !== createHash('sha256').update(request.body).digest('hex'))
      return { ok: false, message: SIGV4_MESSAGES.mismatch };
  }
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = request.headers[name];
    if (value === undefined) return { ok: false, message: SIGV4_MESSAGES.mismatch };
    headers[name] = value;
  }
  const signed = await executeApiSigner(credentials, region).sign(
    {
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      path: request.url.pathname,
      query: queryOf(request.url),
      headers,
      body: request.body,
    },
    { signingDate: date, signableHeaders: new Set(names) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ?? '';
  const ok =
    expected.length === signature!.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature!));
  return ok ? { ok: true, accessKeyId: accessKeyId! } : { ok: false, message: SIGV4_MESSAGES.mismatch };
}
