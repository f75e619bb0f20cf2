/**
 * Each target kind's sender against the local services: what the target receives, and how each failure decides the
 * attempt (delivered, retry, or fail at once).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetConfigOf } from '../../core/config';
import { ENV, type Envelope } from '../../core/contracts';
import { retryableAwsError } from '../../lambdas/delivery/senders/aws-errors';
import { eventBridgeSender } from '../../lambdas/delivery/senders/eventbridge';
import { httpSenderWith } from '../../lambdas/delivery/senders/http';
import { lambdaSender } from '../../lambdas/delivery/senders/lambda';
import { sqsSender } from '../../lambdas/delivery/senders/sqs';
import { FaultSwitch } from '../../local/faults';
import { localCredentials } from '../../local/services/aws-env';
import { type LocalEventBridge, startLocalEventBridge } from '../../local/services/eventbridge';
import { type LocalLambdaApi, startLocalLambdaApi } from '../../local/services/lambda-api';
import { type LocalSqs, startLocalSqs } from '../../local/services/sqs';
import { httpTarget } from '../local/helpers';

const BUS_ARN = 'arn:aws:events:us-east-1:333333333333:event-bus/partner';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:111111111111:function:triage';
const FAILING_ARN = 'arn:aws:lambda:us-east-1:111111111111:function:broken';

let sqs: LocalSqs;
let lambdaApi: LocalLambdaApi;
let bus: LocalEventBridge;
const faults = new FaultSwitch();
const invoked: string[] = [];

beforeAll(async () => {
  [sqs, lambdaApi, bus] = await Promise.all([
    startLocalSqs(),
    startLocalLambdaApi(),
    startLocalEventBridge({ busName: 'router', rules: [], externalBuses: [BUS_ARN], faults }),
  ]);
  lambdaApi.registerFunction(FUNCTION_ARN, async (payload) => {
    invoked.push(payload.toString('utf8'));
    return { payload: '{"triaged":true}' };
  });
  lambdaApi.registerFunction(FAILING_ARN, async () => ({
    payload: '{"errorType":"Error","errorMessage":"boom"}',
    functionError: 'Unhandled',
  }));
  // The senders build their clients from the environment, as in Lambda.
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: lambdaApi.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
  });
});
afterAll(async () => {
  await Promise.all([sqs.stop(), lambdaApi.stop(), bus.stop()]);
});

const envelope: Envelope = {
  id: '01JDH8ZQ2K0000000000000001',
  source: 'github',
  provider: 'github',
  type: 'pull_request.opened',
  deliveryId: 'd-1',
  providerTime: null,
  receivedAt: '2026-12-01T12:00:00.000Z',
  subject: 'octo/repo',
  headers: {},
  data: { id: 1 },
};
// The body as it travels, with an integer beyond 2^53 that must keep its digits.
const body = JSON.stringify(envelope).replace('{"id":1}', '{"id":9007199254740993}');
const request = (text = body) => ({ envelope, body: text, timeoutMs: 5_000, now: Date.now });
const common = { filter: { source: ['webhook.github'] }, retry: {} };

const sqsTarget = (queueArn: string) =>
  ({
    ...common,
    name: 'q',
    kind: 'sqs',
    queueArn,
    batchSize: 10,
    concurrency: 2,
    timeoutSeconds: 5,
  }) as never as TargetConfigOf<'sqs'>;

describe('SQS target', () => {
  it('sends the body as it is, with the event id, source and type as attributes', async () => {
    const { QueueUrl } = await sqs.client.send(new CreateQueueCommand({ QueueName: 'orders' }));
    const sender = sqsSender(sqsTarget('arn:aws:sqs:us-east-1:222222222222:orders'), {
      env: { [ENV.targetQueueUrl]: QueueUrl },
    });
    expect(await sender.send(request())).toMatchObject({ ok: true });
    const { Messages } = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    expect(Messages?.[0]?.Body).toBe(body);
    expect(Messages?.[0]?.Body).toContain('9007199254740993');
    expect(Messages?.[0]?.MessageAttributes).toMatchObject({
      'webhook-id': { StringValue: envelope.id },
      source: { StringValue: 'github' },
      type: { StringValue: 'pull_request.opened' },
    });
  });

  it('groups a FIFO queue by subject and deduplicates by event id (a retried send is not a copy)', async () => {
    const { QueueUrl } = await sqs.client.send(
      new CreateQueueCommand({ QueueName: 'orders.fifo', Attributes: { FifoQueue: 'true' } }),
    );
    const sender = sqsSender(sqsTarget('arn:aws:sqs:us-east-1:222222222222:orders.fifo'), {
      env: { [ENV.targetQueueUrl]: QueueUrl },
    });
    expect(await sender.send(request())).toMatchObject({ ok: true });
    expect(await sender.send(request())).toMatchObject({ ok: true });
    const { Messages } = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['MessageGroupId'],
      }),
    );
    expect(Messages).toHaveLength(1);
    expect(Messages?.[0]?.Attributes?.MessageGroupId).toBe('octo/repo');
  });

  it('fails at once a message SQS cannot take, and retries a queue that is not there (yet)', async () => {
    const { QueueUrl } = await sqs.client.send(new CreateQueueCommand({ QueueName: 'big' }));
    const sender = sqsSender(sqsTarget('arn:aws:sqs:us-east-1:222222222222:big'), {
      env: { [ENV.targetQueueUrl]: QueueUrl },
    });
    const huge = await sender.send(request(`"${'x'.repeat(1024 * 1024)}"`));
    expect(huge).toMatchObject({
      ok: false,
      retryable: false,
      error: expect.stringMatching(/at most 1 MiB/),
    });
    const missing = sqsSender(sqsTarget('arn:aws:sqs:us-east-1:222222222222:nope'), {
      env: { [ENV.targetQueueUrl]: `${sqs.endpoint}/000000000000/nope` },
    });
    expect(await missing.send(request())).toMatchObject({
      ok: false,
      retryable: true,
      error: expect.stringMatching(/QueueDoesNotExist|NonExistentQueue/),
    });
  });
});

const lambdaTarget = (functionArn: string, invocationType: 'RequestResponse' | 'Event' = 'RequestResponse') =>
  ({
    ...common,
    name: 'fn',
    kind: 'lambda',
    functionArn,
    invocationType,
    batchSize: 10,
    concurrency: 2,
    timeoutSeconds: 5,
  }) as never as TargetConfigOf<'lambda'>;

describe('Lambda target', () => {
  it('invokes the function with the body and keeps the start of its answer', async () => {
    const result = await lambdaSender(lambdaTarget(FUNCTION_ARN), { env: {} }).send(request());
    expect(result).toMatchObject({ ok: true, status: 200, response: '{"triaged":true}' });
    expect(invoked.at(-1)).toBe(body);
  });

  it("retries a function error, with the function's error in the log", async () => {
    const result = await lambdaSender(lambdaTarget(FAILING_ARN), { env: {} }).send(request());
    expect(result).toMatchObject({
      ok: false,
      retryable: true,
      error: 'the function failed (Unhandled)',
      response: expect.stringContaining('boom'),
    });
  });

  it('is delivered once Lambda queued an asynchronous invoke', async () => {
    const before = invoked.length;
    const result = await lambdaSender(lambdaTarget(FUNCTION_ARN, 'Event'), { env: {} }).send(request());
    expect(result).toMatchObject({ ok: true, status: 202 });
    expect(invoked.length).toBe(before + 1);
  });

  it('retries a function that does not exist (a resource policy or deploy away), and fails a payload too big', async () => {
    const missing = await lambdaSender(lambdaTarget(`${FUNCTION_ARN}-gone`), { env: {} }).send(request());
    expect(missing).toMatchObject({
      ok: false,
      retryable: true,
      error: expect.stringMatching(/ResourceNotFound/),
    });
    const huge = await lambdaSender(lambdaTarget(FUNCTION_ARN, 'Event'), { env: {} }).send(
      request(`"${'x'.repeat(1024 * 1024 + 1)}"`),
    );
    expect(huge).toMatchObject({ ok: false, retryable: false });
  });
});

const busTarget = {
  ...common,
  name: 'bus',
  kind: 'eventbridge',
  eventBusArn: BUS_ARN,
  batchSize: 10,
  concurrency: 2,
  timeoutSeconds: 5,
} as never as TargetConfigOf<'eventbridge'>;

describe('EventBridge target', () => {
  it('puts the event on the other bus as it is on this one: webhook.<source>, the type, the envelope', async () => {
    const result = await eventBridgeSender(busTarget, { env: {} }).send(request());
    expect(result).toMatchObject({ ok: true, response: expect.stringMatching(/^EventId /) });
    const [put] = bus.externalEvents(BUS_ARN);
    expect(put).toMatchObject({ source: 'webhook.github', 'detail-type': 'pull_request.opened' });
  });

  it('fails at once an entry the bus refuses for good, and retries throttling', async () => {
    faults.set('eventbridge', { status: 200, code: 'MalformedDetail', message: 'Detail is malformed.' });
    try {
      expect(await eventBridgeSender(busTarget, { env: {} }).send(request())).toMatchObject({
        ok: false,
        retryable: false,
        error: expect.stringMatching(/^MalformedDetail/),
      });
      faults.set('eventbridge', { status: 400, code: 'ThrottlingException', message: 'Rate exceeded' });
      expect(await eventBridgeSender(busTarget, { env: {} }).send(request())).toMatchObject({
        ok: false,
        retryable: true,
      });
    } finally {
      faults.clear('eventbridge');
    }
  });
});

describe('HTTP target', () => {
  let server: Server;
  let hits = 0;
  const seen: IncomingHttpHeaders[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      seen.push(req.headers);
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const url = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const context = {
    env: { [ENV.signingSecret]: 's' },
    readSecrets: async () => ['whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u'],
  };

  it('refuses an address that is not public before sending anything, and never retries it', async () => {
    const target = { ...httpTarget({ name: 'h', url: url() }), allowPrivateNetwork: false };
    const result = await httpSenderWith()(target, context).send(request());
    expect(result).toMatchObject({
      ok: false,
      retryable: false,
      error: expect.stringMatching(/^refused: .*127\.0\.0\.1/),
    });
    expect(hits).toBe(0);
  });

  it('delivers to it when the target allows private networks, with its extra headers', async () => {
    const target = httpTarget({ name: 'h', url: url(), headers: { 'X-Team': 'payments' } });
    expect(await httpSenderWith()(target, context).send(request())).toMatchObject({ ok: true, status: 200 });
    expect(hits).toBe(1);
    expect(seen[0]).toMatchObject({ 'x-team': 'payments' });
  });

  it("sends the event's correlation: its id, and the provider's delivery id when there is one", async () => {
    const target = httpTarget({ name: 'h', url: url() });
    const send = httpSenderWith()(target, context);
    await send.send(request());
    expect(seen.at(-1)).toMatchObject({
      'x-event-router-id': envelope.id,
      'webhook-id': envelope.id,
      'x-event-router-delivery-id': 'd-1',
    });
    await send.send({ ...request(), envelope: { ...envelope, deliveryId: null } });
    expect(seen.at(-1)?.['x-event-router-id']).toBe(envelope.id);
    expect(seen.at(-1)).not.toHaveProperty('x-event-router-delivery-id');
  });
});

describe('AWS errors', () => {
  it('fail at once only when the request itself is wrong', () => {
    expect(retryableAwsError({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })).toBe(true);
    expect(retryableAwsError({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(retryableAwsError({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } })).toBe(
      true,
    );
    expect(retryableAwsError(new Error('socket hang up'))).toBe(true);
    expect(retryableAwsError({ name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } })).toBe(
      false,
    );
    expect(
      retryableAwsError({ name: 'RequestEntityTooLargeException', $metadata: { httpStatusCode: 413 } }),
    ).toBe(false);
  });
});
