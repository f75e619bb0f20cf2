/**
 * SQS (and S3, same server): fauxqs on 127.0.0.1, speaking the JSON protocol of current SDK v3 clients.
 *
 * Queue URLs must point at 127.0.0.1: an SQSClient whose endpoint comes from AWS_ENDPOINT_URL_SQS (not from its
 * `endpoint` config) sends each call to the host of the QueueUrl (`useQueueUrlAsEndpoint`), and fauxqs' default
 * `sqs.us-east-1.localhost` does not resolve everywhere. So fauxqs gets its stores from us with the queue-URL host
 * unset, which makes it use the host the CreateQueue request came to (`http://127.0.0.1:<port>/000000000000/<name>`).
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import type { TargetPlan } from '../../core/plan';
import { closeServer, LOOPBACK, listenOnLoopback } from '../net';
import { LOCAL_REGION, localCredentials } from './aws-env';

export interface LocalSqsOptions {
  /** @default 0 (random) */
  readonly port?: number;
  readonly dataDir?: string;
  readonly faults?: import('../faults').FaultSwitch;
  readonly inFlightOnRestart?: 'keep' | 'release';
}

export interface QueuePair {
  readonly queueName: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqName: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
}

export interface LocalSqs {
  /** Endpoint for both SQS and S3 (path-style). */
  readonly endpoint: string;
  readonly port: number;
  readonly client: SQSClient;
  /**
   * The same queues without the wire: commands of the AWS-internal callers (EventBridge's queue targets, Lambda's
   * event source mapping) run fauxqs' own action handlers on its store in this thread — same validation, limits,
   * visibility, redrive and long polling as over HTTP, minus SDK serialisation, SigV4 and two socket round trips.
   */
  readonly direct: SqsSender;
  stop(): Promise<void>;
}

/** What the local AWS-internal callers need of an SQS client: `send(command, { abortSignal })`. */
export interface SqsSender {
  // biome-ignore lint/suspicious/noExplicitAny: mirrors SQSClient.send's overloads for the commands used locally.
  send(command: { readonly input: any }, options?: { abortSignal?: AbortSignal }): Promise<any>;
}

export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<LocalSqs> {
  // buildApp + our own listen, because startFauxqs binds 0.0.0.0 and we bind loopback only.
  const stores = await loopbackStores();
  const app = buildApp({ logger: false, stores });
  await app.ready();
  const port = await listenOnLoopback(app.server as Server, options.port ?? 0, 'SQS/S3 (fauxqs)');
  const endpoint = `http://${LOOPBACK}:${port}`;
  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
  return {
    endpoint,
    port,
    client,
    direct: await directSender(stores.sqsStore),
    async stop() {
      client.destroy();
      // app.close runs fauxqs' preClose hook, which releases long-polling receivers.
      await Promise.race([app.close(), new Promise((r) => setTimeout(r, 2_000))]);
      await closeServer(app.server as Server);
    },
  };
}

type FauxqsStores = NonNullable<NonNullable<Parameters<typeof buildApp>[0]>['stores']>;

/** A module of fauxqs' dist (not exported by the package: loaded by file). */
async function loadFauxqs<T>(file: string, name: string): Promise<T> {
  // The package exports only ".", with the "import" condition: find its directory along the node_modules paths.
  const roots = createRequire(import.meta.url).resolve.paths('fauxqs') ?? [];
  const root = roots
    .map((dir) => path.join(dir, 'fauxqs'))
    .find((dir) => existsSync(path.join(dir, 'package.json')));
  if (!root) throw new Error('fauxqs is not installed');
  return ((await import(pathToFileURL(path.join(root, 'dist', file)).href)) as Record<string, T>)[name]!;
}

// biome-ignore lint/suspicious/noExplicitAny: fauxqs' action handlers take the parsed JSON request body.
type SqsAction = (body: any, store: FauxqsStores['sqsStore']) => unknown;

/** The SQS commands the local internal callers send → fauxqs' action module for each. */
const DIRECT_ACTIONS = [
  [SendMessageCommand, 'sendMessage'],
  [SendMessageBatchCommand, 'sendMessageBatch'],
  [ReceiveMessageCommand, 'receiveMessage'],
  [DeleteMessageCommand, 'deleteMessage'],
  [DeleteMessageBatchCommand, 'deleteMessageBatch'],
  [ChangeMessageVisibilityBatchCommand, 'changeMessageVisibilityBatch'],
] as const;

/** Binary attribute values travel base64 on the JSON protocol; SDK inputs carry bytes. */
function wireAttributes<T extends { MessageAttributes?: Record<string, { BinaryValue?: unknown }> }>(
  entry: T,
): T {
  const attributes = entry.MessageAttributes;
  if (!attributes || !Object.values(attributes).some((a) => a?.BinaryValue instanceof Uint8Array))
    return entry;
  const wire: Record<string, unknown> = {};
  for (const [name, a] of Object.entries(attributes)) {
    wire[name] =
      a?.BinaryValue instanceof Uint8Array
        ? { ...a, BinaryValue: Buffer.from(a.BinaryValue).toString('base64') }
        : a;
  }
  return { ...entry, MessageAttributes: wire };
}

/** An SDK-shaped error from fauxqs' SqsError (name = the AWS error code, like a deserialised service error). */
function sdkError(error: unknown): unknown {
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    statusCode?: number;
    senderFault?: boolean;
  };
  if (e?.name !== 'SqsError' || typeof e.code !== 'string') return error;
  const out = new Error(e.message) as Error & Record<string, unknown>;
  out.name = e.code;
  out.$fault = e.senderFault === false ? 'server' : 'client';
  out.$metadata = { httpStatusCode: e.statusCode };
  return out;
}

async function directSender(store: FauxqsStores['sqsStore']): Promise<SqsSender> {
  const actions = new Map<unknown, SqsAction>();
  for (const [command, name] of DIRECT_ACTIONS) {
    actions.set(command, await loadFauxqs<SqsAction>(`sqs/actions/${name}.js`, name));
  }
  return {
    async send(command, options) {
      const action = actions.get(command.constructor);
      if (!action) throw new Error(`${command.constructor.name} is not available in-process`);
      let input = command.input;
      if (command instanceof SendMessageCommand) input = wireAttributes(input);
      else if (command instanceof SendMessageBatchCommand)
        input = { ...input, Entries: input.Entries?.map(wireAttributes) };
      const signal = options?.abortSignal;
      if (signal?.aborted) throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      let result: Promise<unknown>;
      try {
        result = Promise.resolve(action(input, store));
      } catch (error) {
        throw sdkError(error);
      }
      if (!signal) return result.catch((error: unknown) => Promise.reject(sdkError(error)));
      // A long poll in flight: an abort answers at once (the poll's waiter ends with its timer or at shutdown).
      return new Promise((resolve, reject) => {
        const onAbort = () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
        signal.addEventListener('abort', onAbort, { once: true });
        result.then(
          (value) => {
            signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(sdkError(error));
          },
        );
      });
    },
  };
}

/** fauxqs' stores, with the SQS queue-URL host unset (see the file comment). Not exported by the package: loaded by file. */
async function loopbackStores(): Promise<FauxqsStores> {
  const load = <T>(file: string, name: string) => loadFauxqs<new () => T>(file, name);
  const SqsStore = await load<FauxqsStores['sqsStore']>('sqs/sqsStore.js', 'SqsStore');
  const SnsStore = await load<FauxqsStores['snsStore']>('sns/snsStore.js', 'SnsStore');
  const S3Store = await load<FauxqsStores['s3Store']>('s3/s3Store.js', 'S3Store');
  const sqsStore = new SqsStore();
  (sqsStore as unknown as { host: string }).host = '';
  return { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() };
}

/** Queue names per target; the DLQ is `<queue>-dlq`. */
export function targetQueueNames(prefix: string, target: string): { queueName: string; dlqName: string } {
  const queueName = `${prefix}-${target}`;
  return { queueName, dlqName: `${queueName}-dlq` };
}

async function queueArn(client: SQSClient, queueUrl: string): Promise<string> {
  const out = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`queue ${queueUrl} has no QueueArn`);
  return arn;
}

/**
 * Creates a target's queue and DLQ with the plan's settings: visibility timeout, retention and
 * `RedrivePolicy.maxReceiveCount` (fauxqs moves a message to the DLQ on the receive after maxReceiveCount).
 */
export async function createTargetQueues(
  client: SQSClient,
  prefix: string,
  target: TargetPlan,
): Promise<QueuePair> {
  const { queueName, dlqName } = targetQueueNames(prefix, target.name);
  const dlq = await client.send(
    new CreateQueueCommand({
      QueueName: dlqName,
      Attributes: { MessageRetentionPeriod: String(target.dlq.retentionSeconds) },
    }),
  );
  const dlqUrl = dlq.QueueUrl!;
  const dlqArn = await queueArn(client, dlqUrl);
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: queueName,
      Attributes: {
        VisibilityTimeout: String(target.queue.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(target.queue.retentionSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: target.queue.maxReceiveCount,
        }),
      },
    }),
  );
  const queueUrl = queue.QueueUrl!;
  return { queueName, queueUrl, queueArn: await queueArn(client, queueUrl), dlqName, dlqUrl, dlqArn };
}

/** Visible + in-flight + delayed message counts of a queue. */
export async function queueDepth(
  client: SQSClient,
  queueUrl: string,
): Promise<{ visible: number; inFlight: number; delayed: number }> {
  const out = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = out.Attributes ?? {};
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}
