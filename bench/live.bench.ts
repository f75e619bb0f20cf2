/**
 * Live fan-out (issue 13, item 3):
 * - on the local stack, one event to 1,000 WebSocket clients: from the publish request to the moment the last
 *   client has it (publish → bus → broadcast queue → broadcast function → @connections → socket), median of 5 events.
 *   Goal ≤ 1 s.
 * - in process, the broadcast domain against the local DynamoDB with 1,000 connection records: DynamoDB read units
 *   per broadcast event in steady state (no connection changed), from the commands it sends (a GetItem of an item
 *   under 4 KB is 1 RCU strongly consistent, 0.5 eventually; a Query page is counted by its items' size). Goal ≈ 0.
 * Every loop is bounded in count and time.
 */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import type { RouterConfigInput } from '../core/config';
import { broadcastEvent, SubscriptionIndex, syncSubscriptions } from '../lambdas/broadcast/broadcast';
import { putConnection } from '../lambdas/shared/live-store';
import { startLocalStack } from '../local/stack';
import { callApi } from '../test/e2e/support/management';
import { startLocalAws } from '../test/support/aws-local';
import type { BenchFigure, BenchSuite } from './types';

const CLIENTS = 1_000;
const EVENTS = 5;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

async function fanOut(): Promise<BenchFigure[]> {
  const config: RouterConfigInput = {
    sources: [{ name: 'github', provider: 'github', secret: { secretName: 'bench/github' } }],
    targets: [],
    liveStream: { enabled: true, connectThrottle: { rateLimit: 500, burstLimit: 5000 } },
  };
  const stack = await startLocalStack({
    config,
    sweepIntervalSeconds: null,
    pollWaitSeconds: 1,
    functionLogs: false,
    log: () => {},
    concurrency: { connections: 4, broadcast: 1 },
  });
  const sockets: WebSocket[] = [];
  try {
    const url = `${stack.websocketUrl}?token=${encodeURIComponent(stack.secrets.streamToken)}`;
    const seen = new Map<string, number>();
    const arrivals = new Map<string, number>();
    const onMessage = (data: Buffer) => {
      const id = /"id":"([0-9A-Z]{26})"/.exec(data.toString('utf8', 0, 60))?.[1];
      if (!id) return;
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      if (n === CLIENTS) arrivals.set(id, performance.now());
    };
    // Connected 50 at a time (bounded: 1,000 in all, 120 s at most).
    const deadline = Date.now() + 120_000;
    while (sockets.length < CLIENTS && Date.now() < deadline) {
      const batch = await Promise.all(
        Array.from(
          { length: Math.min(50, CLIENTS - sockets.length) },
          () =>
            new Promise<WebSocket>((resolve, reject) => {
              const ws = new WebSocket(url);
              ws.once('open', () => resolve(ws));
              ws.once('error', reject);
              ws.on('message', onMessage);
            }),
        ),
      );
      sockets.push(...batch);
    }
    if (sockets.length < CLIENTS) throw new Error(`only ${sockets.length} clients connected`);
    const publish = async () => {
      const answer = await callApi(stack.http.url, 'POST', '/v1/events', {
        source: 'bench',
        type: 'tick',
        data: {},
      });
      return answer.json.events[0].id as string;
    };
    const waitAll = async (id: string) => {
      const until = Date.now() + 30_000;
      while (!arrivals.has(id) && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
      return arrivals.get(id);
    };
    // A first event warms every function and fills the subscription index.
    await waitAll(await publish());
    const latencies: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const started = performance.now();
      const id = await publish();
      const last = await waitAll(id);
      if (last !== undefined) latencies.push(last - started);
      await new Promise((r) => setTimeout(r, 200));
    }
    return [
      {
        name: 'live.fanout_1000_clients.last_receives_ms',
        value: Math.round(median(latencies)),
        unit: 'ms',
        goal: { value: 1000, better: 'lower' },
        note: `publish request → the ${CLIENTS}th local WebSocket client has the event; median of ${latencies.length} (max ${Math.round(Math.max(...latencies))} ms); includes the SQS long poll of the broadcast queue`,
      },
    ];
  } finally {
    for (const s of sockets) s.terminate();
    await stack.stop();
  }
}

async function readUnits(): Promise<BenchFigure[]> {
  const aws = await startLocalAws();
  try {
    for (let i = 0; i < CLIENTS; i++)
      await putConnection(aws.doc, aws.liveTableName, {
        connectionId: `bench${i}AbCdEf=`,
        pattern: { source: [{ prefix: 'webhook.' }] },
        connectedAt: new Date(0).toISOString(),
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
      });
    let units = 0;
    const doc = new Proxy(aws.doc, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (command: { constructor: { name: string }; input: { ConsistentRead?: boolean } }) => {
          const out = (await (target.send as (c: unknown) => Promise<{ Items?: unknown[] }>)(command)) ?? {};
          // Per 4 KB read: 1 unit strongly consistent, 0.5 eventually consistent.
          const perBlock = command.input.ConsistentRead ? 1 : 0.5;
          if (command.constructor.name === 'GetCommand') units += perBlock;
          if (command.constructor.name === 'QueryCommand')
            units += Math.max(
              perBlock,
              Math.ceil(Buffer.byteLength(JSON.stringify(out.Items ?? [])) / 4096) * perBlock,
            );
          return out;
        };
      },
    }) as DynamoDBDocumentClient;
    const deps = {
      doc,
      management: { send: async () => ({}) } as unknown as ApiGatewayManagementApiClient,
      tableName: aws.liveTableName,
      now: Date.now,
      concurrency: 25,
      subscriptions: new SubscriptionIndex(),
    };
    await syncSubscriptions(deps);
    const firstRead = units;
    units = 0;
    const batches = 20;
    const perBatch = 10;
    const event = {
      version: '0',
      id: 'e',
      'detail-type': 'tick',
      source: 'webhook.github',
      account: '0',
      time: '',
      region: '',
      resources: [],
      detail: { id: '01JDH8ZQ2K0000000000000000' },
    };
    for (let b = 0; b < batches; b++) {
      await syncSubscriptions(deps);
      for (let e = 0; e < perBatch; e++) await broadcastEvent(event, '{}', deps);
    }
    return [
      {
        name: 'live.broadcast.read_units_per_event',
        value: Number((units / (batches * perBatch)).toFixed(3)),
        unit: 'RCU',
        goal: { value: 0, better: 'lower' },
        note: `steady state, ${CLIENTS} connections, batches of ${perBatch}: one strongly consistent version GetItem per batch (a connection whose $connect answered is in the next batch's index); re-reading every connection (on a change) costs ${firstRead} RCU`,
      },
    ];
  } finally {
    await aws.stop();
  }
}

const suite: BenchSuite = {
  name: 'live',
  async run() {
    return [...(await readUnits()), ...(await fanOut())];
  },
};
export default suite;
