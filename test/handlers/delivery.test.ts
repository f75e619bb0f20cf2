import { createHash } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import { ulid } from 'ulid';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { type BusEvent, type Envelope, eventBridgeSource, keys } from '../../core/contracts';
import { planTarget, runtimeTarget } from '../../core/plan';
import type { RuntimeTarget } from '../../core/runtime-config';
import { type DeliveryDeps, DeliveryRun, RetryLater, ROUND_ATTRIBUTE } from '../../lambdas/delivery/deliver';
import { httpSenderWith, parseRetryAfter } from '../../lambdas/delivery/senders/http';
import { RESPONSE_EXCERPT_BYTES } from '../../lambdas/delivery/senders/types';
import {
  type DeliveryAttempt,
  getTargetState,
  listAttempts,
  listFailures,
  listTargetAttempts,
  recordAttempt,
} from '../../lambdas/shared/event-store';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { createTargetQueues, type LocalSqs, type QueuePair, startLocalSqs } from '../../local/services/sqs';
import exampleConfig from '../../router.config';
import { type LocalAws, startLocalAws } from '../support/aws-local';
import { type HttpTarget, startHttpTarget } from '../support/http-target';

// Standard Webhooks secret: whsec_ + base64 of 24 random bytes.
const SIGNING_SECRET = `whsec_${Buffer.from('0123456789abcdefghijklmn').toString('base64')}`;

let aws: LocalAws;
let sqs: LocalSqs;
let target: HttpTarget;
let queues: QueuePair;
let s3: S3Client;
let runtime: RuntimeTarget;
const BUCKET = 'delivery-test-payloads';

beforeAll(async () => {
  [aws, sqs, target] = await Promise.all([startLocalAws(), startLocalSqs(), startHttpTarget()]);
  const example = parseRouterConfig(exampleConfig).targets[0]!;
  if (example.kind !== 'http') throw new Error('the example target is an HTTP target');
  // The test target listens on 127.0.0.1 over http: allowed explicitly, as the SSRF guard requires.
  const config = {
    ...example,
    url: target.url,
    // Generous: on a loaded machine a 1 s timeout fires while the target is still reading a request, which then
    // arrives during a later test. The test of the timeout itself sets 1 s.
    timeoutSeconds: 10,
    allowInsecure: true,
    allowPrivateNetwork: true,
  };
  queues = await createTargetQueues(sqs.client, 'delivery-test', planTarget(config, 30));
  runtime = runtimeTarget(config, 30);
  s3 = new S3Client({
    endpoint: sqs.endpoint,
    region: LOCAL_REGION,
    credentials: localCredentials,
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  s3?.destroy();
  await Promise.all([aws.stop(), sqs.stop(), target.stop()]);
});

/** What a test saw the delivery do besides HTTP. */
/** A delivery that failed for good, as the observer heard it (the delivery function logs these fields). */
interface Failed {
  id: string;
  reason: string;
  status?: number;
  attempts: number;
}
let seen: { visibility: number[]; paused: string[]; problems: string[]; failed: Failed[]; gone: string[] };
beforeEach(async () => {
  seen = { visibility: [], paused: [], problems: [], failed: [], gone: [] };
  // Each test starts with a closed breaker: the failures of earlier tests must not open it for a later one (how soon
  // they add up depends on how fast the machine runs the file).
  await aws.doc.send(new DeleteCommand({ TableName: aws.tableName, Key: keys.target('pr-agent') }));
});

/** The real queue client, recording the visibility timeouts the delivery sets (its backoff). */
const recordingSqs = (): SQSClient =>
  ({
    send: (command: { input: { VisibilityTimeout?: number } }, options?: unknown) => {
      if (command instanceof ChangeMessageVisibilityCommand)
        seen.visibility.push(command.input.VisibilityTimeout!);
      return sqs.client.send(command as never, options as never);
    },
  }) as unknown as SQSClient;

function deps(
  over: Partial<DeliveryDeps> & {
    retry?: Partial<RuntimeTarget['config']['retry']>;
    timeoutSeconds?: number;
  } = {},
): DeliveryDeps {
  const { retry, timeoutSeconds, ...rest } = over;
  const targetRuntime = {
    ...runtime,
    config: {
      ...runtime.config,
      retry: { ...runtime.config.retry, ...retry },
      ...(timeoutSeconds ? { timeoutSeconds } : {}),
    },
  } as RuntimeTarget;
  if (targetRuntime.config.kind !== 'http') throw new Error('an HTTP target');
  return {
    target: targetRuntime,
    sender: httpSenderWith()(targetRuntime.config, {
      env: { SIGNING_SECRET_ID: 'signing-secret' },
      readSecrets: async () => [SIGNING_SECRET],
    }),
    doc: aws.doc,
    s3,
    sqs: recordingSqs(),
    tableName: aws.tableName,
    queueUrl: queues.queueUrl,
    deadLetterQueueUrl: queues.dlqUrl,
    now: Date.now,
    random: () => 0.5,
    pauseConsumption: async (reason) => void seen.paused.push(reason),
    observe: {
      attempted: () => {},
      gone: (id) => seen.gone.push(id),
      failed: (id, reason, detail) => seen.failed.push({ id, reason, ...detail }),
      problem: (what) => seen.problems.push(what),
    },
    ...rest,
  };
}

/** A run with the function's whole time ahead of it. */
const run = (d: DeliveryDeps = deps(), timeLeftMs = 30_000) =>
  new DeliveryRun(d, Date.now() + timeLeftMs, Date.now());

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

/** Puts a message on the real queue and receives it, as Lambda's poller would. */
async function receiveRecord(body: string, receiveCount?: number): Promise<SQSRecord> {
  const { MessageId } = await sqs.client.send(
    new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: body }),
  );
  // This test's message: an earlier test's message that came back after its backoff (sooner than this test runs, on
  // a loaded machine) is deleted, not handed to this test.
  let message: Message | undefined;
  for (let i = 0; i < 50 && !message; i++) {
    const out = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.queueUrl,
        MaxNumberOfMessages: 1,
        MessageSystemAttributeNames: ['All'],
        WaitTimeSeconds: 1,
      }),
    );
    const received = out.Messages?.[0];
    if (received?.MessageId === MessageId) message = received;
    else if (received)
      await sqs.client.send(
        new DeleteMessageCommand({ QueueUrl: queues.queueUrl, ReceiptHandle: received.ReceiptHandle }),
      );
  }
  if (!message) throw new Error('no message received');
  const attributes = message.Attributes as unknown as SQSRecord['attributes'];
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body!,
    attributes: receiveCount ? { ...attributes, ApproximateReceiveCount: String(receiveCount) } : attributes,
    messageAttributes: {},
    md5OfBody: message.MD5OfBody!,
    eventSource: 'aws:sqs',
    eventSourceARN: queues.queueArn,
    awsRegion: 'us-east-1',
  };
}
const recordOf = (detail: Envelope) => receiveRecord(busEventBody(detail));

/** Messages now on the DLQ (received and left invisible so that later tests do not see them). */
async function dlqMessages() {
  const out = await sqs.client.send(
    new ReceiveMessageCommand({
      QueueUrl: queues.dlqUrl,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
      WaitTimeSeconds: 0,
    }),
  );
  return out.Messages ?? [];
}

const attemptsOf = async (id: string) => listAttempts(aws.doc, aws.tableName, id);

describe('DeliveryRun.deliver (real HTTP target, local SQS, dynalite)', () => {
  it('POSTs the envelope signed per Standard Webhooks and logs the attempt with its answer', async () => {
    target.script({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'thanks' });
    const before = target.received.length;
    const detail = envelope();
    await run().deliver(await recordOf(detail));
    const request = target.received[before]!;
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-id']).toBe(detail.id);
    expect(
      new Webhook(SIGNING_SECRET).verify(request.body, request.headers as Record<string, string>),
    ).toEqual(detail);
    expect(await attemptsOf(detail.id)).toEqual([
      expect.objectContaining({
        target: 'pr-agent',
        round: '0',
        attempt: 1,
        outcome: 'delivered',
        status: 200,
        response: 'thanks',
      }),
    ]);
  });

  it('lists every attempt by target too, newest first (the delivery log by target)', async () => {
    target.script({ status: 200, headers: {} });
    const first = envelope();
    await run().deliver(await recordOf(first));
    target.script({ status: 503, headers: {} });
    const second = envelope();
    await expect(run().deliver(await recordOf(second))).rejects.toBeInstanceOf(RetryLater);
    const latest = await listTargetAttempts(aws.doc, aws.tableName, 'pr-agent', { limit: 2 });
    expect(latest).toEqual([
      expect.objectContaining({
        eventId: second.id,
        round: '0',
        attempt: 1,
        outcome: 'retrying',
        status: 503,
      }),
      expect.objectContaining({
        eventId: first.id,
        round: '0',
        attempt: 1,
        outcome: 'delivered',
        status: 200,
      }),
    ]);
    expect(latest[0]!.latencyMs).toBeGreaterThanOrEqual(0);
    const older = await listTargetAttempts(aws.doc, aws.tableName, 'pr-agent', {
      limit: 1,
      before: latest[0]!.at,
    });
    expect(older[0]?.eventId).not.toBe(second.id);
  });

  it('keeps at most 1 KB of what the target answered', async () => {
    target.script({ status: 500, headers: {}, body: 'x'.repeat(10_000) });
    const detail = envelope();
    await expect(run().deliver(await recordOf(detail))).rejects.toBeInstanceOf(RetryLater);
    const [attempt] = await attemptsOf(detail.id);
    expect(attempt?.response).toHaveLength(RESPONSE_EXCERPT_BYTES);
  });

  it('retries a 503, backing off at least as long as Retry-After asks', async () => {
    target.script({ status: 503, headers: { 'retry-after': '30' } });
    const detail = envelope();
    await expect(run().deliver(await recordOf(detail))).rejects.toThrow('target answered 503');
    expect(await attemptsOf(detail.id)).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'retrying', status: 503, error: 'target answered 503' }),
    ]);
    expect(seen.visibility).toEqual([30]);
  });

  it('backs off with full jitter on the policy curve', async () => {
    target.script(500);
    const detail = envelope();
    // The third attempt of the default exponential policy: 5 s × 2² = 20 s, drawn at 0.5 → 10 s.
    const d = deps();
    for (const attempt of [1, 2]) {
      await recordAttempt(
        aws.doc,
        aws.tableName,
        {
          eventId: detail.id,
          target: 'pr-agent',
          round: '0',
          attempt,
          at: new Date().toISOString(),
          outcome: 'retrying',
          latencyMs: 1,
        },
        Math.floor(Date.now() / 1000) + 3600,
      );
    }
    await expect(run(d).deliver(await receiveRecord(busEventBody(detail), 3))).rejects.toBeInstanceOf(
      RetryLater,
    );
    expect(seen.visibility).toEqual([10]);
    expect((await attemptsOf(detail.id)).map((a) => a.attempt)).toEqual([1, 2, 3]);
  });

  it('counts attempts in the delivery log, not receives: a message Lambda throttling returned keeps its attempts', async () => {
    target.script(204);
    const detail = envelope();
    // Received 7 times, attempted never (throttled): this is attempt 1 of 5, not a message for the DLQ.
    await run().deliver(await receiveRecord(busEventBody(detail), 7));
    expect(await attemptsOf(detail.id)).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'delivered' }),
    ]);
  });

  it('after the last attempt records the failure durably and moves the message to the DLQ itself', async () => {
    target.script(500);
    const detail = envelope();
    // maxAttempts 1: the first failure is the last.
    await run(deps({ retry: { maxAttempts: 1 } })).deliver(await recordOf(detail));
    expect(await attemptsOf(detail.id)).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'failed', status: 500 }),
    ]);
    const failures = await listFailures(aws.doc, aws.tableName, 'pr-agent');
    expect(failures.find((f) => f.eventId === detail.id)).toMatchObject({
      attempts: 1,
      status: 500,
      round: '0',
    });
    const dlq = (await dlqMessages()).find((m) => m.MessageAttributes?.eventId?.StringValue === detail.id);
    expect(dlq?.MessageAttributes).toMatchObject({
      target: { StringValue: 'pr-agent' },
      attempts: { StringValue: '1' },
      status: { StringValue: '500' },
    });
    expect(seen.failed).toEqual([{ id: detail.id, reason: 'target answered 500', status: 500, attempts: 1 }]);
  });

  it.each([
    ['a 404', 404],
    ['a 422', 422],
    ['a redirect (never followed)', 302],
  ])('fails %s at once, without another attempt', async (_name, status) => {
    target.script({ status, headers: status === 302 ? { location: 'http://127.0.0.1:1/elsewhere' } : {} });
    const detail = envelope();
    await run().deliver(await recordOf(detail));
    expect(await attemptsOf(detail.id)).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'failed', status }),
    ]);
    expect(seen.failed).toEqual([
      { id: detail.id, reason: `target answered ${status}`, status, attempts: 1 },
    ]);
  });

  it('retries a status the target lists in retryOn', async () => {
    target.script(404);
    const detail = envelope();
    await expect(
      run(deps({ retry: { retryOn: ['404'] } })).deliver(await recordOf(detail)),
    ).rejects.toBeInstanceOf(RetryLater);
    expect(await attemptsOf(detail.id)).toEqual([
      expect.objectContaining({ outcome: 'retrying', status: 404 }),
    ]);
  });

  it('pauses the target on 410 Gone: state gone, consumption stopped, the message and the rest of the batch wait', async () => {
    target.script(410);
    const before = target.received.length;
    const r = run();
    const first = envelope();
    await expect(r.deliver(await recordOf(first))).rejects.toThrow('410 Gone');
    await expect(r.deliver(await recordOf(envelope()))).rejects.toThrow('gone');
    expect(target.received.length).toBe(before + 1);
    expect(seen.paused).toHaveLength(1);
    expect(seen.gone).toEqual([first.id]);
    expect(await getTargetState(aws.doc, aws.tableName, 'pr-agent')).toMatchObject({ state: 'gone' });
    expect(await attemptsOf(first.id)).toEqual([expect.objectContaining({ outcome: 'gone', status: 410 })]);
  });

  it('reports a gone target that delivers again after a resume by hand, and each record and attempt with its event', async () => {
    target.script(410);
    await expect(run().deliver(await recordOf(envelope()))).rejects.toThrow('410 Gone');
    // Resumed by hand (its event source mapping enabled): the next delivery succeeds.
    target.script(200);
    const events: { received: string[]; attempted: [string, string][]; resumed: number } = {
      received: [],
      attempted: [],
      resumed: 0,
    };
    const d = deps();
    const observed = run({
      ...d,
      observe: {
        ...d.observe!,
        received: (e) => events.received.push(e.id),
        attempted: (attempt, e) => events.attempted.push([attempt.eventId, e.receivedAt]),
        resumed: () => events.resumed++,
      },
    });
    const next = envelope();
    await observed.deliver(await recordOf(next));
    expect(await getTargetState(aws.doc, aws.tableName, 'pr-agent')).toMatchObject({ state: 'active' });
    expect(events).toEqual({ received: [next.id], attempted: [[next.id, next.receivedAt]], resumed: 1 });
  });

  it('fails a message that is not an event at once, with its reason, and POSTs nothing', async () => {
    const before = target.received.length;
    const record = await receiveRecord('{"not":"an event"}');
    await run().deliver(record);
    expect(target.received.length).toBe(before);
    const failure = (await listFailures(aws.doc, aws.tableName, 'pr-agent')).find(
      (f) => f.eventId === `message:${record.messageId}`,
    );
    expect(failure?.error).toMatch(/no detail/);
    // No attempt, so no status: the failed-delivery log line says so.
    expect(seen.failed).toEqual([
      { id: `message:${record.messageId}`, reason: expect.stringMatching(/no detail/), attempts: 0 },
    ]);
  });

  it('retries when the target does not answer within the timeout', async () => {
    target.script('hang');
    const detail = envelope();
    await expect(run(deps({ timeoutSeconds: 1 })).deliver(await recordOf(detail))).rejects.toThrow(
      /no answer within 1 s/,
    );
    expect(await attemptsOf(detail.id)).toEqual([expect.objectContaining({ outcome: 'retrying' })]);
  });

  it('counts and reports a backoff that SQS refused instead of swallowing it', async () => {
    target.script(500);
    const refusing = {
      send: (command: unknown) =>
        command instanceof ChangeMessageVisibilityCommand
          ? Promise.reject(
              Object.assign(new Error('Total VisibilityTimeout for the message is beyond the limit'), {
                name: 'InvalidParameterValue',
              }),
            )
          : sqs.client.send(command as never),
    } as unknown as SQSClient;
    await expect(run(deps({ sqs: refusing })).deliver(await recordOf(envelope()))).rejects.toBeInstanceOf(
      RetryLater,
    );
    expect(seen.problems).toEqual(['backoff']);
  });

  it('never sends a delivered record again because writing its log entry failed', async () => {
    target.script(204);
    const failingLog = {
      // The stores send low-level commands: the key is a DynamoDB attribute value.
      send: (command: { input: { Item?: { pk?: { S?: string } } } }) =>
        String(command.input.Item?.pk?.S).startsWith('DELIVERY#')
          ? Promise.reject(Object.assign(new Error('down'), { name: 'InternalServerError' }))
          : aws.doc.send(command as never),
    } as never;
    await run(deps({ doc: failingLog })).deliver(await recordOf(envelope()));
    expect(seen.problems).toEqual(['log']);
  });

  it('leaves a record for later, unattempted, when the invocation has too little time left', async () => {
    target.script(204);
    const before = target.received.length;
    const detail = envelope();
    await expect(run(deps(), 3_000).deliver(await recordOf(detail))).rejects.toThrow(/not enough time/);
    expect(target.received.length).toBe(before);
    expect(await attemptsOf(detail.id)).toEqual([]);
  });

  it('finishes a failure whose move to the DLQ did not complete, without another attempt', async () => {
    target.script(204);
    const before = target.received.length;
    const detail = envelope();
    const attempt: DeliveryAttempt = {
      eventId: detail.id,
      target: 'pr-agent',
      round: '0',
      attempt: 1,
      at: new Date().toISOString(),
      outcome: 'failed',
      status: 404,
      latencyMs: 3,
    };
    await recordAttempt(aws.doc, aws.tableName, attempt, Math.floor(Date.now() / 1000) + 3600);
    await run().deliver(await receiveRecord(busEventBody(detail), 2));
    expect(target.received.length).toBe(before);
    expect(
      (await listFailures(aws.doc, aws.tableName, 'pr-agent')).some((f) => f.eventId === detail.id),
    ).toBe(true);
  });

  it('numbers the attempts of two copies of one message delivered at once (SQS is at-least-once)', async () => {
    target.script(500);
    const detail = envelope();
    const [a, b] = [await recordOf(detail), await recordOf(detail)];
    const r = run();
    await Promise.allSettled([r.deliver(a), r.deliver(b)]);
    expect((await attemptsOf(detail.id)).map((x) => x.attempt).sort()).toEqual([1, 2]);
  });

  it('restarts attempts at 1 for a redelivery round', async () => {
    target.script(204);
    const detail = envelope();
    await run().deliver(await recordOf(detail));
    const record = await recordOf(detail);
    await run().deliver({
      ...record,
      attributes: { ...record.attributes, ApproximateReceiveCount: '1' },
      messageAttributes: {
        [ROUND_ATTRIBUTE]: {
          stringValue: 'r1',
          dataType: 'String',
          stringListValues: [],
          binaryListValues: [],
        },
      },
    });
    expect((await attemptsOf(detail.id)).map((a) => `${a.round}#${a.attempt}`).sort()).toEqual([
      '0#1',
      'r1#1',
    ]);
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
    await run().deliver(await receiveRecord(body));
    const request = target.received[before]!;
    expect(request.body).toBe(detailJson);
    expect(
      new Webhook(SIGNING_SECRET).verify(request.body, request.headers as Record<string, string>),
    ).toEqual(JSON.parse(detailJson));
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
    await run().deliver(await recordOf(pointed));
    const request = target.received[before]!;
    expect(request.body).toBe(`${JSON.stringify(rest).slice(0, -1)},"data":${payload.toString('utf8')}}`);
    expect(request.headers['webhook-id']).toBe(rest.id);
  });

  it('fails for good, POSTing nothing, a payload whose S3 object does not match its dataRef', async () => {
    const before = target.received.length;
    const { data: _data, ...rest } = envelope();
    const key = `payloads/github/${rest.id}`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from('{"tampered":true}') }));
    const pointed: Envelope = {
      ...rest,
      dataRef: { bucket: BUCKET, key, bytes: 17, sha256: '0'.repeat(64) },
    };
    await run().deliver(await recordOf(pointed));
    expect(target.received.length).toBe(before);
    expect(await attemptsOf(rest.id)).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        error: expect.stringMatching(/does not match its dataRef/),
      }),
    ]);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-23T12:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
