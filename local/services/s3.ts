/**
 * S3, as much as the router uses for claim-check payloads: CreateBucket, HeadBucket, DeleteBucket, ListBuckets,
 * PutObject, GetObject (ranges, conditional headers, stored checksum with `x-amz-checksum-mode: ENABLED`),
 * HeadObject, DeleteObject, ListObjectsV2 — path-style REST-XML as @aws-sdk/client-s3 v3 sends it, errors as S3's
 * XML (`<Error><Code>NoSuchKey</Code>…`, https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 *
 * Integrity (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html): a PutObject body
 * arrives whole with an `x-amz-checksum-<algorithm>` header, or — from a stream — as `aws-chunked` content encoding
 * with the checksum in a trailer (`x-amz-trailer`, STREAMING-UNSIGNED-PAYLOAD-TRAILER). Either way the checksum (and a
 * Content-MD5) is verified (BadDigest on mismatch) and stored; without one, S3's default CRC64NVME is computed.
 * GetObject/HeadObject return the stored checksum when asked, which the SDK verifies.
 *
 * Objects are kept in memory, or under `dataDir` (`s3-objects/` + the `s3` journal): an object's bytes are written
 * to their own file before the journal records the object, so an acknowledged PutObject survives a SIGKILL.
 */
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { FaultSwitch } from '../faults';
import { BodyTooLargeError, readBody } from '../net';
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  checksum,
  checksumHeader,
  isWellFormedChecksum,
  parseChecksumAlgorithm,
} from './checksums';
import { Journal, writeSomething } from './journal';

export interface S3Options {
  readonly dataDir?: string;
  readonly fsync?: boolean;
  readonly compactBytes?: number;
  readonly faults?: FaultSwitch;
  readonly now?: () => number;
}

export interface LocalS3 {
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): void;
}

/** Largest object accepted locally (S3's single PUT allows 5 GB; local payloads are a few MB). */
export const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
const REGION = 'us-east-1';
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

interface StoredObject {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: number;
  readonly headers: Record<string, string>;
  readonly metadata: Record<string, string>;
  readonly checksumAlgorithm: ChecksumAlgorithm;
  readonly checksum: string;
  /** File under s3-objects/ holding the bytes (persistent mode). */
  readonly blob?: string;
}

interface Bucket {
  readonly name: string;
  readonly createdAt: number;
  readonly objects: Map<string, StoredObject>;
}

type S3Record =
  | { readonly t: 'bucket'; readonly name: string; readonly at: number }
  | { readonly t: 'deleteBucket'; readonly name: string }
  | { readonly t: 'put'; readonly bucket: string; readonly o: StoredObject }
  | { readonly t: 'delete'; readonly bucket: string; readonly key: string };

interface S3Snapshot {
  readonly buckets: { name: string; createdAt: number; objects: StoredObject[] }[];
}

/** Stored content headers: echoed on GetObject/HeadObject. */
const CONTENT_HEADERS = [
  'content-type',
  'content-encoding',
  'cache-control',
  'content-disposition',
  'content-language',
  'expires',
];

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

const noSuchBucket = (bucket: string) =>
  new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });

export function startS3(options: S3Options = {}): LocalS3 {
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();
  /** Object bytes in memory mode, by bucket + key. */
  const memory = new Map<string, Buffer>();
  const blobDir = options.dataDir ? path.join(options.dataDir, 's3-objects') : undefined;
  let journal: Journal<S3Snapshot, S3Record> | undefined;

  const apply = (record: S3Record) => {
    switch (record.t) {
      case 'bucket':
        if (!buckets.has(record.name))
          buckets.set(record.name, { name: record.name, createdAt: record.at, objects: new Map() });
        return;
      case 'deleteBucket':
        buckets.delete(record.name);
        return;
      case 'put':
        buckets.get(record.bucket)?.objects.set(record.o.key, record.o);
        return;
      case 'delete':
        buckets.get(record.bucket)?.objects.delete(record.key);
        return;
    }
  };
  const snapshot = (): S3Snapshot => ({
    buckets: [...buckets.values()].map((b) => ({
      name: b.name,
      createdAt: b.createdAt,
      objects: [...b.objects.values()],
    })),
  });

  if (options.dataDir && blobDir) {
    mkdirSync(blobDir, { recursive: true });
    const opened = Journal.open<S3Snapshot, S3Record>({
      dir: options.dataDir,
      name: 's3',
      ...(options.fsync !== undefined ? { fsync: options.fsync } : {}),
      ...(options.compactBytes !== undefined ? { compactBytes: options.compactBytes } : {}),
    });
    for (const b of opened.replay.snapshot?.buckets ?? [])
      buckets.set(b.name, {
        name: b.name,
        createdAt: b.createdAt,
        objects: new Map(b.objects.map((o) => [o.key, o])),
      });
    for (const record of opened.replay.records) apply(record);
    opened.journal.snapshotState = snapshot;
    journal = opened.journal;
    // Bytes written for a PutObject that was never recorded (killed in between), or of objects since replaced.
    const referenced = new Set<string>();
    for (const b of buckets.values()) for (const o of b.objects.values()) if (o.blob) referenced.add(o.blob);
    for (const file of readdirSync(blobDir))
      if (!referenced.has(file)) rmSync(path.join(blobDir, file), { force: true });
  }

  const commit = (record: S3Record) => {
    journal?.append(record);
    apply(record);
    journal?.maybeCompact();
  };

  const dropBytes = (bucket: string, o: StoredObject | undefined) => {
    if (!o) return;
    if (o.blob && blobDir) rmSync(path.join(blobDir, o.blob), { force: true });
    else memory.delete(`${bucket}\u0000${o.key}`);
  };

  const readBytes = (bucket: string, o: StoredObject): Buffer =>
    o.blob && blobDir
      ? readFileSync(path.join(blobDir, o.blob))
      : (memory.get(`${bucket}\u0000${o.key}`) ?? Buffer.alloc(0));

  const writeBlob = (data: Buffer): string => {
    const name = randomUUID();
    const fd = openSync(path.join(blobDir!, name), 'w');
    try {
      let written = 0;
      while (written < data.length) written += writeSomething(fd, data, written);
      if (options.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return name;
  };

  const bucketOf = (name: string): Bucket => {
    const bucket = buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    return bucket;
  };

  // ---- operations ----------------------------------------------------------------------------------------

  const createBucket = (name: string, res: ServerResponse) => {
    if (!isValidBucketName(name))
      throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: name });
    // us-east-1: re-creating a bucket you own answers 200 (legacy behaviour; other Regions answer
    // BucketAlreadyOwnedByYou), https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html.
    if (!buckets.has(name)) commit({ t: 'bucket', name, at: now() });
    res.writeHead(200, { location: `/${name}`, 'content-length': '0' });
    res.end();
  };

  const deleteBucket = (name: string, res: ServerResponse) => {
    const bucket = bucketOf(name);
    if (bucket.objects.size > 0)
      throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', {
        BucketName: name,
      });
    commit({ t: 'deleteBucket', name });
    res.writeHead(204);
    res.end();
  };

  const putObject = async (bucketName: string, key: string, req: IncomingMessage, res: ServerResponse) => {
    const bucket = bucketOf(bucketName);
    if (req.headers['x-amz-copy-source'])
      throw new S3Error(501, 'NotImplemented', 'CopyObject is not implemented locally.');
    let raw: Buffer;
    try {
      raw = await readBody(req, MAX_OBJECT_BYTES + 1024 * 1024);
    } catch (error) {
      if (error instanceof BodyTooLargeError)
        throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
      throw error;
    }
    const headers = lowerHeaders(req);
    const encodings = (headers['content-encoding'] ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    const chunked =
      encodings.includes('aws-chunked') || (headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');
    const { data, trailers } = chunked ? decodeAwsChunked(raw) : { data: raw, trailers: {} };
    if (data.length > MAX_OBJECT_BYTES)
      throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
    const declared = headers['x-amz-decoded-content-length'];
    if (chunked && declared !== undefined && Number(declared) !== data.length)
      throw new S3Error(
        400,
        'IncompleteBody',
        'You did not provide the number of bytes specified by the Content-Length HTTP header',
      );
    const { algorithm, value } = verifyChecksums(data, headers, trailers);
    const contentMd5 = headers['content-md5'];
    const md5 = createHash('md5').update(data);
    const md5Bytes = md5.digest();
    if (contentMd5 !== undefined) {
      if (Buffer.from(contentMd5, 'base64').length !== 16)
        throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.');
      if (contentMd5 !== md5Bytes.toString('base64'))
        throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    const stored: Record<string, string> = {};
    for (const name of CONTENT_HEADERS) {
      const v = headers[name];
      if (v !== undefined) stored[name] = v;
    }
    const remaining = encodings.filter((e) => e !== 'aws-chunked');
    if (remaining.length > 0) stored['content-encoding'] = remaining.join(',');
    else delete stored['content-encoding'];
    stored['content-type'] ??= 'binary/octet-stream';
    const metadata: Record<string, string> = {};
    for (const [name, v] of Object.entries(headers))
      if (name.startsWith('x-amz-meta-')) metadata[name.slice('x-amz-meta-'.length)] = v;
    const blob = blobDir ? writeBlob(data) : undefined;
    const object: StoredObject = {
      key,
      size: data.length,
      etag: `"${md5Bytes.toString('hex')}"`,
      lastModified: now(),
      headers: stored,
      metadata,
      checksumAlgorithm: algorithm,
      checksum: value,
      ...(blob ? { blob } : {}),
    };
    const previous = bucket.objects.get(key);
    commit({ t: 'put', bucket: bucketName, o: object });
    if (previous?.blob !== undefined) dropBytes(bucketName, previous);
    if (!blobDir) memory.set(`${bucketName}\u0000${key}`, data);
    res.writeHead(200, {
      etag: object.etag,
      [checksumHeader(algorithm)]: value,
      'x-amz-checksum-type': 'FULL_OBJECT',
      'content-length': '0',
    });
    res.end();
  };

  const getObject = (
    bucketName: string,
    key: string,
    req: IncomingMessage,
    res: ServerResponse,
    head: boolean,
  ) => {
    const bucket = bucketOf(bucketName);
    const object = bucket.objects.get(key);
    if (!object) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    const headers = lowerHeaders(req);
    const ifMatch = headers['if-match'];
    if (
      ifMatch !== undefined &&
      ifMatch !== '*' &&
      !ifMatch
        .split(',')
        .map((s) => s.trim())
        .includes(object.etag)
    )
      throw new S3Error(
        412,
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        {
          Condition: 'If-Match',
        },
      );
    const ifNoneMatch = headers['if-none-match'];
    if (
      ifNoneMatch !== undefined &&
      (ifNoneMatch === '*' ||
        ifNoneMatch
          .split(',')
          .map((s) => s.trim())
          .includes(object.etag))
    ) {
      res.writeHead(304, { etag: object.etag });
      res.end();
      return;
    }
    const out: Record<string, string> = {
      ...object.headers,
      etag: object.etag,
      'last-modified': new Date(object.lastModified).toUTCString(),
      'accept-ranges': 'bytes',
    };
    for (const [name, v] of Object.entries(object.metadata)) out[`x-amz-meta-${name}`] = v;
    const range = headers.range ? parseRange(headers.range, object.size) : undefined;
    if (!range && headers['x-amz-checksum-mode']?.toUpperCase() === 'ENABLED') {
      out[checksumHeader(object.checksumAlgorithm)] = object.checksum;
      out['x-amz-checksum-type'] = 'FULL_OBJECT';
    }
    if (head) {
      res.writeHead(range ? 206 : 200, {
        ...out,
        'content-length': String(range ? range[1] - range[0] + 1 : object.size),
      });
      res.end();
      return;
    }
    const data = readBytes(bucketName, object);
    if (range) {
      const part = data.subarray(range[0], range[1] + 1);
      res.writeHead(206, {
        ...out,
        'content-range': `bytes ${range[0]}-${range[1]}/${object.size}`,
        'content-length': String(part.length),
      });
      res.end(part);
      return;
    }
    res.writeHead(200, { ...out, 'content-length': String(data.length) });
    res.end(data);
  };

  const deleteObject = (bucketName: string, key: string, res: ServerResponse) => {
    const bucket = bucketOf(bucketName);
    const previous = bucket.objects.get(key);
    if (previous) {
      commit({ t: 'delete', bucket: bucketName, key });
      dropBytes(bucketName, previous);
    }
    res.writeHead(204);
    res.end();
  };

  const listObjectsV2 = (bucketName: string, query: URLSearchParams, res: ServerResponse) => {
    const bucket = bucketOf(bucketName);
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeysParam = query.get('max-keys');
    const maxKeys = maxKeysParam === null ? 1000 : Number(maxKeysParam);
    if (!Number.isInteger(maxKeys) || maxKeys < 0)
      throw new S3Error(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range');
    const token = query.get('continuation-token');
    const startAfter = query.get('start-after') ?? '';
    const after = token !== null ? Buffer.from(token, 'base64').toString('utf8') : startAfter;
    const encodeUrl = query.get('encoding-type') === 'url';
    const enc = (s: string) => (encodeUrl ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
    const keys = [...bucket.objects.keys()]
      .filter((k) => k.startsWith(prefix) && compareKeys(k, after) > 0)
      .sort(compareKeys);
    const contents: StoredObject[] = [];
    const prefixes: string[] = [];
    let lastProcessed = '';
    let truncated = false;
    let i = 0;
    // Bounded by the keys: every pass consumes at least one.
    while (i < keys.length) {
      if (contents.length + prefixes.length >= Math.min(maxKeys, 1000)) {
        truncated = true;
        break;
      }
      const key = keys[i]!;
      const rest = key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut >= 0) {
        const common = prefix + rest.slice(0, cut + delimiter.length);
        prefixes.push(common);
        while (i < keys.length && keys[i]!.startsWith(common)) lastProcessed = keys[i++]!;
      } else {
        contents.push(bucket.objects.get(key)!);
        lastProcessed = key;
        i++;
      }
    }
    const xml = [
      `<ListBucketResult xmlns="${XMLNS}">`,
      el('Name', bucketName),
      el('Prefix', enc(prefix)),
      el('KeyCount', String(contents.length + prefixes.length)),
      el('MaxKeys', String(maxKeys)),
      delimiter ? el('Delimiter', enc(delimiter)) : '',
      el('IsTruncated', String(truncated)),
      ...contents.map(
        (o) =>
          `<Contents>${el('Key', enc(o.key))}${el('LastModified', new Date(o.lastModified).toISOString())}${el('ETag', o.etag)}${el('ChecksumAlgorithm', o.checksumAlgorithm)}${el('ChecksumType', 'FULL_OBJECT')}${el('Size', String(o.size))}${el('StorageClass', 'STANDARD')}</Contents>`,
      ),
      ...prefixes.map((p) => `<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`),
      token !== null ? el('ContinuationToken', token) : '',
      truncated ? el('NextContinuationToken', Buffer.from(lastProcessed).toString('base64')) : '',
      startAfter ? el('StartAfter', enc(startAfter)) : '',
      encodeUrl ? el('EncodingType', 'url') : '',
      '</ListBucketResult>',
    ].join('');
    sendXml(res, 200, xml);
  };

  const listBuckets = (res: ServerResponse) => {
    const xml = [
      `<ListAllMyBucketsResult xmlns="${XMLNS}">`,
      `<Owner>${el('ID', 'local')}${el('DisplayName', 'local')}</Owner><Buckets>`,
      ...[...buckets.values()]
        .sort((a, b) => compareKeys(a.name, b.name))
        .map(
          (b) =>
            `<Bucket>${el('Name', b.name)}${el('CreationDate', new Date(b.createdAt).toISOString())}</Bucket>`,
        ),
      '</Buckets></ListAllMyBucketsResult>',
    ].join('');
    sendXml(res, 200, xml);
  };

  // ---- routing -------------------------------------------------------------------------------------------

  const route = async (req: IncomingMessage, res: ServerResponse, op: { name: string }) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const { bucket, key } = addressOf(req, url);
    if (!bucket) {
      op.name = 'ListBuckets';
      if (method !== 'GET')
        throw new S3Error(
          405,
          'MethodNotAllowed',
          'The specified method is not allowed against this resource.',
        );
      checkFault(op.name);
      return listBuckets(res);
    }
    if (key === '') {
      if (method === 'PUT') {
        op.name = 'CreateBucket';
        checkFault(op.name);
        req.resume();
        return createBucket(bucket, res);
      }
      if (method === 'HEAD') {
        op.name = 'HeadBucket';
        checkFault(op.name);
        bucketOf(bucket);
        res.writeHead(200, { 'x-amz-bucket-region': REGION });
        res.end();
        return;
      }
      if (method === 'DELETE') {
        op.name = 'DeleteBucket';
        checkFault(op.name);
        return deleteBucket(bucket, res);
      }
      if (method === 'GET' && url.searchParams.get('list-type') === '2') {
        op.name = 'ListObjectsV2';
        checkFault(op.name);
        return listObjectsV2(bucket, url.searchParams, res);
      }
      throw new S3Error(
        501,
        'NotImplemented',
        'A header or query you provided implies functionality that is not implemented locally.',
      );
    }
    if (method === 'PUT' && !hasSubresource(url)) {
      op.name = 'PutObject';
      checkFault(op.name);
      return putObject(bucket, key, req, res);
    }
    if ((method === 'GET' || method === 'HEAD') && !hasSubresource(url)) {
      op.name = method === 'GET' ? 'GetObject' : 'HeadObject';
      checkFault(op.name);
      return getObject(bucket, key, req, res, method === 'HEAD');
    }
    if (method === 'DELETE' && !hasSubresource(url)) {
      op.name = 'DeleteObject';
      checkFault(op.name);
      return deleteObject(bucket, key, res);
    }
    throw new S3Error(
      501,
      'NotImplemented',
      'A header or query you provided implies functionality that is not implemented locally.',
    );
  };

  const checkFault = (operation: string) => {
    const fault = options.faults?.check('s3', operation);
    if (fault) throw new S3Error(fault.status, fault.code, fault.message ?? fault.code);
  };

  return {
    handle(req, res) {
      const op = { name: 'Unknown' };
      route(req, res, op).catch((error: unknown) => {
        const e =
          error instanceof S3Error
            ? error
            : new S3Error(
                500,
                'InternalError',
                `We encountered an internal error: ${(error as Error).message}`,
              );
        if (res.headersSent || res.destroyed) return;
        req.resume();
        if (req.method === 'HEAD') {
          // HEAD answers carry no body: the SDK names the error from the status (404 → NotFound).
          res.writeHead(e.status, { 'x-amz-request-id': randomUUID() });
          res.end();
          return;
        }
        const requestId = randomUUID();
        const extra = Object.entries(e.extra)
          .map(([k, v]) => el(k, v))
          .join('');
        sendXml(
          res,
          e.status,
          `<Error>${el('Code', e.code)}${el('Message', e.message)}${extra}${el('RequestId', requestId)}${el('HostId', requestId)}</Error>`,
          { 'x-amz-request-id': requestId },
        );
      });
    },
    close() {
      if (journal) {
        journal.compact(snapshot());
        journal.close();
        journal = undefined;
      }
    },
  };
}

/** Path-style `/<bucket>/<key>`, or virtual-hosted `<bucket>.localhost` (the key is then the whole path). */
function addressOf(req: IncomingMessage, url: URL): { bucket: string; key: string } {
  const host = (req.headers.host ?? '').replace(/:\d+$/, '');
  const virtual = /^(.+)\.(?:s3\.)?localhost$/.exec(host);
  if (virtual) return { bucket: virtual[1]!, key: decodeURIComponent(url.pathname.slice(1)) };
  const pathname = url.pathname.slice(1);
  const slash = pathname.indexOf('/');
  if (slash === -1) return { bucket: decodeURIComponent(pathname), key: '' };
  return {
    bucket: decodeURIComponent(pathname.slice(0, slash)),
    key: decodeURIComponent(pathname.slice(slash + 1)),
  };
}

function hasSubresource(url: URL): boolean {
  // x-id is the SDK's own marker of the operation; anything else (acl, tagging, uploads…) is not implemented.
  return [...url.searchParams.keys()].some((k) => k !== 'x-id');
}

function isValidBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name)
  );
}

function lowerHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

/**
 * aws-chunked body: `<hex size>[;extensions]\r\n<bytes>\r\n` … `0\r\n`, then trailer lines `name:value\r\n` and an
 * empty line (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html).
 */
export function decodeAwsChunked(raw: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const chunks: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let offset = 0;
  const invalid = () =>
    new S3Error(400, 'InvalidRequest', 'Invalid aws-chunked encoding of the request body.');
  const readLine = (): string => {
    const end = raw.indexOf('\r\n', offset);
    if (end === -1) throw invalid();
    const line = raw.subarray(offset, end).toString('latin1');
    offset = end + 2;
    return line;
  };
  // Bounded by the body: every chunk consumes its bytes.
  for (;;) {
    const sizeText = readLine().split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw invalid();
    const size = Number.parseInt(sizeText, 16);
    if (size === 0) break;
    if (offset + size + 2 > raw.length) throw invalid();
    chunks.push(raw.subarray(offset, offset + size));
    offset += size;
    if (raw.toString('latin1', offset, offset + 2) !== '\r\n') throw invalid();
    offset += 2;
  }
  while (offset < raw.length) {
    const line = readLine();
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon === -1) throw invalid();
    trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { data: Buffer.concat(chunks), trailers };
}

/** The one checksum of a PutObject (header or trailer), verified; S3's default CRC64NVME when none was sent. */
function verifyChecksums(
  data: Buffer,
  headers: Record<string, string>,
  trailers: Record<string, string>,
): { algorithm: ChecksumAlgorithm; value: string } {
  const given: [ChecksumAlgorithm, string][] = [];
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const name = checksumHeader(algorithm);
    const value = trailers[name] ?? headers[name];
    if (value !== undefined) given.push([algorithm, value]);
  }
  if (given.length > 1)
    throw new S3Error(
      400,
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  const sdkAlgorithm = headers['x-amz-sdk-checksum-algorithm'];
  if (given.length === 0) {
    if (sdkAlgorithm !== undefined && !headers['x-amz-trailer'])
      throw new S3Error(
        400,
        'InvalidRequest',
        'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.',
      );
    return { algorithm: 'CRC64NVME', value: checksum('CRC64NVME', data) };
  }
  const [algorithm, value] = given[0]!;
  if (sdkAlgorithm !== undefined && parseChecksumAlgorithm(sdkAlgorithm) !== algorithm)
    throw new S3Error(400, 'InvalidRequest', `Value for x-amz-sdk-checksum-algorithm header is invalid.`);
  if (!isWellFormedChecksum(algorithm, value))
    throw new S3Error(400, 'InvalidRequest', `Value for ${checksumHeader(algorithm)} header is invalid.`);
  if (checksum(algorithm, data) !== value)
    throw new S3Error(
      400,
      'BadDigest',
      `The ${algorithm} you specified did not match the calculated checksum.`,
    );
  return { algorithm, value };
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` → inclusive [start, end]; InvalidRange when unsatisfiable. */
function parseRange(header: string, size: number): [number, number] | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // S3 ignores a malformed Range
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end)
    throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', {
      RangeRequested: header,
      ActualObjectSize: String(size),
    });
  return [start, end];
}

/** S3 lists keys in UTF-8 binary order. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function el(name: string, value: string): string {
  return `<${name}>${escapeXml(value)}</${name}>`;
}

function sendXml(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}
