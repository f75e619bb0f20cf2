/**
 * The local S3 (same endpoint as SQS) answers @aws-sdk/client-s3 as S3 does for what the claim check needs: the
 * SDK's own checksums (header or aws-chunked trailer) are verified and stored, GetObject returns them for the SDK to
 * verify, errors are S3's XML.
 */
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultSwitch } from '../../local/faults';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { decodeAwsChunked } from '../../local/services/s3';
import { type LocalSqs, startLocalSqs } from '../../local/services/sqs';

const BUCKET = 'claim-checks';
const faults = new FaultSwitch();
let local: LocalSqs;
let s3: S3Client;

beforeAll(async () => {
  local = await startLocalSqs({ faults });
  s3 = new S3Client({
    endpoint: local.endpoint,
    region: LOCAL_REGION,
    credentials: localCredentials,
    forcePathStyle: true,
    maxAttempts: 1,
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  s3.destroy();
  await local.stop();
});

async function text(key: string, extra: Record<string, unknown> = {}): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...extra }));
  return out.Body!.transformToString();
}

describe('buckets', () => {
  it('creates buckets (again: 200 in us-east-1), answers HeadBucket, refuses invalid names', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const head = await s3.send(new HeadBucketCommand({ Bucket: BUCKET }));
    expect(head.$metadata.httpStatusCode).toBe(200);
    await expect(s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' }))).rejects.toMatchObject({
      name: 'NotFound',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' }))).rejects.toMatchObject({
      name: 'InvalidBucketName',
    });
  });
});

describe('objects', () => {
  it('stores a payload with the SDK default checksum (CRC32) and serves it back, checksum verified by the SDK', async () => {
    const body = JSON.stringify({ big: 'x'.repeat(300_000), n: 12345678901234567890n.toString() });
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'payloads/a/1',
        Body: body,
        ContentType: 'application/json',
      }),
    );
    expect(put.ChecksumCRC32).toBeTruthy();
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'payloads/a/1' }));
    expect(got.ContentType).toBe('application/json');
    expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32);
    expect(got.ETag).toBe(put.ETag);
    expect(await got.Body!.transformToString()).toBe(body);
  });

  it('verifies and returns every algorithm S3 supports: SHA256 (as ingest sends), SHA1, CRC32C, CRC64NVME', async () => {
    for (const algorithm of ['SHA256', 'SHA1', 'CRC32C', 'CRC64NVME'] as const) {
      const key = `algorithms/${algorithm}`;
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: key,
          Body: Buffer.from(`body for ${algorithm}`),
          ChecksumAlgorithm: algorithm,
        }),
      );
      const field = `Checksum${algorithm}` as const;
      expect(put[field]).toBeTruthy();
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
      expect(got[field]).toBe(put[field]);
      expect(await got.Body!.transformToString()).toBe(`body for ${algorithm}`);
    }
  });

  it('accepts a streamed body as aws-chunked with the checksum in the trailer', async () => {
    const chunks = ['first chunk|', 'second chunk|', 'x'.repeat(70_000)];
    const length = chunks.reduce((sum, c) => sum + Buffer.byteLength(c), 0);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'streamed',
        Body: Readable.from(chunks),
        ContentLength: length,
      }),
    );
    expect(put.ChecksumCRC32).toBeTruthy();
    expect(await text('streamed')).toBe(chunks.join(''));
  });

  it('refuses a body whose checksum or Content-MD5 does not match (BadDigest)', async () => {
    await expect(
      s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'corrupt', Body: 'payload', ChecksumCRC32: 'AAAAAA==' }),
      ),
    ).rejects.toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
    await expect(
      s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'corrupt',
          Body: 'payload',
          ContentMD5: Buffer.alloc(16).toString('base64'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'BadDigest' });
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'corrupt' }))).rejects.toMatchObject({
      name: 'NotFound',
    });
  });

  it('answers NoSuchKey / NoSuchBucket as XML errors, NotFound for HEAD, and 204 for DeleteObject', async () => {
    await expect(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'missing' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
      message: 'The specified key does not exist.',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' }))).rejects.toMatchObject(
      {
        name: 'NoSuchBucket',
      },
    );
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'doomed', Body: 'x', Metadata: { origin: 'test' } }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'doomed' }));
    expect(head).toMatchObject({ ContentLength: 1, Metadata: { origin: 'test' } });
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'doomed' }));
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'doomed' }));
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'doomed' }))).rejects.toMatchObject({
      name: 'NotFound',
    });
  });

  it('serves byte ranges', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'ranged', Body: '0123456789' }));
    const part = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'ranged', Range: 'bytes=2-5' }));
    expect(part.ContentRange).toBe('bytes 2-5/10');
    expect(await part.Body!.transformToString()).toBe('2345');
    expect(await text('ranged', { Range: 'bytes=-3' })).toBe('789');
    await expect(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'ranged', Range: 'bytes=10-' })),
    ).rejects.toMatchObject({ name: 'InvalidRange' });
  });
});

describe('ListObjectsV2', () => {
  it('lists by prefix and delimiter, page by page, in key order', async () => {
    for (const key of ['list/b', 'list/a', 'list/dir/x', 'list/dir/y', 'list/c'])
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    const all = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/' }));
    expect(all.Contents?.map((c) => c.Key)).toEqual([
      'list/a',
      'list/b',
      'list/c',
      'list/dir/x',
      'list/dir/y',
    ]);
    expect(all.Contents?.[0]).toMatchObject({ Size: 6, StorageClass: 'STANDARD' });
    const grouped = await s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', Delimiter: '/' }),
    );
    expect(grouped.Contents?.map((c) => c.Key)).toEqual(['list/a', 'list/b', 'list/c']);
    expect(grouped.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['list/dir/']);
    const keys: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 10; page++) {
      const out = await s3.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', MaxKeys: 2, ContinuationToken: token }),
      );
      keys.push(...(out.Contents ?? []).map((c) => c.Key!));
      if (!out.IsTruncated) break;
      token = out.NextContinuationToken;
    }
    expect(keys).toEqual(['list/a', 'list/b', 'list/c', 'list/dir/x', 'list/dir/y']);
  });
});

describe('faults and framing', () => {
  it('answers S3 calls a fault switch covers with that error (e.g. 503 SlowDown), others pass', async () => {
    faults.set('s3', {
      status: 503,
      code: 'SlowDown',
      message: 'Please reduce your request rate.',
      operations: ['PutObject'],
    });
    try {
      await expect(
        s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'slow', Body: 'x' })),
      ).rejects.toMatchObject({
        name: 'SlowDown',
        message: 'Please reduce your request rate.',
        $metadata: { httpStatusCode: 503 },
      });
      await s3.send(new HeadBucketCommand({ Bucket: BUCKET }));
    } finally {
      faults.clear();
    }
  });

  it('decodes aws-chunked framing: chunk extensions, trailers, and refuses a truncated body', () => {
    const framed = Buffer.from(
      '5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n',
    );
    expect(decodeAwsChunked(framed)).toEqual({
      data: Buffer.from('hello world'),
      trailers: { 'x-amz-checksum-crc32': 'DUoRhQ==' },
    });
    expect(() => decodeAwsChunked(Buffer.from('a\r\nshort\r\n'))).toThrow(/aws-chunked/);
  });
});
