/**
 * The alarms, locally, end to end: a target that refuses every event drives its events into its DLQ, and the local
 * stack reports the condition its CloudWatch alarm would fire on (`ALARM dlq-depth <target> = 1`); forged webhooks
 * trip the signature alarm; `/metrics` shows the same counters in Prometheus' format. The functions' own log lines
 * of both carry every field the dashboard's Logs Insights queries read. Every wait is bounded.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../core/config';
import { FAILED_DELIVERY_COLUMNS, LOG_MESSAGE, REJECTED_WEBHOOK_GROUPS } from '../../core/logs';
import { samplePullRequestOpened } from '../../local/sample-webhook';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { waitFor } from '../local/helpers';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let target: Server;
let stack: LocalStack;
const alarmLines: string[] = [];
/** The functions' raw JSON log lines (as CloudWatch Logs would hold them), by function. */
const logLines: { fn: string; line: Record<string, unknown> }[] = [];
const linesOf = (fn: string, message: string) =>
  logLines.filter((l) => l.fn === fn && l.line.message === message).map((l) => l.line);
let refused = 0;
/** The id of the event the target refuses (the 202's). */
let acceptedId = '';

beforeAll(async () => {
  // The target refuses every event with 400: a delivery that fails at once, recorded and moved to the DLQ.
  target = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      refused++;
      res.writeHead(400).end('no');
    });
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const config: RouterConfigInput = {
    sources: [
      {
        name: 'github',
        provider: 'github',
        secret: { secretName: 'e2e/github' },
        // Two forged webhooks in 5 minutes are a spike here (the dev default is 20).
        alarms: { signatureFailures: 2 },
      },
    ],
    targets: [
      {
        name: 'broken',
        kind: 'http',
        url: `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`,
        allowInsecure: true,
        allowPrivateNetwork: true,
        filter: { source: ['webhook.github'] },
        concurrency: 2,
        timeoutSeconds: 5,
      },
    ],
    liveStream: { enabled: false },
  };
  stack = await startLocalStack({
    config,
    sweepIntervalSeconds: null,
    pollWaitSeconds: 1,
    functionLogs: (fn, line) => {
      try {
        logLines.push({ fn, line: JSON.parse(line) as Record<string, unknown> });
      } catch {
        // Not a JSON line: no Logs Insights field to read.
      }
    },
    log: () => {},
    alarmIntervalSeconds: 0.2,
    alarmLog: (line) => alarmLines.push(line),
    concurrency: { ingest: 1 },
  });
});

afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => target?.close(resolve));
});

const metricsText = async () => (await fetch(stack.metricsUrl)).text();

describe('alarm conditions reported by the local stack', () => {
  it('reports a target driven into its DLQ as ALARM dlq-depth, with the router composite', async () => {
    const response = await fetch(stack.webhookUrl('github'), {
      method: 'POST',
      ...samplePullRequestOpened(stack.secrets.source('github')),
    });
    expect(response.status).toBe(202);
    acceptedId = ((await response.json()) as { id: string }).id;
    await waitFor('the DLQ alarm line', () => alarmLines.includes('ALARM dlq-depth broken = 1'), 30_000);
    expect(alarmLines).toContain('ALARM router-unhealthy router = 1');
    expect(refused).toBe(1);
    expect(stack.alarms.state().get('dlq-depth/broken')).toBe('ALARM');
    // One refusal is not a failure ratio (fewer than 10 outcomes), and a 400 does not open the breaker.
    expect(
      alarmLines.filter((l) => l.includes('delivery-failure-ratio') || l.includes('target-paused')),
    ).toEqual([]);
  });

  it('logs the failure with every field of the "Recent failed deliveries" query', async () => {
    const fn = stack.topology.targets[0]!.function.name;
    await waitFor('the failed-delivery log line', () => linesOf(fn, LOG_MESSAGE.deliveryFailed).length > 0);
    const [line] = linesOf(fn, LOG_MESSAGE.deliveryFailed);
    for (const field of FAILED_DELIVERY_COLUMNS) expect(line, field).toHaveProperty(field);
    const [accepted] = linesOf('ingest', 'webhook accepted');
    expect(accepted?.deliveryId).toEqual(expect.any(String));
    expect(line).toMatchObject({
      target: 'broken',
      eventId: acceptedId,
      correlation_id: acceptedId,
      deliveryId: accepted?.deliveryId,
      status: 400,
      attempts: 1,
      reason: 'target answered 400',
    });
  });

  it('serves the same counters at /metrics: the DLQ depth, the failure, the accepted webhook, the invocations', async () => {
    const text = await metricsText();
    const dlq = stack.queues.broken!.dlqName;
    expect(text).toContain(`aws_sqs_approximate_number_of_messages_visible{queue_name="${dlq}"} 1\n`);
    expect(text).toContain('event_router_delivery_failed_total{service="delivery",target="broken"} 1\n');
    expect(text).toContain('event_router_webhook_accepted_total{service="ingest",source="github"} 1\n');
    expect(text).toMatch(/aws_lambda_invocations_total\{function_name="ingest"\} [1-9]/);
    expect(text).toMatch(/# TYPE aws_lambda_duration_seconds histogram\n/);
    // The functions' metric lines are counted, not logged: nothing of them reached the (dropped) log.
    expect(text).toContain('# TYPE event_router_delivery_failed_total counter\n');
  });

  it('reports forged webhooks of a source as ALARM signature-failures once they reach its threshold', async () => {
    const forged = () =>
      fetch(stack.webhookUrl('github'), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-hub-signature-256': 'sha256=00',
        },
        body: '{}',
      });
    expect((await forged()).status).toBe(401);
    expect((await forged()).status).toBe(401);
    await waitFor('the signature alarm line', () =>
      alarmLines.includes('ALARM signature-failures github = 2'),
    );
    expect(await metricsText()).toContain(
      'event_router_webhook_rejected_total{reason="invalid_signature",service="ingest",source="github"} 2\n',
    );
    // Two 4xx answers, no 5xx: the API alarms stay quiet.
    expect(alarmLines.some((l) => l.startsWith('ALARM ingest-'))).toBe(false);
    // Each refusal is logged with every field the "Rejected webhooks by reason" query counts by.
    await waitFor(
      'the rejection log lines',
      () => linesOf('ingest', LOG_MESSAGE.webhookRejected).length >= 2,
    );
    for (const line of linesOf('ingest', LOG_MESSAGE.webhookRejected)) {
      for (const field of REJECTED_WEBHOOK_GROUPS) expect(line, field).toHaveProperty(field);
      expect(line).toMatchObject({ source: 'github', statusCode: 401, reason: 'invalid_signature' });
    }
  });
});
