import { createHmac } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { EnvelopeSchema } from '../../core/contracts';
import { planTopology } from '../../core/plan';
import { toRuntimeSources } from '../../core/runtime-config';
import { type IngestDeps, type IngestRequest, ingestWebhook } from '../../lambdas/ingest/ingest';
import { getStoredEvent } from '../../lambdas/shared/event-store';
import { sweepUnpublished } from '../../lambdas/sweeper/sweeper';
import exampleConfig from '../../router.config';
import { type LocalAws, startLocalAws } from '../support/aws-local';

const SECRET = "It's a Secret to Everybody";
const sources = toRuntimeSources(planTopology(parseRouterConfig(exampleConfig)).sources);

let aws: LocalAws;
let deps: IngestDeps;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => aws.stop());

let clock = Date.parse('2026-11-23T12:00:00Z');
beforeEach(() => {
  clock += 3_600_000;
  deps = {
    sources: new Map(sources.map((s) => [s.name, s])),
    readSecrets: async () => [SECRET],
    doc: aws.doc,
    eventBridge: aws.eventBridge,
    s3: new S3Client({ region: 'us-east-1' }),
    tableName: aws.tableName,
    busName: aws.busName,
    payloadBucket: 'payloads',
    retentionDays: 30,
    now: () => clock,
  };
});

let deliveries = 0;
function githubRequest(body: object | string, overrides: Partial<IngestRequest> = {}): IngestRequest {
  const raw = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const signature = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
  return {
    method: 'POST',
    sourceName: 'github',
    url: 'https://example.test/webhooks/github',
    query: {},
    body: raw,
    ...overrides,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'pull_request',
      'x-github-delivery': `delivery-${++deliveries}`,
      'x-hub-signature-256': signature,
      ...overrides.headers,
    },
  };
}

const pr = { action: 'opened', number: 7, repository: { full_name: 'octo/repo' } };
const countItems = async () =>
  ((await aws.doc.send(new ScanCommand({ TableName: aws.tableName }))).Items ?? []).filter((i) =>
    String(i.pk).startsWith('EVENT#'),
  ).length;

describe('ingestWebhook (dynalite + local EventBridge)', () => {
  it('stores, publishes and answers 202 with the event id for a signed GitHub webhook', async () => {
    const before = aws.published.length;
    const request = githubRequest(pr);
    const response = await ingestWebhook(request, deps);
    expect(response.statusCode).toBe(202);
    const { id } = JSON.parse(response.body);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);

    const stored = await getStoredEvent(aws.doc, aws.tableName, {
      pk: `EVENT#github#${request.headers['x-github-delivery']}`,
      sk: 'EVENT',
    });
    expect(stored?.published).toBe(true);
    const envelope = EnvelopeSchema.parse(stored?.envelope);
    expect(envelope).toMatchObject({
      id,
      source: 'github',
      provider: 'github',
      type: 'pull_request.opened',
      subject: 'octo/repo',
      data: pr,
    });
    expect(envelope.headers['x-hub-signature-256']).toBeUndefined();

    await aws.bus.drain();
    const event = aws.published.slice(before).find((e) => (e.detail as { id: string }).id === id);
    expect(event).toMatchObject({ source: 'webhook.github', 'detail-type': 'pull_request.opened' });
  });

  it('answers 401 to a bad signature and stores nothing', async () => {
    const before = await countItems();
    const request = githubRequest(pr, { headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` } });
    const response = await ingestWebhook(request, deps);
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body).error).toBe('invalid_signature');
    expect(await countItems()).toBe(before);
  });

  it('dedupes on the delivery id: one event, the same id, a duplicate flag', async () => {
    const request = githubRequest(pr);
    const first = JSON.parse((await ingestWebhook(request, deps)).body);
    const itemsAfterFirst = await countItems();
    await aws.bus.drain();
    const publishedAfterFirst = aws.published.length;
    const second = await ingestWebhook(request, deps);
    expect(second.statusCode).toBe(202);
    expect(JSON.parse(second.body)).toEqual({ id: first.id, duplicate: true });
    await aws.bus.drain();
    expect(await countItems()).toBe(itemsAfterFirst);
    expect(aws.published.length).toBe(publishedAfterFirst);
  });

  it.each([
    ['unknown source', { sourceName: 'gitlab' }, 404, 'unknown_source'],
    ['wrong method', { method: 'GET' }, 405, 'method_not_allowed'],
    ['body over the source limit', { body: Buffer.alloc(4 * 1024 * 1024 + 1, 32) }, 413, 'payload_too_large'],
  ])('answers %s with %i and stores nothing', async (_name, override, status, error) => {
    const before = await countItems();
    const response = await ingestWebhook(githubRequest(pr, override as Partial<IngestRequest>), deps);
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body).error).toBe(error);
    expect(await countItems()).toBe(before);
  });

  it.each([
    ['not JSON', 'not json', 'application/json', 400, 'invalid_json'],
    ['a byte order mark', '\ufeff{}', 'application/json', 400, 'byte_order_mark'],
    ['too deep', `${'['.repeat(100)}${']'.repeat(100)}`, 'application/json', 400, 'json_too_deep'],
    ['a wrong content type', '{}', 'text/plain', 415, 'unsupported_media_type'],
  ])('answers a validly signed body that is %s with %i', async (_n, body, contentType, status, error) => {
    const before = await countItems();
    const response = await ingestWebhook(
      githubRequest(body, { headers: { 'content-type': contentType } }),
      deps,
    );
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body).error).toBe(error);
    expect(await countItems()).toBe(before);
  });

  it('answers 503 and publishes nothing when storage fails (never 2xx before the durable write)', async () => {
    const before = aws.published.length;
    const response = await ingestWebhook(githubRequest(pr), { ...deps, tableName: 'no-such-table' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    await aws.bus.drain();
    expect(aws.published.length).toBe(before);
  });

  it('answers 503 when the secret cannot be read, without leaking why', async () => {
    const response = await ingestWebhook(githubRequest(pr), {
      ...deps,
      readSecrets: async () => {
        throw new Error('AccessDenied for arn:aws:secretsmanager:…:secret:top');
      },
    });
    expect(response.statusCode).toBe(503);
    expect(response.body).not.toContain('arn:');
  });

  it('keeps an event whose PutEvents failed; a redelivery or the sweeper publishes it', async () => {
    const failing = {
      send: async () => ({
        FailedEntryCount: 1,
        Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }],
      }),
    };
    const request = githubRequest(pr);
    const key = { pk: `EVENT#github#${request.headers['x-github-delivery']}`, sk: 'EVENT' };
    const response = await ingestWebhook(request, { ...deps, eventBridge: failing as never });
    expect(response.statusCode).toBe(202);
    expect((await getStoredEvent(aws.doc, aws.tableName, key))?.published).toBe(false);

    // The provider redelivers: the duplicate is not ignored, it re-attempts the publish.
    const before = aws.published.length;
    const again = await ingestWebhook(request, deps);
    expect(JSON.parse(again.body).duplicate).toBe(true);
    expect((await getStoredEvent(aws.doc, aws.tableName, key))?.published).toBe(true);
    await aws.bus.drain();
    expect(aws.published.length).toBe(before + 1);

    // Without a redelivery, the sweeper republishes once the grace period has passed.
    const lost = githubRequest(pr);
    await ingestWebhook(lost, { ...deps, eventBridge: failing as never });
    const lostKey = { pk: `EVENT#github#${lost.headers['x-github-delivery']}`, sk: 'EVENT' };
    const sweep = (now: number) =>
      sweepUnpublished({
        doc: aws.doc,
        eventBridge: aws.eventBridge,
        tableName: aws.tableName,
        busName: aws.busName,
        poisonAfter: 3,
        now: () => now,
        graceMs: 60_000,
        limit: 100,
      });
    expect(await sweep(clock + 1_000)).toEqual({ republished: 0, failed: 0, poisoned: 0 });
    expect((await sweep(clock + 120_000)).republished).toBeGreaterThanOrEqual(1);
    expect((await getStoredEvent(aws.doc, aws.tableName, lostKey))?.published).toBe(true);
  });
});
