/**
 * Claim check end to end: a signed GitHub webhook whose envelope exceeds the inline limit (100 KB) but not the
 * source's maxBodyBytes is stored with a `dataRef` pointer (payload in local S3), delivered to the HTTP target with
 * the FULL payload in `data` (delivery resolves the pointer), and pushed to WebSocket clients as the pointer only,
 * in a message under API Gateway's 128 KB.
 */
import { createHash, randomUUID } from 'node:crypto';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../core/config';
import type { Envelope } from '../../core/contracts';
import { INLINE_ENVELOPE_LIMIT } from '../../lambdas/ingest/ingest';
import { githubExample } from '../../local/sample-webhook';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { type E2E, type LiveClient, RECORDING_TARGET, startE2E, waitFor } from './support/harness';
import { github, providerSources, secretEnv } from './support/providers';

const WS_MESSAGE_LIMIT = 128 * 1024;
const MAX_BODY = 1024 * 1024;

const config: RouterConfigInput = {
  sources: providerSources().filter((s) => s.name === 'github'),
  targets: [RECORDING_TARGET],
};

let e2e: E2E;
let s3: S3Client;
let live: LiveClient;

beforeAll(async () => {
  e2e = await startE2E(config, { secretEnv: secretEnv() });
  s3 = new S3Client({
    endpoint: e2e.stack.endpoints.s3,
    region: LOCAL_REGION,
    credentials: localCredentials,
    forcePathStyle: true,
  });
  live = await e2e.connect({ source: ['webhook.github'] });
});

afterAll(async () => {
  s3?.destroy();
  await e2e?.stop();
});

/** A real pull_request.opened payload whose PR body is padded with `asciiBytes` + `twoByteChars` (é). */
function largePullRequest(asciiBytes: number, twoByteChars: number): { body: string; payload: unknown } {
  const example = githubExample('pull_request', 'opened') as {
    pull_request: Record<string, unknown>;
  } & Record<string, unknown>;
  const payload = {
    ...example,
    pull_request: { ...example.pull_request, body: `${'x'.repeat(asciiBytes)}${'é'.repeat(twoByteChars)}` },
    big_id: 0,
  };
  // An integer beyond 2^53, spliced as raw text (JSON.stringify cannot write one).
  const body = JSON.stringify(payload).replace('"big_id":0', '"big_id":1234567890123456789');
  return { body, payload: JSON.parse(body) };
}

const liveEvent = (id: string) =>
  waitFor(`live event ${id}`, () => live.messages.find((m) => m.message.event?.id === id));

describe('payloads above the inline limit travel by pointer', () => {
  const delivery = randomUUID();
  const { body, payload } = largePullRequest(90_000, 40_000);
  let id = '';

  it('a validly signed webhook above the inline limit and below maxBodyBytes → 202', async () => {
    const bytes = Buffer.byteLength(body);
    expect(bytes).toBeGreaterThan(INLINE_ENVELOPE_LIMIT);
    expect(bytes).toBeLessThan(MAX_BODY);
    const res = await e2e.post('github', github(body, { delivery }));
    expect(res.status, res.text).toBe(202);
    id = res.json!.id!;
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('stores the envelope with dataRef (bucket/key/bytes/sha256) and no data', async () => {
    const stored = await e2e.stored('github', delivery);
    expect(stored).toBeDefined();
    const { envelope, item } = stored!;
    expect(envelope.id).toBe(id);
    expect(envelope).not.toHaveProperty('data');
    expect(envelope.dataRef).toEqual({
      bucket: e2e.stack.payloadBucket,
      key: expect.stringContaining(id),
      bytes: expect.any(Number),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(envelope).toMatchObject({ type: 'pull_request.opened', deliveryId: delivery });
    expect(Buffer.byteLength(item.envelope)).toBeLessThan(INLINE_ENVELOPE_LIMIT);

    // The pointer is exact: the object in local S3 has those bytes and that SHA-256, and holds the payload.
    const object = await s3.send(
      new GetObjectCommand({ Bucket: envelope.dataRef!.bucket, Key: envelope.dataRef!.key }),
    );
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(bytes.length).toBe(envelope.dataRef!.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(envelope.dataRef!.sha256);
    expect(JSON.parse(bytes.toString('utf8'))).toEqual(payload);
  });

  // Ingest offloads the raw JSON text of the payload, so an integer beyond 2^53 keeps its digits in S3 as it does in
  // an inline envelope.
  it('the offloaded payload keeps the raw digits of integers beyond 2^53', async () => {
    const { envelope } = (await e2e.stored('github', delivery))!;
    const object = await s3.send(
      new GetObjectCommand({ Bucket: envelope.dataRef!.bucket, Key: envelope.dataRef!.key }),
    );
    expect(await object.Body!.transformToString()).toContain('"big_id":1234567890123456789');
  });

  it('delivers the FULL payload in data to the HTTP target (pointer resolved from local S3)', async () => {
    const received = await e2e.waitForDelivery(id);
    expect(received.envelope.id).toBe(id);
    expect(received.envelope).not.toHaveProperty('dataRef');
    expect(received.envelope.data).toEqual(payload);
    expect((received.envelope.data as { pull_request: { body: string } }).pull_request.body).toHaveLength(
      130_000,
    );
  });

  it('delivers the S3 text verbatim: integers beyond 2^53 keep their digits through the pointer', async () => {
    const received = await e2e.waitForDelivery(id);
    expect(received.body).toContain('"big_id":1234567890123456789');
    const { envelope } = (await e2e.stored('github', delivery))!;
    const object = await s3.send(
      new GetObjectCommand({ Bucket: envelope.dataRef!.bucket, Key: envelope.dataRef!.key }),
    );
    // The delivered body ends with `"data":<the S3 object's text>}`, byte for byte.
    expect(received.body.endsWith(`"data":${await object.Body!.transformToString()}}`)).toBe(true);
  });

  it('pushes the pointer (dataRef, no data) to a matching WebSocket client in a message under 128 KB', async () => {
    const { bytes, message } = await liveEvent(id);
    expect(bytes).toBeLessThan(WS_MESSAGE_LIMIT);
    expect(message.kind).toBe('event');
    const event = message.event as Envelope;
    expect(event).not.toHaveProperty('data');
    const { envelope } = (await e2e.stored('github', delivery))!;
    expect(event.dataRef).toEqual(envelope.dataRef);
  });
});

describe('integers outside the signed 64-bit range (EventBridge refuses them in a bus entry)', () => {
  it('a small payload holding one travels by pointer, and the target gets its digits intact', async () => {
    const delivery = randomUUID();
    const body = `{"action":"opened","repository":{"full_name":"octo/huge"},"huge":123456789012345678901234567890}`;
    const res = await e2e.post('github', github(body, { delivery }));
    expect(res.status, res.text).toBe(202);
    const id = res.json!.id!;
    const { envelope, item } = (await e2e.stored('github', delivery))!;
    expect(envelope).not.toHaveProperty('data');
    expect(envelope.dataRef).toBeDefined();
    expect(item.envelope).not.toContain('123456789012345678901234567890');
    const received = await e2e.waitForDelivery(id);
    expect(received.body.endsWith(`"data":${body}}`)).toBe(true);
  });
});

describe('payloads below the inline limit travel inline', () => {
  it('an envelope just under the limit keeps data inline everywhere (no dataRef)', async () => {
    const delivery = randomUUID();
    // The example PR is ~20 KB: padded to an envelope within a few KB of the limit.
    const { body, payload } = largePullRequest(INLINE_ENVELOPE_LIMIT - 30_000, 0);
    const res = await e2e.post('github', github(body, { delivery }));
    expect(res.status, res.text).toBe(202);
    const id = res.json!.id!;
    const stored = (await e2e.stored('github', delivery))!;
    expect(Buffer.byteLength(stored.item.envelope)).toBeLessThanOrEqual(INLINE_ENVELOPE_LIMIT);
    expect(Buffer.byteLength(stored.item.envelope)).toBeGreaterThan(INLINE_ENVELOPE_LIMIT - 15_000);
    expect(stored.envelope).not.toHaveProperty('dataRef');
    // Inline, the raw JSON is spliced verbatim: big integers keep their digits in the store.
    expect(stored.item.envelope).toContain('"big_id":1234567890123456789');
    expect(stored.envelope.data).toEqual(payload);
    const received = await e2e.waitForDelivery(id);
    expect(received.envelope).not.toHaveProperty('dataRef');
    expect(received.envelope.data).toEqual(payload);
    // Delivered as stored: the envelope text is forwarded, never re-serialised.
    expect(received.body).toBe(stored.item.envelope);
    const { bytes, message } = await liveEvent(id);
    expect(bytes).toBeLessThan(WS_MESSAGE_LIMIT);
    expect(message.event?.data).toEqual(payload);
  });
});
