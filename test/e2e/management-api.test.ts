/**
 * The management API, route by route, over the local HTTP API with SigV4 — the same handler and the same route
 * table as on AWS: every route's happy path, paging across pages, every bad parameter (a 400 naming it), 404 and
 * 409, and missing or wrong credentials (403 before the function runs). Answers are checked against the schemas
 * the OpenAPI document is generated from.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../core/config';
import {
  DeepHealth,
  EventDetail,
  EventList,
  FailedList,
  Health,
  Job,
  PublishResult,
  RedeliverResult,
  ROUTES,
  TargetList,
  TargetView,
} from '../../core/management';
import { VERSION } from '../../core/version';
import { SIGV4_MESSAGES } from '../../local/services/sigv4';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { waitFor } from '../local/helpers';
import { type ApiAnswer, callApi, operatorTargets, type Receiver, startReceiver } from './support/management';
import { github, providerSources, secretEnv } from './support/providers';

const config: RouterConfigInput = {
  sources: providerSources(),
  targets: operatorTargets('github'),
  liveStream: { enabled: false },
};

let stack: LocalStack;
let all: Receiver;
let flaky: Receiver;
let api: (
  method: string,
  path: string,
  body?: unknown,
  options?: Parameters<typeof callApi>[4],
) => Promise<ApiAnswer>;

beforeAll(async () => {
  all = await startReceiver();
  flaky = await startReceiver();
  stack = await startLocalStack({
    config,
    targetUrls: { all: all.url, flaky: flaky.url },
    secretEnv: secretEnv(),
    sweepIntervalSeconds: null,
    pollWaitSeconds: 1,
    functionLogs: false,
    log: () => {},
  });
  api = (method, path, body, options) => callApi(stack.http.url, method, path, body, options);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await all?.stop();
  await flaky?.stop();
});

/** Sends a signed GitHub webhook; resolves with the event id. */
async function sendGithub(
  event = 'issues',
  action = 'opened',
  extra: Record<string, unknown> = {},
): Promise<string> {
  const body = JSON.stringify({ action, repository: { full_name: 'octo/repo' }, ...extra });
  const request = github(body, { event, delivery: randomUUID() });
  const response = await fetch(stack.webhookUrl('github'), {
    method: 'POST',
    headers: request.headers as Record<string, string>,
    body,
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

const expectProblem = (answer: ApiAnswer, status: number, field?: string) => {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.contentType).toBe('application/problem+json');
  expect(answer.json).toMatchObject({ type: 'about:blank', status, detail: expect.any(String) });
  if (field) expect(answer.json.errors.map((e: { path: string }) => e.path)).toContain(field);
};

/** A route's path with its parameters filled in. */
const concrete = (path: string) =>
  path.replace('{id}', '01J0000000000000000000000A').replace('{name}', 'all');

describe('credentials', () => {
  it('answers GET /health without credentials: status and version only', async () => {
    const answer = await api('GET', '/health', undefined, { sign: false });
    expect(answer.status).toBe(200);
    expect(Health.strict().parse(answer.json)).toEqual({ status: 'ok', version: VERSION });
  });

  it('refuses every /v1 route without a signature, before the function runs (403 Forbidden)', async () => {
    const routes = ROUTES.filter((r) => r.path.startsWith('/v1/'));
    expect(routes.length).toBeGreaterThanOrEqual(15);
    for (const route of routes) {
      const answer = await api(route.method, concrete(route.path), route.method === 'POST' ? {} : undefined, {
        sign: false,
      });
      expect(answer.status, `${route.method} ${route.path}`).toBe(403);
      expect(answer.json).toEqual({ message: SIGV4_MESSAGES.missing });
    }
  });

  it('refuses a wrong secret key, an unknown access key, another region, an old signature and a changed body', async () => {
    const wrongSecret = await api('GET', '/v1/targets', undefined, {
      credentials: { accessKeyId: 'local', secretAccessKey: 'not-the-secret' },
    });
    expect(wrongSecret).toMatchObject({ status: 403, json: { message: SIGV4_MESSAGES.mismatch } });
    const unknownKey = await api('GET', '/v1/targets', undefined, {
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'local' },
    });
    expect(unknownKey).toMatchObject({ status: 403, json: { message: SIGV4_MESSAGES.unknownKey } });
    const otherRegion = await api('GET', '/v1/targets', undefined, { region: 'eu-west-1' });
    expect(otherRegion.status).toBe(403);
    const old = await api('GET', '/v1/targets', undefined, { signedAt: new Date(Date.now() - 6 * 60_000) });
    expect(old.status).toBe(403);
    expect(old.json.message).toMatch(/^Signature expired/);
    const tampered = await api(
      'POST',
      '/v1/events',
      { source: 'ops', type: 'a.b', data: {} },
      {
        tamper: (body) => body.replace('a.b', 'x.y'),
      },
    );
    expect(tampered).toMatchObject({ status: 403, json: { message: SIGV4_MESSAGES.mismatch } });
  });

  it('accepts the local credentials', async () => {
    const answer = await api('GET', '/v1/health');
    expect(answer.status).toBe(200);
    const health = DeepHealth.parse(answer.json);
    expect(health.status).toBe('ok');
    expect(health.checks.map((c) => c.name).sort()).toEqual(['bus', 'queue:all', 'queue:flaky', 'table']);
  });
});

describe('GET /v1/events', () => {
  const ids: string[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 7; i++) ids.push(await sendGithub('issues', i % 2 === 0 ? 'opened' : 'closed'));
  });

  it('pages newest first with an opaque cursor: 7 events in pages of 3, 3 and 1', async () => {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const answer = await api(
        'GET',
        `/v1/events?source=github&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(answer.status, answer.text).toBe(200);
      const page = EventList.strict().parse(answer.json);
      pages.push(page.events.map((e) => e.id));
      cursor = page.cursor;
    } while (cursor && pages.length < 10);
    const seen = pages.flat();
    // Other tests may have added GitHub events before: ours are the newest 7 of this listing's first pages.
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.slice(0, 2).map((p) => p.length)).toEqual([3, 3]);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort().reverse());
    expect(seen).toEqual(expect.arrayContaining(ids));
  });

  it('filters by type and by time range', async () => {
    const closed = EventList.parse(
      (await api('GET', '/v1/events?source=github&type=issues.closed&limit=100')).json,
    );
    expect(closed.events.every((e) => e.type === 'issues.closed')).toBe(true);
    expect(closed.events.map((e) => e.id)).toEqual(expect.arrayContaining([ids[1], ids[3], ids[5]]));
    const [from, to] = [1, 2].map((h) =>
      encodeURIComponent(new Date(Date.now() + h * 3_600_000).toISOString()),
    );
    const none = EventList.parse((await api('GET', `/v1/events?from=${from}&to=${to}`)).json);
    expect(none).toEqual({ events: [] });
    const window = EventList.parse(
      (
        await api(
          'GET',
          `/v1/events?source=github&from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}&limit=100`,
        )
      ).json,
    );
    expect(window.events.map((e) => e.id)).toEqual(expect.arrayContaining(ids));
    // A range the wrong way round.
    expectProblem(await api('GET', `/v1/events?from=${to}&to=${from}`), 400, 'from');
  });

  it('refuses a cursor that was changed, or reused for another query', async () => {
    const first = EventList.parse((await api('GET', '/v1/events?source=github&limit=2')).json);
    const cursor = first.cursor!;
    const flipped = `${cursor.slice(0, -2)}${cursor.endsWith('A') ? 'B' : 'A'}${cursor.slice(-1)}`;
    expectProblem(await api('GET', `/v1/events?source=github&limit=2&cursor=${flipped}`), 400, 'cursor');
    expectProblem(await api('GET', `/v1/events?source=stripe&limit=2&cursor=${cursor}`), 400, 'cursor');
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=ten', 'limit'],
    ['from=yesterday', 'from'],
    ['to=2026-13-45T00:00:00Z', 'to'],
    ['source=Not%20A%20Source', 'source'],
    ['cursor=x', 'cursor'],
    ['colour=blue', 'colour'],
  ])('answers 400 naming the field for %s', async (query, field) => {
    expectProblem(await api('GET', `/v1/events?${query}`), 400, field);
  });
});

describe('GET /v1/events/{id}', () => {
  it('shows the envelope, the payload and each matching target’s delivery with its attempts', async () => {
    const id = await sendGithub('issues', 'opened', { marker: 'detail' });
    await waitFor(
      'both deliveries',
      () => all.deliveredCount(id) === 1 && flaky.deliveredCount(id) === 1,
      20_000,
    );
    const detail = await waitFor('the delivery log', async () => {
      const d = EventDetail.parse((await api('GET', `/v1/events/${id}`)).json);
      return d.deliveries.every((x) => x.status === 'delivered') ? d : undefined;
    });
    expect(detail.event).toMatchObject({ id, source: 'github', provider: 'github', type: 'issues.opened' });
    expect(detail.event.data).toMatchObject({ marker: 'detail' });
    expect(detail.deliveries.map((d) => d.target).sort()).toEqual(['all', 'flaky']);
    for (const delivery of detail.deliveries) {
      expect(delivery.attempts).toHaveLength(1);
      expect(delivery.attempts[0]).toMatchObject({ attempt: 1, outcome: 'delivered', status: 200 });
      expect(delivery.attempts[0]!.latencyMs).toBeGreaterThanOrEqual(0);
      expect(delivery.attempts[0]!.response!.length).toBeLessThanOrEqual(1024);
    }
  });

  it('resolves a payload that travelled by pointer (S3)', async () => {
    const big = 'x'.repeat(150_000);
    const id = await sendGithub('issues', 'opened', { big });
    const detail = EventDetail.parse((await api('GET', `/v1/events/${id}`)).json);
    expect((detail.event.data as { big: string }).big).toBe(big);
    expect(detail.event).not.toHaveProperty('payload');
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    expectProblem(await api('GET', '/v1/events/01J0000000000000000000000A'), 404);
    expectProblem(await api('GET', '/v1/events/not-an-id'), 400, 'id');
  });
});

describe('POST /v1/events (publish)', () => {
  it('publishes an internal event: stored, listed under internal.<name> and delivered like a webhook', async () => {
    const answer = await api('POST', '/v1/events', {
      source: 'ops',
      type: 'deploy.finished',
      data: { ok: true },
    });
    expect(answer.status, answer.text).toBe(202);
    const [published] = PublishResult.parse(answer.json).events;
    expect(published!.duplicate).toBe(false);
    await waitFor(
      'the internal event delivered to all',
      () => all.deliveredCount(published!.id) === 1,
      20_000,
    );
    expect(flaky.deliveredCount(published!.id)).toBe(0);
    const listed = EventList.parse((await api('GET', '/v1/events?source=internal.ops')).json);
    expect(listed.events[0]).toMatchObject({
      id: published!.id,
      source: 'internal.ops',
      type: 'deploy.finished',
    });
    const detail = EventDetail.parse((await api('GET', `/v1/events/${published!.id}`)).json);
    expect(detail.event).toMatchObject({ provider: 'internal', data: { ok: true } });
  });

  it('publishes a batch of up to 10, and returns the first event for a repeated idempotency key', async () => {
    const events = Array.from({ length: 3 }, (_, i) => ({ source: 'batch', type: 'item.made', data: { i } }));
    const batch = PublishResult.parse((await api('POST', '/v1/events', { events })).json);
    expect(batch.events).toHaveLength(3);
    const key = randomUUID();
    const once = PublishResult.parse(
      (await api('POST', '/v1/events', { source: 'ops', type: 'x.y', data: {}, idempotencyKey: key })).json,
    );
    const twice = PublishResult.parse(
      (await api('POST', '/v1/events', { source: 'ops', type: 'x.y', data: {}, idempotencyKey: key })).json,
    );
    expect(twice.events[0]).toEqual({ id: once.events[0]!.id, duplicate: true });
  });

  it.each([
    [{ type: 'a.b', data: {} }, 'source'],
    [{ source: 'ops', data: {} }, 'type'],
    [{ source: 'ops', type: 'a.b' }, 'data'],
    [{ source: 'Ops!', type: 'a.b', data: {} }, 'source'],
    [{ source: 'ops', type: 'a b', data: {} }, 'type'],
    [{ source: 'ops', type: 'a.b', data: {}, extra: 1 }, ''],
    [{ events: [] }, 'events'],
    [{ events: Array.from({ length: 11 }, () => ({ source: 'ops', type: 'a.b', data: {} })) }, 'events'],
    [{ events: [{ source: 'ops', data: {} }] }, 'events[0].type'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const answer = await api('POST', '/v1/events', body);
    expectProblem(answer, 400, field === '' ? undefined : field);
  });

  it('answers 400 for a body that is not JSON', async () => {
    expectProblem(await api('POST', '/v1/events', '{"source":'), 400, '(body)');
  });
});

describe('POST /v1/events/{id}/redeliver', () => {
  it('delivers an event again, in a new round, to the targets named — or to every matching one', async () => {
    const id = await sendGithub('issues', 'opened', { marker: 'redeliver' });
    await waitFor(
      'first deliveries',
      () => all.deliveredCount(id) === 1 && flaky.deliveredCount(id) === 1,
      20_000,
    );
    const named = RedeliverResult.parse(
      (await api('POST', `/v1/events/${id}/redeliver`, { targets: ['all'] })).json,
    );
    expect(named.redelivered.map((r) => r.target)).toEqual(['all']);
    await waitFor('the redelivery', () => all.deliveredCount(id) === 2, 20_000);
    expect(flaky.deliveredCount(id)).toBe(1);
    const every = RedeliverResult.parse((await api('POST', `/v1/events/${id}/redeliver`, {})).json);
    expect(every.redelivered.map((r) => r.target).sort()).toEqual(['all', 'flaky']);
    await waitFor(
      'the second redelivery',
      () => all.deliveredCount(id) === 3 && flaky.deliveredCount(id) === 2,
      20_000,
    );
    const detail = EventDetail.parse((await api('GET', `/v1/events/${id}`)).json);
    const rounds = new Set(detail.deliveries.find((d) => d.target === 'all')!.attempts.map((a) => a.round));
    expect(rounds.size).toBe(3);
  });

  it('answers 404 for an unknown target or event, 400 for a bad body', async () => {
    const id = await sendGithub();
    expectProblem(await api('POST', `/v1/events/${id}/redeliver`, { targets: ['nope'] }), 404, 'targets[0]');
    expectProblem(await api('POST', '/v1/events/01J0000000000000000000000A/redeliver', {}), 404);
    expectProblem(await api('POST', `/v1/events/${id}/redeliver`, { targets: [] }), 400, 'targets');
    expectProblem(await api('POST', `/v1/events/${id}/redeliver`, { targets: 'all' }), 400, 'targets');
  });
});

async function finished(path: string): Promise<Job> {
  return waitFor(
    `${path} to end`,
    async () => {
      const job = Job.parse((await api('GET', path)).json);
      return job.status === 'running' ? undefined : job;
    },
    30_000,
    200,
  );
}

describe('replays', () => {
  it('replays a time range, filtered by a pattern, to one target only, with exact counts', async () => {
    const from = new Date().toISOString();
    const opened = [await sendGithub('pull_request', 'opened'), await sendGithub('pull_request', 'opened')];
    await sendGithub('pull_request', 'closed');
    await api('POST', '/v1/events', { source: 'ops', type: 'pull_request.opened', data: {} });
    await waitFor('first deliveries', () => opened.every((id) => all.deliveredCount(id) === 1), 20_000);
    const to = new Date().toISOString();
    const later = await sendGithub('pull_request', 'opened'); // after the range
    await waitFor('the later event at flaky', () => flaky.deliveredCount(later) === 1, 20_000);
    const flakyBefore = flaky.received.length;

    const started = await api('POST', '/v1/replays', {
      from,
      to,
      target: 'all',
      pattern: { source: ['webhook.github'], 'detail-type': ['pull_request.opened'] },
    });
    expect(started.status, started.text).toBe(202);
    const job = Job.parse(started.json);
    expect(job).toMatchObject({ kind: 'replay', status: 'running', target: 'all' });
    const done = await finished(`/v1/replays/${job.id}`);
    expect(done).toMatchObject({ status: 'done', scanned: 4, matched: 2, sent: 2 });
    await waitFor(
      'the replayed deliveries',
      () => opened.every((id) => all.deliveredCount(id) === 2),
      20_000,
    );
    // Never to another target.
    expect(flaky.received.length).toBe(flakyBefore);
    // The same job under /v1/jobs; a finished job cannot be cancelled.
    expect(Job.parse((await api('GET', `/v1/jobs/${job.id}`)).json).status).toBe('done');
    expectProblem(await api('POST', `/v1/replays/${job.id}/cancel`), 409);
  });

  it.each([
    [{ from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }, 'target'],
    [{ to: '2026-01-02T00:00:00Z', target: 'all' }, 'from'],
    [{ from: 'yesterday', to: '2026-01-02T00:00:00Z', target: 'all' }, 'from'],
    [{ from: '2026-01-03T00:00:00Z', to: '2026-01-02T00:00:00Z', target: 'all' }, 'from'],
    [
      { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', target: 'all', pattern: { source: 'x' } },
      'pattern.source',
    ],
    [{ from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', target: 'all', pattern: [] }, 'pattern'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    expectProblem(await api('POST', '/v1/replays', body), 400, field);
  });

  it('refuses a replay to live agents on a stack without a live stream (409, naming the field)', async () => {
    const now = new Date().toISOString();
    const answer = await api('POST', '/v1/replays', { from: now, to: now, target: 'all', live: true });
    expect(answer.status).toBe(409);
    expect(answer.contentType).toMatch(/^application\/problem\+json/);
    expect(answer.json.errors).toEqual([
      { path: 'live', message: 'needs the live stream (liveStream.enabled)' },
    ]);
  });

  it('answers 404 for an unknown target or job', async () => {
    expectProblem(
      await api('POST', '/v1/replays', {
        from: '2026-01-01T00:00:00Z',
        to: '2026-01-02T00:00:00Z',
        target: 'nope',
      }),
      404,
      'target',
    );
    expectProblem(await api('GET', '/v1/replays/rpl_nope'), 404);
    expectProblem(await api('GET', '/v1/jobs/rdr_nope'), 404);
    expectProblem(await api('POST', '/v1/jobs/rdr_nope/cancel'), 404);
  });
});

describe('targets: list, pause, resume', () => {
  it('lists every target with its state, queues and last success', async () => {
    const list = TargetList.strict().parse((await api('GET', '/v1/targets')).json);
    expect(list.targets.map((t) => t.name)).toEqual(['all', 'flaky']);
    const allView = list.targets[0]!;
    expect(allView).toMatchObject({ kind: 'http', state: 'active', endpoint: all.url, dlqDepth: 0 });
    expect(allView.lastSuccessAt).not.toBeNull();
  });

  it('pause stops consumption (the event waits in the queue), resume delivers it', async () => {
    const paused = TargetView.parse((await api('POST', '/v1/targets/all/pause')).json);
    expect(paused.state).toBe('paused');
    const id = await sendGithub('issues', 'opened', { marker: 'paused' });
    const waiting = await waitFor('the queued event', async () => {
      const view = TargetView.parse(
        TargetList.parse((await api('GET', '/v1/targets')).json).targets.find((t) => t.name === 'all'),
      );
      return view.queueDepth === 1 ? view : undefined;
    });
    expect(waiting.state).toBe('paused');
    expect(all.deliveredCount(id)).toBe(0);
    const resumed = TargetView.parse((await api('POST', '/v1/targets/all/resume')).json);
    expect(resumed.state).toBe('active');
    await waitFor('the delivery after resume', () => all.deliveredCount(id) === 1, 20_000);
  });

  it('answers 404 for an unknown target', async () => {
    expectProblem(await api('POST', '/v1/targets/nope/pause'), 404);
    expectProblem(await api('POST', '/v1/targets/nope/resume'), 404);
    expectProblem(await api('GET', '/v1/targets/nope/failed'), 404);
    expectProblem(await api('POST', '/v1/targets/nope/redrive', {}), 404);
  });
});

describe('failed deliveries and redrive', () => {
  it('lists failures with their reasons across pages, then a redrive delivers every failed event once', async () => {
    flaky.answer(503);
    const failed = [await sendGithub(), await sendGithub(), await sendGithub()];
    const list = await waitFor(
      'three failures',
      async () => {
        const page = FailedList.parse((await api('GET', '/v1/targets/flaky/failed?limit=100')).json);
        return failed.every((id) => page.failures.some((f) => f.eventId === id)) && page.dlqDepth >= 3
          ? page
          : undefined;
      },
      40_000,
      250,
    );
    for (const failure of list.failures.filter((f) => failed.includes(f.eventId))) {
      expect(failure).toMatchObject({ attempts: 2, status: 503 });
      expect(failure.error).toMatch(/503/);
    }
    // Pages of one.
    const pages: string[] = [];
    let cursor: string | undefined;
    do {
      const page = FailedList.parse(
        (
          await api(
            'GET',
            `/v1/targets/flaky/failed?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          )
        ).json,
      );
      pages.push(...page.failures.map((f) => f.eventId));
      cursor = page.cursor;
    } while (cursor && pages.length < 20);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages).toEqual(expect.arrayContaining(failed));
    expectProblem(await api('GET', '/v1/targets/flaky/failed?limit=0'), 400, 'limit');

    flaky.answer(200);
    const started = await api('POST', '/v1/targets/flaky/redrive', {});
    expect(started.status, started.text).toBe(202);
    const job = await finished(`/v1/jobs/${Job.parse(started.json).id}`);
    expect(job).toMatchObject({ kind: 'redrive', status: 'done' });
    expect(job.sent).toBe(job.matched);
    expect(job.sent).toBeGreaterThanOrEqual(3);
    await waitFor(
      'every failed event delivered',
      () => failed.every((id) => flaky.deliveredCount(id) === 1),
      20_000,
    );
    // Once: nothing more arrives, and nothing is left to redrive.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    for (const id of failed) expect(flaky.deliveredCount(id)).toBe(1);
    const after = FailedList.parse((await api('GET', '/v1/targets/flaky/failed')).json);
    expect(after.failures.filter((f) => failed.includes(f.eventId))).toEqual([]);
    expect(after.dlqDepth).toBe(0);
    const again = await finished(
      `/v1/jobs/${Job.parse((await api('POST', '/v1/targets/flaky/redrive', {})).json).id}`,
    );
    expect(again).toMatchObject({ status: 'done', sent: 0 });
  }, 90_000);

  it('redrives the given events only', async () => {
    flaky.answer(500);
    const [first, second] = [await sendGithub(), await sendGithub()];
    await waitFor(
      'two failures',
      async () => {
        const page = FailedList.parse((await api('GET', '/v1/targets/flaky/failed?limit=100')).json);
        return [first, second].every((id) => page.failures.some((f) => f.eventId === id));
      },
      40_000,
      250,
    );
    flaky.answer(200);
    const job = await finished(
      `/v1/jobs/${Job.parse((await api('POST', '/v1/targets/flaky/redrive', { eventIds: [first] })).json).id}`,
    );
    expect(job).toMatchObject({ status: 'done', scanned: 1, matched: 1, sent: 1 });
    await waitFor('the one redriven', () => flaky.deliveredCount(first!) === 1, 20_000);
    expect(flaky.deliveredCount(second!)).toBe(0);
    expectProblem(await api('POST', '/v1/targets/flaky/redrive', { eventIds: ['x'] }), 400, 'eventIds[0]');
  }, 90_000);
});
