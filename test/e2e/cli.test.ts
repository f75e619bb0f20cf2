/**
 * The `event-router` CLI against the local stack, in process (the commands a new operator runs, as the README shows
 * them): send → events list → events get → pause → send → queue depth 1 → resume → delivered; a replay of a time
 * range with a pattern to one target, with exact counts; a redrive after an outage that delivers every failed event
 * once; tail and forward over the live stream; exit codes and --json.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, type Io, main } from '../../cli/main';
import type { RouterConfigInput } from '../../core/config';
import { ulidFloor, ulidTime } from '../../core/contracts';
import { EventDetail, EventList, Job, TargetList } from '../../core/management';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { localStackState, writeLocalState } from '../../local/state';
import { waitFor } from '../local/helpers';
import { operatorTargets, type Receiver, startReceiver } from './support/management';
import { providerSources, secretEnv } from './support/providers';

const config: RouterConfigInput = {
  sources: providerSources(),
  targets: operatorTargets('stripe'),
};

let stack: LocalStack;
let all: Receiver;
let flaky: Receiver;
let stateFile: string;

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
  stateFile = path.join(mkdtempSync(path.join(tmpdir(), 'event-router-cli-')), 'local-stack.json');
  writeLocalState(localStackState(stack), stateFile);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await all?.stop();
  await flaky?.stop();
});

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `event-router <args>` in process against the local stack (its state file). */
async function cli(
  args: string[],
  options: {
    signal?: AbortSignal;
    state?: string;
    files?: Record<string, string>;
    /** Called with each line the command writes to stderr, as it writes it. */
    onErr?: (line: string) => void;
  } = {},
): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    isTTY: false,
    env: { EVENT_ROUTER_LOCAL_STATE: options.state ?? stateFile },
    out: (t) => out.push(t),
    err: (t) => {
      err.push(t);
      options.onErr?.(t);
    },
    readFile: (p) => {
      const text = options.files?.[p];
      if (text === undefined) throw new Error(`ENOENT: ${p}`);
      return text;
    },
    pollMs: 200,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const code = await main(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/**
 * A live command (`tail`, `forward`) and the moment its connection opened (its "connected to" status line): only
 * events published after that are sure to reach it live — the first agent after a quiet spell waits about 1.5 s for
 * publishers to see it (LIVE_LEASE in core/contracts.ts).
 */
function live(args: string[], signal: AbortSignal): { run: Promise<Run>; connected: Promise<void> } {
  let opened!: () => void;
  const connected = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const run = cli(args, {
    signal,
    onErr: (line) => {
      if (line.startsWith('connected to ')) opened();
    },
  });
  return {
    run,
    connected: Promise.race([
      connected,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${args[0]} never connected`)), 20_000),
      ),
    ]),
  };
}

const idOf = (run: Run) => {
  const id = /event ([0-9A-Z]{26})/.exec(run.out)?.[1];
  if (!id) throw new Error(`no event id in: ${run.out} ${run.err}`);
  return id;
};

const targetRow = async (name: string) => {
  const run = await cli(['--json', 'targets']);
  return TargetList.parse(JSON.parse(run.out)).targets.find((t) => t.name === name)!;
};

describe('an operator’s first session', () => {
  it('send → events list → events get → pause → send → depth 1 → resume → delivered', async () => {
    const sent = await cli(['send', 'github']);
    expect(sent.code, sent.err).toBe(EXIT.ok);
    expect(sent.out).toMatch(/^202 accepted: event [0-9A-Z]{26} \(github pull_request\.opened, delivery /);
    const id = idOf(sent);

    const list = await cli(['events', 'list', '--limit', '5']);
    expect(list.code).toBe(EXIT.ok);
    const header = list.out.split('\n')[0]!;
    expect(header).toMatch(/^ID\s+RECEIVED\s+SOURCE\s+TYPE\s+SUBJECT$/);
    expect(list.out.split('\n')[1]).toMatch(
      new RegExp(`^${id}\\s+\\d{4}-\\d{2}-\\d{2} [\\d:]{8}\\s+github\\s+pull_request\\.opened\\s+`),
    );

    await waitFor('the delivery', () => all.deliveredCount(id) === 1, 20_000);
    const detail = await waitFor('the delivery in the log', async () => {
      const run = await cli(['events', 'get', id]);
      return /\ball\s+delivered\s+1\b/.test(run.out) ? run : undefined;
    });
    expect(detail.out).toMatch(/^id {10}[0-9A-Z]{26}$/m);
    expect(detail.out).toMatch(/^type {8}pull_request\.opened$/m);
    expect(detail.out).toMatch(/^attempts$/m);
    expect(detail.out).toMatch(/\ball\s+\S+\s+1\s+[\d-]+ [\d:]+\s+delivered\s+200\s+\d+ ms/);
    expect(detail.out).toMatch(/^payload$/m);

    const paused = await cli(['pause', 'all']);
    expect(paused.code).toBe(EXIT.ok);
    expect(paused.out).toMatch(/\ball\s+http\s+paused \(paused by an operator\)/);
    const second = idOf(await cli(['send', 'github', '--type', 'issues.opened']));
    const waiting = await waitFor('queue depth 1', async () => {
      const row = await targetRow('all');
      return row.queueDepth === 1 ? row : undefined;
    });
    expect(waiting.state).toBe('paused');
    expect(all.deliveredCount(second)).toBe(0);

    const resumed = await cli(['resume', 'all']);
    expect(resumed.code).toBe(EXIT.ok);
    expect(resumed.out).toMatch(/\ball\s+http\s+active\b/);
    await waitFor('the delivery after resume', () => all.deliveredCount(second) === 1, 20_000);
    const row = await waitFor('an empty queue', async () => {
      const r = await targetRow('all');
      return r.queueDepth === 0 && r.inFlight === 0 ? r : undefined;
    });
    expect(row.state).toBe('active');
  }, 90_000);

  it('sends a signed sample for every provider, accepted and stored with its type', async () => {
    for (const provider of [
      'github',
      'stripe',
      'slack',
      'linear',
      'standard-webhooks',
      'shopify',
      'twilio',
      'generic',
    ]) {
      const run = await cli(['--json', 'send', provider]);
      expect(run.code, `${provider}: ${run.out} ${run.err}`).toBe(EXIT.ok);
      const answer = JSON.parse(run.out) as { status: number; body: { id: string }; type: string };
      expect(answer.status).toBe(202);
      const detail = EventDetail.parse(
        JSON.parse((await cli(['--json', 'events', 'get', answer.body.id])).out),
      );
      expect(detail.event.type).toBe(answer.type);
    }
  }, 90_000);
});

describe('replay', () => {
  it('replays a time range with a pattern to one target, with exact counts and progress', async () => {
    const from = new Date().toISOString();
    const matching = [
      idOf(await cli(['send', 'github', '--type', 'issues.edited'])),
      idOf(await cli(['send', 'github', '--type', 'issues.edited'])),
    ];
    idOf(await cli(['send', 'github', '--type', 'issues.deleted']));
    const published = await cli([
      'publish',
      '--source',
      'ops',
      '--type',
      'issues.edited',
      '--data',
      '{"n":1}',
    ]);
    expect(published.out).toMatch(/^published [0-9A-Z]{26}$/);
    await waitFor('first deliveries', () => matching.every((id) => all.deliveredCount(id) === 1), 20_000);
    const to = new Date().toISOString();
    const later = idOf(await cli(['send', 'github', '--type', 'issues.edited']));

    const run = await cli([
      'replay',
      '--from',
      from,
      '--to',
      to,
      '--target',
      'all',
      '--pattern',
      '{"source":["webhook.github"],"detail-type":["issues.edited"]}',
    ]);
    expect(run.code, run.err).toBe(EXIT.ok);
    expect(run.out).toMatch(/^replay rpl_\S+ done: 2 sent to all \(2 matched, 4 scanned\)$/);
    expect(run.err).toMatch(/^replay {2}\[#{24}\] 100% {2}sent 2 of 2 matched · 4 scanned · done$/m);
    await waitFor(
      'the replayed deliveries',
      () => matching.every((id) => all.deliveredCount(id) === 2),
      20_000,
    );
    expect(all.deliveredCount(later)).toBe(1);
  }, 60_000);

  it('starts without following (--no-wait), and shows the job', async () => {
    const started = await cli([
      '--json',
      'replay',
      '--from',
      '5m',
      '--target',
      'all',
      '--pattern',
      '{"source":["webhook.none"]}',
      '--no-wait',
    ]);
    const job = Job.parse(JSON.parse(started.out));
    const shown = await waitFor('the job done', async () => {
      const run = await cli(['job', job.id]);
      return run.out.includes(' done') ? run : undefined;
    });
    expect(shown.out).toMatch(/^replay {2}\[#{24}\] 100% {2}sent 0 of 0 matched · \d+ scanned · done$/m);
    const cancelled = await cli(['cancel', job.id]);
    expect(cancelled.code).toBe(EXIT.failed);
    expect(cancelled.err).toMatch(/409 job \S+ has already ended \(done\)/);
  });
});

describe('failed deliveries and redrive after an outage', () => {
  it('lists the failures, then delivers every failed event once', async () => {
    flaky.answer(503);
    const ids = [
      idOf(await cli(['send', 'stripe'])),
      idOf(await cli(['send', 'stripe'])),
      idOf(await cli(['send', 'stripe'])),
    ];
    const failed = await waitFor(
      'three failures',
      async () => {
        const run = await cli(['failed', 'flaky']);
        return ids.every((id) => run.out.includes(id)) && /DLQ: 3 message/.test(run.out) ? run : undefined;
      },
      40_000,
      300,
    );
    expect(failed.out.split('\n')[0]).toMatch(/^EVENT\s+FAILED AT\s+ATTEMPTS\s+STATUS\s+ERROR$/);
    for (const id of ids)
      expect(failed.out).toMatch(new RegExp(`^${id}\\s+\\S+ \\S+\\s+2\\s+503\\s+\\S`, 'm'));

    flaky.answer(200);
    const redrive = await cli(['redrive', 'flaky']);
    expect(redrive.code, redrive.err).toBe(EXIT.ok);
    expect(redrive.out).toMatch(/^redrive rdr_\S+ done: 3 sent to flaky \(3 matched, 3 scanned\)$/);
    await waitFor(
      'every failed event delivered',
      () => ids.every((id) => flaky.deliveredCount(id) === 1),
      20_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    for (const id of ids) expect(flaky.deliveredCount(id)).toBe(1);
    const empty = await cli(['failed', 'flaky']);
    expect(empty.out).toBe('no failed deliveries\nDLQ: 0 message(s)');
  }, 90_000);
});

describe('live events', () => {
  it('tail prints matching live events, one line each', async () => {
    const controller = new AbortController();
    const { run: tail, connected } = live(
      ['tail', '--pattern', '{"detail-type":["issues.labeled"]}', '--count', '2'],
      controller.signal,
    );
    await connected;
    const first = idOf(await cli(['send', 'github', '--type', 'issues.labeled']));
    await cli(['send', 'github', '--type', 'issues.unlabeled']);
    const second = idOf(await cli(['send', 'github', '--type', 'issues.labeled']));
    const run = await Promise.race([
      tail,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('tail did not end')), 20_000)),
    ]).finally(() => controller.abort());
    expect(run.code).toBe(EXIT.ok);
    const lines = run.out.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^\\S+ \\S+  github  issues\\.labeled  ${first}  \\S+/\\S+$`));
    expect(lines[1]).toContain(second);
  }, 40_000);

  it('replays to live agents only when asked (--live)', async () => {
    const pattern = '{"detail-type":["issues.milestoned"]}';
    const tailUntil = (signal: AbortSignal) => live(['tail', '--pattern', pattern, '--count', '1'], signal);
    const ended = (run: Promise<Run>, ms: number) =>
      Promise.race([
        run,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('tail did not end')), ms)),
      ]);
    // A first agent sees the event live: after that, its broadcast is over and a later agent can only get a replay.
    const first = new AbortController();
    const witness = tailUntil(first.signal);
    await witness.connected;
    const id = idOf(await cli(['send', 'github', '--type', 'issues.milestoned']));
    expect((await ended(witness.run, 20_000).finally(() => first.abort())).out).toContain(id);

    const second = new AbortController();
    const { run: agent, connected } = tailUntil(second.signal);
    let done = false;
    void agent.then(() => {
      done = true;
    });
    await connected;
    const replay = ['replay', '--target', 'all', '--from', '10m', '--pattern', pattern];
    const quiet = await cli(replay);
    expect(quiet.code, quiet.err).toBe(EXIT.ok);
    expect(quiet.out).toMatch(/done: 1 sent to all \(1 matched/);
    // A replay goes to its target only: the agent got nothing.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(done).toBe(false);
    const loud = await cli([...replay, '--live']);
    expect(loud.code, loud.err).toBe(EXIT.ok);
    const run = await ended(agent, 20_000).finally(() => second.abort());
    expect(run.out.split('\n')).toHaveLength(1);
    expect(run.out).toContain(id);
  }, 90_000);

  it('forward POSTs each live event to a local URL, signed like a target delivery', async () => {
    const agent = await startReceiver();
    try {
      const secret = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;
      const { run: forward, connected: forwarding } = live(
        [
          'forward',
          '--to',
          agent.url,
          '--secret',
          secret,
          '--pattern',
          '{"source":["webhook.shopify"]}',
          '--count',
          '1',
        ],
        new AbortController().signal,
      );
      await forwarding;
      const id = idOf(await cli(['send', 'shopify']));
      const run = await Promise.race([
        forward,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('forward did not end')), 20_000)),
      ]);
      expect(run.code, run.err).toBe(EXIT.ok);
      expect(run.out).toMatch(new RegExp(`${id}.*→ 200$`));
      const [request] = agent.received;
      expect(request!.id).toBe(id);
      // Verified with the Standard Webhooks library, as an agent would.
      const verified = new Webhook(secret).verify(
        request!.body,
        request!.headers as Record<string, string>,
      ) as {
        id: string;
        type: string;
      };
      expect(verified).toMatchObject({ id, type: 'orders.create' });
    } finally {
      await agent.stop();
    }
  }, 40_000);
});

describe('agents', () => {
  it('agents create prints the key once; tail --key --since replays what the key allows, then list and revoke', async () => {
    const created = await cli([
      'agents',
      'create',
      'cli-agent',
      '--pattern',
      '{"detail-type":[{"prefix":"issues."}]}',
      '--max-connections',
      '2',
    ]);
    expect(created.code, created.err).toBe(EXIT.ok);
    const key = /key \(shown once; store it now\): (erk_\S+)$/m.exec(created.out)?.[1];
    expect(key).toBeDefined();
    const id = key!.slice(4, 20);

    // Stored before the tail starts: --since brings them back (only those the key allows).
    const before = idOf(await cli(['send', 'github', '--type', 'issues.edited']));
    // The lowest id of its millisecond: just before it.
    const since = ulidFloor(ulidTime(before));
    await cli(['send', 'github', '--type', 'pull_request.opened']);
    const after = idOf(await cli(['send', 'github', '--type', 'issues.assigned']));
    const tail = await Promise.race([
      cli(['--json', 'tail', '--key', key!, '--since', since, '--count', '2']),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('tail did not end')), 20_000)),
    ]);
    expect(tail.code, tail.err).toBe(EXIT.ok);
    const ids = tail.out.split('\n').map((line) => (JSON.parse(line) as { id: string }).id);
    expect(ids).toEqual([before, after]);

    const outside = await cli(['tail', '--key', key!, '--pattern', '{"source":["webhook.github"]}']);
    expect(outside.code).not.toBe(EXIT.ok);
    expect(outside.err).toMatch(/outside this key's allowance/);

    const list = JSON.parse((await cli(['--json', 'agents', 'list'])).out) as {
      agents: { id: string; name: string }[];
    };
    expect(list.agents.find((a) => a.id === id)).toMatchObject({ name: 'cli-agent' });
    const revoked = await cli(['agents', 'revoke', id]);
    expect(revoked.code, revoked.err).toBe(EXIT.ok);
    expect(revoked.out).toMatch(/closed 0 live connection\(s\)/);
    const refused = await cli(['tail', '--key', key!]);
    expect(refused.err).toMatch(/revoked/);
  }, 60_000);
});

describe('exit codes and errors', () => {
  it('2 for usage errors and requests the API refuses as invalid', async () => {
    expect((await cli(['events', 'list', '--limit', 'x'])).code).toBe(EXIT.usage);
    const bad = await cli(['events', 'get', 'not-an-id']);
    expect(bad).toMatchObject({ code: EXIT.usage });
    expect(bad.err).toMatch(/^error: 400 invalid path: id: must be an event id/);
    expect((await cli(['replay', '--from', 'yesterday', '--target', 'all'])).code).toBe(EXIT.usage);
    expect(
      (await cli(['replay', '--from', '1h', '--target', 'all', '--pattern', '{"source":"x"}'])).code,
    ).toBe(EXIT.usage);
    expect((await cli(['send', 'nope'])).code).toBe(EXIT.usage);
    expect((await cli(['bogus'])).code).toBe(EXIT.usage);
  });

  it('1 when the operation fails: an unknown target or event', async () => {
    const run = await cli(['pause', 'nope']);
    expect(run).toMatchObject({ code: EXIT.failed });
    expect(run.err).toMatch(/^error: 404 no target nope/);
    expect((await cli(['events', 'get', '01J0000000000000000000000A'])).code).toBe(EXIT.failed);
  });

  it('3 when no stack runs, or the credentials are refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'event-router-cli-'));
    const none = await cli(['targets'], { state: path.join(dir, 'missing.json') });
    expect(none.code).toBe(EXIT.unreachable);
    expect(none.err).toMatch(/the local stack is not running/);
    const wrong = path.join(dir, 'wrong.json');
    const state = localStackState(stack);
    writeFileSync(
      wrong,
      JSON.stringify({ ...state, credentials: { accessKeyId: 'local', secretAccessKey: 'nope' } }),
    );
    const refused = await cli(['targets'], { state: wrong });
    expect(refused.code).toBe(EXIT.unreachable);
    expect(refused.err).toMatch(/403 The request signature we calculated does not match/);
  });

  it('--json prints the API’s answers', async () => {
    const list = EventList.parse(JSON.parse((await cli(['--json', 'events', 'list', '--limit', '2'])).out));
    expect(list.events).toHaveLength(2);
    const openapi = JSON.parse((await cli(['openapi'])).out) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toContain('/v1/events');
  });
});
