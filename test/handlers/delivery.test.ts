import { createHash } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { type BusEvent, type Envelope, eventBridgeSource } from '../../core/contracts';
import { planTarget } from '../../core/plan';
import { toRuntimeTarget } from '../../core/runtime-config';
import {
  type DeliveryDeps,
  DeliveryError,
  deliverRecord,
  parseRetryAfter,
} from '../../lambdas/delivery/deliver';
import { listDeliveryAttempts } from '../../lambdas/shared/event-store';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { createTargetQueues, type LocalSqs, startLocalSqs } from '../../local/services/sqs';
import exampleConfig from '../../router.config';
import { type LocalAws, startLocalAws } from '../support/aws-local';
import { type HttpTarget, startHttpTarget } from '../support/http-target';

// Standard Webhooks secret: whsec_ + base64 of 24 random bytes.
const SIGNING_SECRET = `whsec_${Buffer.from('0123456789abcdefghijklmn').toString('base64')}`;

let aws: LocalAws;
let sqs: LocalSqs;
let target: HttpTarget;
let queueUrl: string;
let deps: DeliveryDeps;
let s3: S3Client;
const BUCKET = 'delivery-test-payloads';

beforeAll(async () => {
  [aws, sqs, target] = await Promise.all([startLocalAws(), startLocalSqs(), startHttpTarget()]);
  const config = parseRouterConfig(exampleConfig).targets[0]!;
  const plan = planTarget({ ...config, url: target.url, timeoutSeconds: 1 });
  queueUrl = (await createTargetQueues(sqs.client, 'delivery-test', plan)).queueUrl;
  // The local SQS emulator serves S3 on the same endpoint.
  s3 = new S3Client({
    endpoint: sqs.endpoint,
    region: LOCAL_REGION,
    credentials: localCredentials,
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  deps = {
    target: toRuntimeTarget(plan, 'signing-secret'),
    readSecrets: async () => [SIGNING_SECRET],
    doc: aws.doc,
    s3,
    sqs: sqs.client,
    tableName: aws.tableName,
    queueUrl,
    fetch: globalThis.fetch,
    now: Date.now,
  };
});
afterAll(async () => {
  s3?.destroy();
  await Promise.all([aws.stop(), sqs.stop(), target.stop()]);
});

let n = 0;
function envelope(): Envelope {
  n++;
  return {
    id: ulid(),
    source: 'github',
    provider: 'github',
    type: 'pull_request.opened',
    deliveryId: `d-${n}`,
    providerTime: null,
    receivedAt: new Date().toISOString(),
    subject: 'octo/repo',
    headers: {},
    data: { action: 'opened', n },
  };
}

/** The SQS message body EventBridge writes for an envelope; `detailJson` replaces the detail's text verbatim. */
function busEventBody(detail: Envelope, detailJson?: string): string {
  const event: BusEvent = {
    version: '0',
    id: 'bus-1',
    'detail-type': detail.type,
    source: eventBridgeSource(detail.source),
    account: '000000000000',
    time: detail.receivedAt,
    region: 'us-east-1',
    resources: [],
    detail,
  };
  if (detailJson === undefined) return JSON.stringify(event);
  const { detail: _parsed, ...rest } = event;
  return `${JSON.stringify(rest).slice(0, -1)},"detail":${detailJson}}`;
}

/** Puts the bus event on the real queue and receives it, as Lambda's poller would. */
async function receiveRecord(detail: Envelope, body = busEventBody(detail)): Promise<SQSRecord> {
  await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  const out = await sqs.client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 1,
      MessageSystemAttributeNames: ['All'],
      WaitTimeSeconds: 1,
    }),
  );
  const message = out.Messages?.[0];
  if (!message) throw new Error('no message received');
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body!,
    attributes: message.Attributes as unknown as SQSRecord['attributes'],
    messageAttributes: {},
    md5OfBody: message.MD5OfBody!,
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:delivery-test-pr-agent',
    awsRegion: 'us-east-1',
  };
}

describe('deliverRecord (real HTTP target, local SQS/S3, dynalite)', () => {
  it('POSTs the envelope signed per Standard Webhooks, verifiable with the standardwebhooks library', async () => {
    target.script(204);
    const before = target.received.length;
    const detail = envelope();
    await deliverRecord(await receiveRecord(detail), deps);
    const request = target.received[before]!;
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-id']).toBe(detail.id);
    const verified = new Webhook(SIGNING_SECRET).verify(
      request.body,
      request.headers as Record<string, string>,
    );
    expect(verified).toEqual(detail);
    const log = await listDeliveryAttempts(aws.doc, aws.tableName, detail.id);
    expect(log).toEqual([expect.objectContaining({ target: 'pr-agent', ok: true, status: 204, attempt: 1 })]);
  });

  it('fails on a non-2xx answer, logs it, and backs off by Retry-After (message invisible meanwhile)', async () => {
    target.script({ status: 503, headers: { 'retry-after': '30' } });
    const detail = envelope();
    const record = await receiveRecord(detail);
    await expect(deliverRecord(record, deps)).rejects.toMatchObject({
      name: 'DeliveryError',
      message: 'target answered 503',
      status: 503,
      retryAfterSeconds: 30,
    });
    const log = await listDeliveryAttempts(aws.doc, aws.tableName, detail.id);
    expect(log).toEqual([expect.objectContaining({ ok: false, status: 503, error: 'target answered 503' })]);
    const again = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }),
    );
    expect(again.Messages ?? []).toHaveLength(0);
  });

  it('sets the visibility to the backoff delay: zero delay makes the message visible again at once', async () => {
    target.script(500);
    const zeroBackoff: DeliveryDeps = {
      ...deps,
      target: {
        ...deps.target,
        config: {
          ...deps.target.config,
          retry: { maxAttempts: 5, initialDelaySeconds: 0, maxDelaySeconds: 1 },
        },
      },
    };
    const record = await receiveRecord(envelope());
    await expect(deliverRecord(record, zeroBackoff)).rejects.toThrow(/answered 500/);
    const again = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    expect(again.Messages?.[0]?.MessageId).toBe(record.messageId);
    expect(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('does not back off after the last attempt: the message returns at once, on its way to the DLQ', async () => {
    target.script(500);
    const lastAttempt: DeliveryDeps = {
      ...deps,
      target: {
        ...deps.target,
        config: {
          ...deps.target.config,
          retry: { maxAttempts: 1, initialDelaySeconds: 600, maxDelaySeconds: 600 },
        },
      },
    };
    const record = await receiveRecord(envelope());
    await expect(deliverRecord(record, lastAttempt)).rejects.toThrow(/answered 500/);
    const again = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }),
    );
    expect(again.Messages?.[0]?.MessageId).toBe(record.messageId);
  });

  it('fails when the target does not answer within the timeout', async () => {
    target.script('hang');
    await expect(deliverRecord(await receiveRecord(envelope()), deps)).rejects.toThrow(
      /no answer within 1 s/,
    );
  });

  it('fails on a redirect instead of following it', async () => {
    target.script({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
    await expect(deliverRecord(await receiveRecord(envelope()), deps)).rejects.toThrow(/answered 302/);
  });

  it('POSTs the raw detail text byte for byte (integers beyond 2^53, number spellings, escapes) and signs those bytes', async () => {
    target.script(204);
    const before = target.received.length;
    const detail = envelope();
    const { data: _data, ...rest } = detail;
    // Text JSON.stringify would never write: big integers, 1.0, an escaped key and a "detail" key inside data.
    const detailJson = `${JSON.stringify(rest).slice(0, -1)},"data":{"big":123456789012345678901234567890,"id":9007199254740993,"f":1.0,"\\u00e9":"\\u00e9","detail":{"x":1}}}`;
    // The bus event around it: a "detail" inside a string before the real key must not fool the scanner.
    const body = busEventBody(detail, detailJson).replace(
      '"resources":[]',
      '"resources":["\\"detail\\":{}"]',
    );
    await deliverRecord(await receiveRecord(detail, body), deps);
    const request = target.received[before]!;
    expect(request.body).toBe(detailJson);
    const verified = new Webhook(SIGNING_SECRET).verify(
      request.body,
      request.headers as Record<string, string>,
    );
    expect(verified).toEqual(JSON.parse(detailJson));
  });

  it('resolves dataRef from S3: the envelope without dataRef plus "data":<the object text verbatim>', async () => {
    target.script(204);
    const before = target.received.length;
    const { data: _data, ...rest } = envelope();
    const payload = Buffer.from('{ "big_id" : 123456789012345678901234567890, "body":"é\\u00e9", "n":1.50 }');
    const key = `payloads/github/${rest.id}`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: payload }));
    const pointed: Envelope = {
      ...rest,
      dataRef: {
        bucket: BUCKET,
        key,
        bytes: payload.length,
        sha256: createHash('sha256').update(payload).digest('hex'),
      },
    };
    await deliverRecord(await receiveRecord(pointed), deps);
    const request = target.received[before]!;
    expect(request.body).toBe(`${JSON.stringify(rest).slice(0, -1)},"data":${payload.toString('utf8')}}`);
    const verified = new Webhook(SIGNING_SECRET).verify(
      request.body,
      request.headers as Record<string, string>,
    );
    expect(verified).not.toHaveProperty('dataRef');
    expect(request.headers['webhook-id']).toBe(rest.id);
  });

  it('refuses a payload whose S3 object does not match its dataRef (nothing is POSTed)', async () => {
    target.script(204);
    const before = target.received.length;
    const { data: _data, ...rest } = envelope();
    const key = `payloads/github/${rest.id}`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from('{"tampered":true}') }));
    const pointed: Envelope = {
      ...rest,
      dataRef: { bucket: BUCKET, key, bytes: 17, sha256: '0'.repeat(64) },
    };
    const failure = await deliverRecord(await receiveRecord(pointed), deps).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DeliveryError);
    expect((failure as Error).message).toMatch(/does not match its dataRef/);
    expect(target.received.length).toBe(before);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-23T12:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
