/**
 * Fault scenarios on the real local stack: each starts the pipeline, injects one fault (an AWS service failing or
 * throttling, a target misbehaving, a flood, a restart), sends webhooks the way providers do, and tallies
 * accepted = delivered + recorded as failed. Shared by the fault tier (test/faults/*.test.ts) and `npm run bench`
 * (faults.<scenario>.lost / .duplicates in bench/results.json).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RouterConfigInput } from '../../core/config';
import { FaultSwitch } from '../../local/faults';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { defaultSourceSecret } from '../../local/services/secrets';
import { queueDepth } from '../../local/services/sqs';
import { LOCAL_NAMES, type LocalStack, startLocalStack } from '../../local/stack';
import {
  type Behaviour,
  githubWebhook,
  type Outcome,
  type Receiver,
  reconcile,
  sendLikeAProvider,
  sendMany,
  sleep,
  startReceiver,
} from './support';

export const TARGET = 'agent';

interface Harness {
  readonly stack: LocalStack;
  readonly receiver: Receiver;
  readonly faults: FaultSwitch;
  readonly doc: DynamoDBDocumentClient;
  /** Sends `count` distinct signed webhooks like a provider; returns the ids of those acknowledged. */
  send(
    count: number,
    options?: { attempts?: number; parallel?: number; bytes?: number },
  ): Promise<Set<string>>;
  tally(scenario: string, accepted: ReadonlySet<string>, timeoutMs?: number): Promise<Outcome>;
  stop(): Promise<void>;
}

/** A local stack with one GitHub source and one target pointed at a scripted receiver. */
async function harness(
  behaviour: Behaviour = () => ({ status: 200 }),
  target: Partial<NonNullable<RouterConfigInput['targets']>[number]> = {},
): Promise<Harness> {
  const receiver = await startReceiver(behaviour);
  const faults = new FaultSwitch();
  const config: RouterConfigInput = {
    sources: [
      {
        name: 'github',
        provider: 'github',
        secret: { secretName: 'faults/github' },
        rateLimitPerSecond: 500,
        burstLimit: 1000,
      },
    ],
    targets: [
      {
        name: TARGET,
        kind: 'http',
        url: receiver.url,
        allowInsecure: true,
        allowPrivateNetwork: true,
        filter: { source: ['webhook.github'] },
        timeoutSeconds: 1,
        concurrency: 4,
        retry: { maxAttempts: 6 },
        ...target,
      } as NonNullable<RouterConfigInput['targets']>[number],
    ],
    liveStream: { enabled: false },
  };
  const stack = await startLocalStack({
    config,
    faults,
    sweepIntervalSeconds: 1,
    pollWaitSeconds: 1,
    retryDelays: { initialDelaySeconds: 1, maxDelaySeconds: 1 },
    functionLogs: false,
    log: () => {},
    concurrency: { ingest: 2 },
  });
  const doc = DynamoDBDocumentClient.from(stack.dynamodb.client);
  const secret = stack.secrets.source('github');
  return {
    stack,
    receiver,
    faults,
    doc,
    async send(count, options = {}) {
      const results = await sendMany(count, options.parallel ?? 5, () =>
        sendLikeAProvider(stack.webhookUrl('github'), githubWebhook(secret, { bytes: options.bytes }), {
          attempts: options.attempts ?? 1,
        }),
      );
      return new Set(results.flatMap((r) => (r.id ? [r.id] : [])));
    },
    tally: (scenario, accepted, timeoutMs = 30_000) =>
      reconcile({
        scenario,
        accepted,
        receiver,
        doc,
        tableName: stack.tableName,
        target: TARGET,
        timeoutMs,
        queueEmpty: async () => {
          const depth = await queueDepth(stack.sqs.client, stack.queues[TARGET]!.queueUrl);
          return depth.visible + depth.inFlight + depth.delayed === 0;
        },
      }),
    async stop() {
      await stack.stop();
      await receiver.stop();
    },
  };
}

async function withHarness(
  scenario: (h: Harness) => Promise<Outcome>,
  behaviour?: Behaviour,
  target?: Partial<NonNullable<RouterConfigInput['targets']>[number]>,
): Promise<Outcome> {
  const h = await harness(behaviour, target);
  try {
    return await scenario(h);
  } finally {
    await h.stop();
  }
}

/** EventBridge throttles every PutEvents for a while: accepted events wait as pending and are published after. */
export const eventbridgeThrottled = () =>
  withHarness(async (h) => {
    h.faults.set('eventbridge', { status: 400, code: 'ThrottlingException', message: 'Rate exceeded' });
    const accepted = await h.send(20);
    await sleep(2_000);
    h.faults.clear('eventbridge');
    return h.tally('eventbridge-throttled', accepted);
  });

/** DynamoDB fails every call for a while: nothing is acknowledged then; providers retry and get through after. */
export const dynamodbUnavailable = () =>
  withHarness(async (h) => {
    h.faults.set('dynamodb', { status: 500, code: 'InternalServerError', message: 'Internal server error' });
    const sending = h.send(20, { attempts: 30 });
    await sleep(2_000);
    h.faults.clear('dynamodb');
    const accepted = await sending;
    return h.tally('dynamodb-unavailable', accepted);
  });

/**
 * S3 fails: large payloads (claim check) are not acknowledged while it does, and deliveries that must fetch one
 * retry until it is back.
 */
export const s3Unavailable = () =>
  withHarness(async (h) => {
    h.faults.set('s3', { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' });
    const sending = h.send(5, { attempts: 30, bytes: 150_000 });
    await sleep(1_500);
    h.faults.clear('s3');
    const first = await sending;
    // Now only reads fail: the delivery cannot fetch the payloads for a while.
    h.faults.set('s3', { status: 503, code: 'SlowDown', operations: ['GetObject'] });
    const second = await h.send(5, { bytes: 150_000 });
    await sleep(2_000);
    h.faults.clear('s3');
    return h.tally('s3-unavailable', new Set([...first, ...second]));
  });

/** The target refuses connections for a few seconds, then comes back: every event is delivered. */
export const targetDown = () =>
  withHarness(async (h) => {
    await h.receiver.down();
    const accepted = await h.send(10);
    await sleep(3_000);
    await h.receiver.up();
    return h.tally('target-down', accepted);
  });

/**
 * The target is down long enough to open its circuit breaker (3 failures in a row): its queue is paused, events wait
 * there without spending attempts; once the target is back a probe closes the breaker and every event is delivered.
 */
export const breakerOpens = () =>
  withHarness(
    async (h) => {
      await h.receiver.down();
      const accepted = await h.send(20);
      const mapping = h.stack.lambdaApi.mappings()[0]!;
      const deadline = Date.now() + 20_000;
      while (mapping.isEnabled() && Date.now() < deadline) await sleep(100);
      if (mapping.isEnabled()) throw new Error('the breaker did not pause the queue');
      await sleep(1_500);
      await h.receiver.up();
      const outcome = await h.tally('breaker-opens', accepted);
      // The probe found the target back: the breaker closed and the queue is consumed again.
      if (!mapping.isEnabled()) throw new Error('the queue was not resumed after the target came back');
      return outcome;
    },
    undefined,
    // Ten attempts per event: without the breaker, 20 events would make up to 200 requests to a dead target.
    { retry: { maxAttempts: 10 }, circuitBreaker: { consecutiveFailures: 3 } },
  );

/** The target stays down past the last attempt: every event is recorded as failed, none is lost. */
export const targetDownForGood = () =>
  withHarness(
    async (h) => {
      await h.receiver.down();
      const accepted = await h.send(10);
      return h.tally('target-down-for-good', accepted);
    },
    undefined,
    { retry: { maxAttempts: 2 } },
  );

/**
 * The target is slower than its timeout on the first try (and still processes the request): the retry delivers
 * it again — the duplicates the receiver must drop by webhook-id.
 */
export const targetSlow = () =>
  withHarness(
    async (h) => h.tally('target-slow', await h.send(10)),
    (_id, n) => (n === 1 ? { status: 200, delayMs: 2_500 } : { status: 200 }),
  );

/** The target answers 410 Gone: it is paused, events wait in its queue, and after a resume all are delivered. */
export const targetGone = () => {
  let gone = true;
  return withHarness(
    async (h) => {
      const accepted = await h.send(10);
      const mapping = h.stack.lambdaApi.mappings()[0]!;
      const deadline = Date.now() + 15_000;
      while (mapping.isEnabled() && Date.now() < deadline) await sleep(100);
      if (mapping.isEnabled()) throw new Error('the target was not paused after answering 410');
      const seenWhilePaused = h.receiver.requests.length;
      await sleep(1_500);
      if (h.receiver.requests.length > seenWhilePaused + 4) throw new Error('a paused target kept receiving');
      // Resumed by hand, once the target is back.
      gone = false;
      mapping.setEnabled(true);
      return h.tally('target-gone-410', accepted);
    },
    () => (gone ? { status: 410 } : { status: 200 }),
  );
};

/** The target answers 429 with Retry-After twice per event, then takes it. */
export const targetThrottling = () =>
  withHarness(
    async (h) => h.tally('target-429', await h.send(10)),
    (_id, n) => (n <= 2 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }),
  );

/** The target fails with 500 twice per event, then takes it. */
export const targetErrors = () =>
  withHarness(
    async (h) => h.tally('target-500', await h.send(10)),
    (_id, n) => (n <= 2 ? { status: 500 } : { status: 200 }),
  );

/** 50 copies of one signed webhook (same delivery id) at once: one event, one delivery. */
export const concurrentDuplicates = () =>
  withHarness(async (h) => {
    const request = githubWebhook(h.stack.secrets.source('github'));
    const results = await Promise.all(
      Array.from({ length: 50 }, () => sendLikeAProvider(h.stack.webhookUrl('github'), request)),
    );
    const accepted = new Set(results.flatMap((r) => (r.id ? [r.id] : [])));
    if (accepted.size !== 1) throw new Error(`50 copies of one delivery became ${accepted.size} events`);
    return h.tally('duplicates-50', accepted);
  });

/**
 * 1,500 requests that do not know the source's URL token, while 20 signed webhooks arrive on the real URL: the
 * flood lands on the catch-all and its own throttle, so every real webhook is accepted.
 */
export const unsignedFlood = () =>
  withHarness(async (h) => {
    const base = h.stack.webhookUrl('github').replace(/\/[^/]+$/, '');
    const flood = sendMany(1_500, 50, (i) =>
      fetch(i % 2 ? base : `${base}/GuessedTokenGuessedTokenGuessed00`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
        .then((r) => r.status)
        .catch(() => 0),
    );
    await sleep(100);
    const real = await h.send(20, { parallel: 2 });
    const floodStatuses = await flood;
    if (real.size !== 20)
      throw new Error(`only ${real.size} of 20 signed webhooks were accepted during the flood`);
    if (floodStatuses.some((s) => s === 202)) throw new Error('an unsigned request was accepted');
    return h.tally('unsigned-flood', real);
  });

// ─── restarts: `npm start --data-dir` as a child process ─────────────────────────────────────────────────────────

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Child {
  readonly process: ChildProcess;
  readonly webhookUrl: string;
  readonly dynamodbEndpoint: string;
  readonly exited: Promise<number | null>;
}

/**
 * Starts local/main.ts (what `npm start` runs) and waits for its banner. Node itself with tsx as a loader, not the
 * tsx command: that one runs the program in a child process of its own, which a SIGKILL to the command would not
 * reach.
 */
async function startChild(configFile: string, dataDir: string): Promise<Child> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'local/main.ts',
      '--quiet',
      '--config',
      configFile,
      '--data-dir',
      dataDir,
      '--http-port',
      '0',
      '--ws-port',
      '0',
      '--sweep-interval',
      '1',
      '--retry-delay',
      '1',
    ],
    { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!output.includes('Ctrl-C to stop.')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the local stack did not start:\n${output}`);
    }
    await sleep(100);
  }
  const webhookUrl = /Webhook URL \(github\): (\S+)/.exec(output)?.[1];
  const dynamodbEndpoint = /DynamoDB (http:\/\/\S+)/.exec(output)?.[1];
  if (!webhookUrl || !dynamodbEndpoint)
    throw new Error(`no webhook URL or DynamoDB endpoint in the banner:\n${output}`);
  return { process: child, webhookUrl, dynamodbEndpoint, exited };
}

async function withChildStacks(
  behaviour: Behaviour,
  scenario: (context: {
    receiver: Receiver;
    start: () => Promise<Child>;
    secret: string;
    tally: (name: string, accepted: ReadonlySet<string>, child: Child) => Promise<Outcome>;
  }) => Promise<Outcome>,
): Promise<Outcome> {
  const receiver = await startReceiver(behaviour);
  const dir = mkdtempSync(path.join(tmpdir(), 'event-router-faults-'));
  const configFile = path.join(dir, 'router.config.mjs');
  writeFileSync(
    configFile,
    `export default ${JSON.stringify({
      sources: [{ name: 'github', provider: 'github', secret: { secretName: 'faults/github' } }],
      targets: [
        {
          name: TARGET,
          kind: 'http',
          url: receiver.url,
          allowInsecure: true,
          allowPrivateNetwork: true,
          filter: { source: ['webhook.github'] },
          timeoutSeconds: 1,
          concurrency: 4,
          retry: { maxAttempts: 10 },
        },
      ],
      liveStream: { enabled: false },
    })};\n`,
  );
  const children: Child[] = [];
  try {
    return await scenario({
      receiver,
      secret: defaultSourceSecret({ name: 'github', provider: 'github' }),
      start: async () => {
        const child = await startChild(configFile, path.join(dir, 'data'));
        children.push(child);
        return child;
      },
      tally: async (name, accepted, child) => {
        const client = new DynamoDBClient({
          endpoint: child.dynamodbEndpoint,
          region: LOCAL_REGION,
          credentials: localCredentials,
        });
        try {
          return await reconcile({
            scenario: name,
            accepted,
            receiver,
            doc: DynamoDBDocumentClient.from(client),
            tableName: LOCAL_NAMES.table,
            target: TARGET,
            timeoutMs: 40_000,
            settleMs: 2_000,
          });
        } finally {
          client.destroy();
        }
      },
    });
  } finally {
    for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The target is down while 30 webhooks are accepted; the stack is stopped (Ctrl-C) and started again on the same
 * data directory with the target back: every event is delivered.
 */
export const cleanRestart = () =>
  withChildStacks(
    () => ({ status: 200 }),
    async ({ receiver, start, secret, tally }) => {
      await receiver.down();
      const first = await start();
      const results = await sendMany(30, 5, () =>
        sendLikeAProvider(first.webhookUrl, githubWebhook(secret), { attempts: 3 }),
      );
      const accepted = new Set(results.flatMap((r) => (r.id ? [r.id] : [])));
      first.process.kill('SIGINT');
      if ((await first.exited) !== 0) throw new Error('the stack did not stop cleanly');
      await receiver.up();
      const second = await start();
      const outcome = await tally('restart-clean', accepted, second);
      second.process.kill('SIGINT');
      await second.exited;
      return outcome;
    },
  );

/**
 * kill -9 in the middle of a burst of 50 webhooks (the target slow, so deliveries are in flight too); the providers
 * keep retrying what was not acknowledged; the stack starts again on the same data directory.
 */
export const killMidBurst = () =>
  withChildStacks(
    () => ({ status: 200, delayMs: 150 }),
    async ({ start, secret, tally }) => {
      let current = await start();
      let acknowledged = 0;
      const burst = sendMany(50, 5, async () => {
        const result = await sendLikeAProvider(() => current.webhookUrl, githubWebhook(secret), {
          attempts: 60,
          backoffMs: 250,
        });
        if (result.id) acknowledged++;
        return result;
      });
      const deadline = Date.now() + 30_000;
      while (acknowledged < 20 && Date.now() < deadline) await sleep(20);
      current.process.kill('SIGKILL');
      await current.exited;
      current = await start();
      const results = await burst;
      const accepted = new Set(results.flatMap((r) => (r.id ? [r.id] : [])));
      const outcome = await tally('kill-9-mid-burst', accepted, current);
      current.process.kill('SIGINT');
      await current.exited;
      return outcome;
    },
  );
