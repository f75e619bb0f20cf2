/**
 * One webhook, four kinds of target, through the local stack: an HTTP target (the recording server), an SQS queue,
 * a Lambda function (the local stand-in) with a JSONata transform, and another EventBridge bus — each receives the
 * event in its own form. A transform that fails fails the delivery at once, recorded with its reason.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../core/config';
import { listFailures } from '../../lambdas/shared/event-store';
import { signGithubWebhook } from '../../local/sample-webhook';
import { LOCAL_DIFFERENCES, localTopology } from '../../local/topology';
import { type E2E, MATCH_ALL, RECORDING_TARGET, startE2E, waitFor } from './support/harness';

const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:222222222222:orders';
const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:111111111111:function:triage';
const BUS_ARN = 'arn:aws:events:us-east-1:333333333333:event-bus/partner';

const config: RouterConfigInput = {
  sources: [{ name: 'github', provider: 'github', secret: { secretName: 'kinds/github' } }],
  targets: [
    RECORDING_TARGET,
    { name: 'orders', kind: 'sqs', queueArn: QUEUE_ARN, filter: MATCH_ALL },
    {
      name: 'triage',
      kind: 'lambda',
      functionArn: FUNCTION_ARN,
      filter: MATCH_ALL,
      transform: '{ "text": type & " in " & subject, "id": id }',
    },
    { name: 'partner', kind: 'eventbridge', eventBusArn: BUS_ARN, filter: MATCH_ALL },
    {
      name: 'broken',
      kind: 'lambda',
      functionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:broken',
      filter: MATCH_ALL,
      transform: '$error("this event cannot be shaped")',
      retry: { maxAttempts: 5 },
    },
  ],
  liveStream: { enabled: false },
};

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E(config, { secretEnv: { EVENT_ROUTER_SECRET_KINDS_GITHUB: 'kinds-secret' } });
});
afterAll(async () => {
  await e2e?.stop();
});

describe('target kinds through the local stack', () => {
  it('runs the planned topology for every kind, with only the documented differences', async () => {
    expect(await e2e.stack.describeTopology()).toEqual(
      localTopology(e2e.stack.topology, { retryDelays: LOCAL_DIFFERENCES.defaultRetryDelays }),
    );
  });

  it('hands one webhook to every kind of target, each in its own form', async () => {
    // Written out: JSON.stringify would already round the id.
    const body = '{"action":"opened","number":3,"id":9007199254740993,"repository":{"full_name":"o/r"}}';
    const response = await e2e.post('github', signGithubWebhook('kinds-secret', 'pull_request', body));
    expect(response.status).toBe(202);
    const id = response.json!.id!;

    // HTTP: the envelope, signed.
    const http = await e2e.waitForDelivery(id);
    expect(http.body).toContain('"id":9007199254740993');

    // SQS: the same text, in the local queue of the ARN's name, with the event id as an attribute.
    const queueUrl = `${e2e.stack.endpoints.sqs}/000000000000/orders`;
    const message = await waitFor('the SQS target message', async () => {
      const out = await e2e.stack.sqs.client.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
      );
      return out.Messages?.[0];
    });
    expect(message.Body).toBe(http.body);
    expect(message.MessageAttributes?.['webhook-id']?.StringValue).toBe(id);

    // Lambda: the transform's output.
    const payload = await waitFor('the Lambda target invoke', () => e2e.stack.receivedBy('triage')[0]);
    expect(JSON.parse(payload)).toEqual({ text: 'pull_request.opened in o/r', id });

    // EventBridge: the event as it is on the router's bus.
    const put = await waitFor('the event on the other bus', () => e2e.stack.receivedBy('partner')[0]);
    expect(JSON.parse(put)).toMatchObject({ source: 'webhook.github', 'detail-type': 'pull_request.opened' });
    expect(put).toContain('"id":9007199254740993');

    // A transform that fails: failed at once (no retries), recorded with its reason; nothing invoked.
    const failure = await waitFor('the failure of the broken transform', async () =>
      (await listFailures(e2e.doc, e2e.stack.tableName, 'broken')).find((f) => f.eventId === id),
    );
    expect(failure).toMatchObject({ attempts: 1, error: expect.stringMatching(/cannot be shaped/) });
    expect(e2e.stack.receivedBy('broken')).toEqual([]);
  });
});
