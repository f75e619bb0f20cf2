import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseRouterConfig, type RouterConfigInput } from '../../core/config';
import { type Envelope, keys } from '../../core/contracts';
import { planTopology, runtimeSources } from '../../core/plan';
import { CLAIM_MS, type IngestDeps, type IngestRequest, ingestWebhook } from '../../lambdas/ingest/ingest';
import { toIngestRequest } from '../../lambdas/ingest/request';
import { claimDedupe, getDedupe, getEvent } from '../../lambdas/shared/event-store';
import { sweepPending } from '../../lambdas/sweeper/sweeper';
import exampleConfig from '../../router.config';
import { type LocalAws, startLocalAws } from '../support/aws-local';

const SECRET = "It's a Secret to Everybody";
const config: RouterConfigInput = {
  ...exampleConfig,
  sources: [
    ...exampleConfig.sources,
    {
      name: 'pinger',
      provider: 'generic',
      secret: { secretName: 'pinger' },
      generic: { signatureHeader: 'x-signature' },
      bodyHashDedupeSeconds: 60,
    },
    // Behind a custom domain with the base path /router (the fixtures in test/unit/fixtures).
    {
      name: 'sms',
      provider: 'twilio',
      secret: { secretName: 'sms' },
      publicUrl: 'https://hooks.example.com/router',
    },
    // The same, without publicUrl: the URL is rebuilt from the host and the path as received.
    { name: 'sms-bare', provider: 'twilio', secret: { secretName: 'sms' } },
  ],
};
const sources = runtimeSources(planTopology(parseRouterConfig(config)).sources);

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
    dedupeDays: 7,
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
    viaSourceRoute: true,
    url: 'https://example.test/webhooks/github/token',
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

function pingRequest(body: string): IngestRequest {
  const raw = Buffer.from(body);
  return {
    method: 'POST',
    sourceName: 'pinger',
    viaSourceRoute: true,
    url: 'https://example.test/webhooks/pinger/token',
    query: {},
    body: raw,
    headers: {
      'content-type': 'application/json',
      'x-signature': createHmac('sha256', SECRET).update(raw).digest('hex'),
    },
  };
}

const pr = { action: 'opened', number: 7, repository: { full_name: 'octo/repo' } };
const eventCount = async () =>
  (
    (await aws.doc.send(new ScanCommand({ TableName: aws.tableName, ConsistentRead: true }))).Items ?? []
  ).filter((i) => String(i.pk).startsWith('EVENT#')).length;
const idOf = (response: { body: string }) => (JSON.parse(response.body) as { id: string }).id;
/** Events on the bus since `from`, by event id. */
const publishedIds = async (from: number) => {
  await aws.bus.drain();
  return aws.published.slice(from).map((e) => (e.detail as Envelope).id);
};
const pendingOf = async (id: string) =>
  (
    await aws.doc.send(
      new GetCommand({ TableName: aws.tableName, Key: keys.pending(id), ConsistentRead: true }),
    )
  ).Item;
const sweep = (now: number) =>
  sweepPending(
    {
      doc: aws.doc,
      eventBridge: aws.eventBridge,
      tableName: aws.tableName,
      busName: aws.busName,
      now: () => now,
      batchSize: 100,
    },
    now + 30_000,
  );

const failingBus = {
  send: async () => ({
    FailedEntryCount: 1,
    Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }],
  }),
} as never;

describe('ingestWebhook (dynalite + local EventBridge)', () => {
  it('stores, publishes, marks the event published and answers 202 with its id', async () => {
    const before = aws.published.length;
    const request = githubRequest(pr);
    const response = await ingestWebhook(request, deps);
    expect(response.statusCode).toBe(202);
    const id = idOf(response);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);

    const stored = await getEvent(aws.doc, aws.tableName, id);
    expect(stored?.envelope).toMatchObject({
      id,
      source: 'github',
      provider: 'github',
      type: 'pull_request.opened',
      subject: 'octo/repo',
      deliveryId: request.headers['x-github-delivery'],
      data: pr,
    });
    expect(stored?.envelope.headers['x-hub-signature-256']).toBeUndefined();
    const dedupe = await getDedupe(
      aws.doc,
      aws.tableName,
      { source: 'github', dedupeKey: request.headers['x-github-delivery']! },
      clock,
    );
    expect(dedupe).toMatchObject({ eventId: id, published: true });
    expect(await pendingOf(id)).toBeUndefined();
    expect(await publishedIds(before)).toEqual([id]);
  });

  it('answers 401 to a bad signature and stores nothing', async () => {
    const before = await eventCount();
    const request = githubRequest(pr, { headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` } });
    const response = await ingestWebhook(request, deps);
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body).error).toBe('invalid_signature');
    expect(await eventCount()).toBe(before);
  });

  it('dedupes on the delivery id: one event, the same id, a duplicate flag, no second publish', async () => {
    const request = githubRequest(pr);
    const before = aws.published.length;
    const first = idOf(await ingestWebhook(request, deps));
    const items = await eventCount();
    const second = await ingestWebhook(request, deps);
    expect(second.statusCode).toBe(202);
    expect(JSON.parse(second.body)).toEqual({ id: first, duplicate: true });
    expect(await eventCount()).toBe(items);
    expect(await publishedIds(before)).toEqual([first]);
  });

  it('stores and publishes 50 identical webhooks arriving at once exactly once', async () => {
    const request = githubRequest(pr);
    const before = aws.published.length;
    const items = await eventCount();
    const responses = await Promise.all(Array.from({ length: 50 }, () => ingestWebhook(request, deps)));
    expect(new Set(responses.map((r) => r.statusCode))).toEqual(new Set([202]));
    const ids = new Set(responses.map(idOf));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => !JSON.parse(r.body).duplicate)).toHaveLength(1);
    expect(await eventCount()).toBe(items + 1);
    // Duplicates that saw the claim held left markers; the sweeper finds the event published and drops them.
    await sweep(clock + CLAIM_MS + 1_000);
    expect(await publishedIds(before)).toEqual([...ids]);
  });

  it('never publishes from a duplicate while the first writer may still be publishing; the sweeper covers a crash', async () => {
    const request = githubRequest(pr);
    const deliveryId = request.headers['x-github-delivery']!;
    const before = aws.published.length;
    // A first writer claimed the key and died before it stored anything.
    await claimDedupe(
      aws.doc,
      aws.tableName,
      { source: 'github', dedupeKey: deliveryId },
      {
        eventId: '01KCRASHED0000000000000000',
        claimUntil: clock + CLAIM_MS,
        expiresAt: Math.floor(clock / 1000) + 86_400,
      },
      clock,
    );
    const duplicate = await ingestWebhook(request, { ...deps, now: () => clock + 1_000 });
    expect(JSON.parse(duplicate.body)).toEqual({ id: '01KCRASHED0000000000000000', duplicate: true });
    // The duplicate stored the event under the first id (the sender was told it is accepted) but did not publish.
    expect((await getEvent(aws.doc, aws.tableName, '01KCRASHED0000000000000000'))?.envelope.type).toBe(
      'pull_request.opened',
    );
    expect(await publishedIds(before)).toEqual([]);
    expect(await pendingOf('01KCRASHED0000000000000000')).toMatchObject({ nextAttemptAt: clock + CLAIM_MS });
    // Before the claim expires the sweeper waits too; after, it publishes once.
    expect((await sweep(clock + 2_000)).republished).toBe(0);
    expect((await sweep(clock + CLAIM_MS + 1)).republished).toBe(1);
    expect(await publishedIds(before)).toEqual(['01KCRASHED0000000000000000']);
    // A later duplicate finds it published.
    await ingestWebhook(request, { ...deps, now: () => clock + CLAIM_MS + 5_000 });
    expect(await publishedIds(before)).toEqual(['01KCRASHED0000000000000000']);
  });

  it('lets a duplicate take over a claim that expired without a publish', async () => {
    const request = githubRequest(pr);
    const first = idOf(await ingestWebhook(request, { ...deps, eventBridge: failingBus }));
    const before = aws.published.length;
    const later = clock + CLAIM_MS + 1;
    const duplicate = await ingestWebhook(request, { ...deps, now: () => later });
    expect(JSON.parse(duplicate.body)).toEqual({ id: first, duplicate: true });
    expect(await publishedIds(before)).toEqual([first]);
    expect(
      (
        await getDedupe(
          aws.doc,
          aws.tableName,
          { source: 'github', dedupeKey: request.headers['x-github-delivery']! },
          later,
        )
      )?.published,
    ).toBe(true);
  });

  it('acknowledges an event whose publish failed only once a pending marker holds it; the sweeper publishes it', async () => {
    const request = githubRequest(pr);
    const response = await ingestWebhook(request, { ...deps, eventBridge: failingBus });
    expect(response.statusCode).toBe(202);
    const id = idOf(response);
    // The writer gave its claim back: the sweeper need not wait for it to expire.
    expect(await pendingOf(id)).toMatchObject({ attempts: 1, nextAttemptAt: clock });
    const before = aws.published.length;
    expect((await sweep(clock + 1)).republished).toBe(1);
    expect(await publishedIds(before)).toEqual([id]);
    expect(await pendingOf(id)).toBeUndefined();
  });

  it('answers 503 (nothing acknowledged) when the publish failed and the marker cannot be written either', async () => {
    const doc = {
      // The stores send low-level commands: the key is a DynamoDB attribute value.
      send: (command: { input: { Item?: { pk?: { S?: string } } } }) =>
        String(command.input.Item?.pk?.S).startsWith('PENDING#')
          ? Promise.reject(Object.assign(new Error('unavailable'), { name: 'InternalServerError' }))
          : aws.doc.send(command as never),
    } as unknown as DynamoDBDocumentClient;
    const request = githubRequest(pr);
    const response = await ingestWebhook(request, { ...deps, doc, eventBridge: failingBus });
    expect(response.statusCode).toBe(503);
    // The sender's retry, once the claim expired, publishes the stored event itself.
    const before = aws.published.length;
    const retry = await ingestWebhook(request, { ...deps, now: () => clock + CLAIM_MS + 1 });
    expect(retry.statusCode).toBe(202);
    expect(await publishedIds(before)).toHaveLength(1);
  });

  it('keeps a delivery id for dedupeDays, then treats it as new', async () => {
    const request = githubRequest(pr);
    const first = idOf(await ingestWebhook(request, deps));
    const within = await ingestWebhook(request, { ...deps, now: () => clock + 6 * 86_400_000 });
    expect(idOf(within)).toBe(first);
    const after = await ingestWebhook(request, { ...deps, now: () => clock + 7 * 86_400_000 + 1_000 });
    expect(JSON.parse(after.body).duplicate).toBeUndefined();
    expect(idOf(after)).not.toBe(first);
  });

  it('dedupes a body without a delivery id only within the short body-hash window', async () => {
    const body = JSON.stringify({ status: 'ok', at: clock });
    const first = idOf(await ingestWebhook(pingRequest(body), deps));
    const retry = await ingestWebhook(pingRequest(body), { ...deps, now: () => clock + 30_000 });
    expect(JSON.parse(retry.body)).toEqual({ id: first, duplicate: true });
    const heartbeat = await ingestWebhook(pingRequest(body), { ...deps, now: () => clock + 61_000 });
    expect(JSON.parse(heartbeat.body).duplicate).toBeUndefined();
  });

  it.each([
    ['an unknown source', { sourceName: 'gitlab' }, 404, 'unknown_endpoint'],
    ['a wrong URL token (the catch-all)', { viaSourceRoute: false }, 404, 'unknown_endpoint'],
    ['a wrong method', { method: 'GET', viaSourceRoute: false }, 405, 'method_not_allowed'],
    [
      'a body over the source limit',
      { body: Buffer.alloc(4 * 1024 * 1024 + 1, 32) },
      413,
      'payload_too_large',
    ],
  ])('answers %s with %i and stores nothing', async (_name, override, status, error) => {
    const before = await eventCount();
    const response = await ingestWebhook(githubRequest(pr, override as Partial<IngestRequest>), deps);
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body).error).toBe(error);
    expect(await eventCount()).toBe(before);
  });

  it.each([
    ['not JSON', 'not json', 'application/json', 400, 'invalid_json'],
    ['a byte order mark', '\ufeff{}', 'application/json', 400, 'byte_order_mark'],
    ['too deep', `${'['.repeat(100)}${']'.repeat(100)}`, 'application/json', 400, 'json_too_deep'],
    ['a wrong content type', '{}', 'text/plain', 415, 'unsupported_media_type'],
  ])('answers a validly signed body that is %s with %i', async (_n, body, contentType, status, error) => {
    const before = await eventCount();
    const response = await ingestWebhook(
      githubRequest(body, { headers: { 'content-type': contentType } }),
      deps,
    );
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body).error).toBe(error);
    expect(await eventCount()).toBe(before);
  });

  it('answers 503 and publishes nothing when storage fails (never 2xx before the durable write)', async () => {
    const before = aws.published.length;
    const response = await ingestWebhook(githubRequest(pr), { ...deps, tableName: 'no-such-table' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(await publishedIds(before)).toEqual([]);
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
});

describe('a URL-signed provider (Twilio) behind a custom domain with a base path', () => {
  const TWILIO_AUTH_TOKEN = 'fixture-twilio-auth-token-0001';
  const PUBLIC_URL = 'https://hooks.example.com/router/webhooks/sms/Kq7vN2pXc9RtY4wLm8ZsB3dF6gH1jUeA';
  const fixture = (name: string) =>
    JSON.parse(
      readFileSync(new URL(`../unit/fixtures/${name}.json`, import.meta.url), 'utf8'),
    ) as APIGatewayProxyEventV2;
  const withTwilioSecret = () => ({ ...deps, readSecrets: async () => [TWILIO_AUTH_TOKEN] });

  it("the fixtures carry a signature Twilio's own library accepts for the public URL", () => {
    const event = fixture('apigw-custom-domain-base-path-kept');
    const params = Object.fromEntries(
      new URLSearchParams(Buffer.from(event.body!, 'base64').toString('utf8')),
    );
    expect(
      twilio.validateRequest(TWILIO_AUTH_TOKEN, event.headers['x-twilio-signature']!, PUBLIC_URL, params),
    ).toBe(true);
  });

  it.each(['apigw-custom-domain-base-path-kept', 'apigw-custom-domain-base-path-removed'])(
    'accepts %s: publicUrl + the route path is the URL Twilio signed',
    async (name) => {
      const request = toIngestRequest(fixture(name), withTwilioSecret().sources);
      expect(request.url).toBe(PUBLIC_URL);
      expect(request.sourceName).toBe('sms');
      const response = await ingestWebhook(request, withTwilioSecret());
      expect(response.statusCode, response.body).toBe(202);
    },
  );

  it('without publicUrl, the host and the path as received make the URL: right when rawPath keeps the base path', async () => {
    const bareUrl = PUBLIC_URL.replace('/sms/', '/sms-bare/');
    const bare = (event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 => {
      const swap = (text: string) => text.replace('/webhooks/sms/', '/webhooks/sms-bare/');
      const params = Object.fromEntries(
        new URLSearchParams(Buffer.from(event.body!, 'base64').toString('utf8')),
      );
      return {
        ...event,
        routeKey: swap(event.routeKey),
        rawPath: swap(event.rawPath),
        headers: {
          ...event.headers,
          'x-twilio-signature': twilio.getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, bareUrl, params),
        },
        requestContext: { ...event.requestContext, routeKey: swap(event.requestContext.routeKey) },
      };
    };
    const kept = toIngestRequest(
      bare(fixture('apigw-custom-domain-base-path-kept')),
      withTwilioSecret().sources,
    );
    expect(kept.url).toBe(bareUrl);
    expect((await ingestWebhook(kept, withTwilioSecret())).statusCode).toBe(202);
    // Without the base path in rawPath the rebuilt URL misses it and the signature fails: the case publicUrl is for.
    const removed = toIngestRequest(
      bare(fixture('apigw-custom-domain-base-path-removed')),
      withTwilioSecret().sources,
    );
    expect(removed.url).toBe('https://hooks.example.com/webhooks/sms-bare/Kq7vN2pXc9RtY4wLm8ZsB3dF6gH1jUeA');
    expect((await ingestWebhook(removed, withTwilioSecret())).statusCode).toBe(401);
  });
});
