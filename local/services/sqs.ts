/**
 * SQS and S3 on one endpoint on 127.0.0.1: our own emulator (./sqs-store.ts, ./sqs-actions.ts, ./s3.ts), durable
 * under `dataDir` (./journal.ts), speaking the protocols current SDK v3 clients use — SQS's AWS JSON 1.0
 * (`POST /`, `x-amz-target: AmazonSQS.<Action>`) and S3's REST-XML (path-style).
 *
 * Queue URLs are `http://127.0.0.1:<port>/000000000000/<name>`: an SQSClient whose endpoint comes from
 * AWS_ENDPOINT_URL_SQS sends each call to the host of the QueueUrl, so the URL must point here.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { TargetPlan } from '../../core/plan';
import type { FaultSwitch } from '../faults';
import { BodyTooLargeError, closeServer, LOOPBACK, listenOnLoopback, readBody } from '../net';
import { LOCAL_REGION, localCredentials } from './aws-env';
import { type LocalS3, startS3 } from './s3';
import { SqsActions } from './sqs-actions';
import { SqsError, toSdkError } from './sqs-errors';
import { SqsStore } from './sqs-store';

export interface LocalSqsOptions {
  /** @default 0 (random) */
  readonly port?: number;
  /** Persist queues, messages and S3 objects in this directory; in memory when absent. */
  readonly dataDir?: string;
  /** fsync every journal record (survives power loss too; process death is covered without it). @default false */
  readonly fsync?: boolean;
  /** Journal bytes after which it is compacted into a snapshot. @default 64 MiB */
  readonly compactBytes?: number;
  /** Consulted on every SQS and S3 call, over HTTP and in-process: a fault answers with that AWS error. */
  readonly faults?: FaultSwitch;
  /** Clock (ms) for retention, visibility, delays and deduplication; tests inject one. @default Date.now */
  readonly now?: () => number;
  /**
   * Messages in flight when the emulator stopped: `keep` (AWS) leaves them invisible until their visibility
   * deadline; `release` makes them visible at once (their consumer is gone). @default 'keep'
   */
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
   * The same queues without the wire: SDK command objects of the AWS-internal callers (EventBridge's queue targets,
   * Lambda's event source mapping) run the same actions on the same store in this thread — same validation, limits,
   * faults, visibility, redrive and long polling as over HTTP, minus SDK serialisation, SigV4 and two socket trips.
   */
  readonly direct: SqsSender;
  /**
   * Seconds since the oldest message still in a queue (visible, in flight or delayed) was enqueued, or null when it
   * is empty or unknown: what CloudWatch reports as ApproximateAgeOfOldestMessage.
   */
  oldestMessageAge(queueName: string): number | null;
  /** What CloudWatch would report for a queue: messages by state and the age of the oldest (local metrics). */
  queueMetrics(queueUrl: string): {
    visible: number;
    inFlight: number;
    delayed: number;
    oldestAgeSeconds: number;
  };
  stop(): Promise<void>;
}

/** What the local AWS-internal callers need of an SQS client: `send(command, { abortSignal })`. */
export interface SqsSender {
  // biome-ignore lint/suspicious/noExplicitAny: mirrors SQSClient.send's overloads for the commands used locally.
  send(command: { readonly input: any }, options?: { abortSignal?: AbortSignal }): Promise<any>;
}

/** Largest SQS request body accepted over HTTP (a 1 MiB message with base64 attributes fits easily). */
const MAX_SQS_REQUEST_BYTES = 8 * 1024 * 1024;
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';

export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<LocalSqs> {
  const store = new SqsStore({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.fsync !== undefined ? { fsync: options.fsync } : {}),
    ...(options.compactBytes !== undefined ? { compactBytes: options.compactBytes } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.inFlightOnRestart ? { inFlightOnRestart: options.inFlightOnRestart } : {}),
  });
  let endpoint = '';
  const sqs = new SqsActions(store, () => endpoint);
  let s3: LocalS3;
  try {
    s3 = startS3({
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.fsync !== undefined ? { fsync: options.fsync } : {}),
      ...(options.compactBytes !== undefined ? { compactBytes: options.compactBytes } : {}),
      ...(options.faults ? { faults: options.faults } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
  } catch (error) {
    sqs.stop();
    store.close();
    throw error;
  }
  const server = createServer((req, res) => {
    const target = req.headers['x-amz-target'];
    if (req.method === 'POST' && typeof target === 'string' && target.startsWith('AmazonSQS.')) {
      void serveSqs(sqs, options.faults, target.slice('AmazonSQS.'.length), req, res);
    } else {
      s3.handle(req, res);
    }
  });
  let port: number;
  try {
    port = await listenOnLoopback(server, options.port ?? 0, 'SQS/S3');
  } catch (error) {
    sqs.stop();
    store.close();
    s3.close();
    throw error;
  }
  endpoint = `http://${LOOPBACK}:${port}`;
  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
  let stopped = false;
  return {
    endpoint,
    port,
    client,
    direct: directSender(sqs, options.faults),
    oldestMessageAge(queueName) {
      const queue = store.getQueue(queueName);
      if (!queue || queue.messages.size === 0) return null;
      let oldest = Number.POSITIVE_INFINITY;
      for (const message of queue.messages.values()) oldest = Math.min(oldest, message.enqueuedAt);
      return Math.max(0, Math.floor(((options.now ?? Date.now)() - oldest) / 1000));
    },
    queueMetrics: (queueUrl) => sqs.queueMetrics(queueUrl),
    async stop() {
      if (stopped) return;
      stopped = true;
      client.destroy();
      // Long polls answer (empty) first, then the server closes, then the journals compact.
      sqs.stop();
      await new Promise((resolve) => setImmediate(resolve));
      await closeServer(server);
      store.close();
      s3.close();
    },
  };
}

/** One SQS call over HTTP (AWS JSON 1.0). */
async function serveSqs(
  sqs: SqsActions,
  faults: FaultSwitch | undefined,
  action: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  // An HTTP client that goes away ends its long poll (so no message is taken for a closed socket).
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  try {
    let input: Record<string, unknown>;
    try {
      const body = await readBody(req, MAX_SQS_REQUEST_BYTES);
      input = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Record<string, unknown>);
      if (input === null || typeof input !== 'object' || Array.isArray(input))
        throw new Error('not an object');
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw new SqsError('RequestEntityTooLarge', error.message, 413);
      throw new SqsError('SerializationException', 'Start of structure or map found where not expected.');
    }
    const handler = sqs.actions[action];
    if (!handler) throw new SqsError('UnknownOperationException', `Operation ${action} is not supported.`);
    const fault = faults?.check('sqs', action);
    if (fault) throw new SqsError(fault.code, fault.message ?? fault.code, fault.status);
    const output = await handler(input, { signal: gone.signal });
    send(res, 200, output, {});
  } catch (error) {
    if (gone.signal.aborted) return;
    const e =
      error instanceof SqsError
        ? error
        : new SqsError('InternalFailure', `Internal error: ${(error as Error).message}`, 500);
    send(
      res,
      e.status,
      { __type: `com.amazonaws.sqs#${e.type}`, message: e.message },
      { 'x-amzn-query-error': `${e.queryCode};${e.senderFault ? 'Sender' : 'Receiver'}` },
    );
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': String(Buffer.byteLength(text)),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(text);
}

/**
 * In-process sender: an SDK command (`new SendMessageCommand(...)`) runs the action of the same name. The input
 * goes through the JSON protocol's form (bytes → base64) so validation is identical to HTTP; binary attribute values
 * come back as bytes and errors as the SDK's error objects, like an SQSClient's.
 */
function directSender(sqs: SqsActions, faults: FaultSwitch | undefined): SqsSender {
  return {
    async send(command, options) {
      const action = command.constructor.name.replace(/Command$/, '');
      const handler = sqs.actions[action];
      if (!handler) throw new Error(`${command.constructor.name} is not available in-process`);
      const signal = options?.abortSignal;
      if (signal?.aborted) throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      try {
        const fault = faults?.check('sqs', action);
        if (fault) throw new SqsError(fault.code, fault.message ?? fault.code, fault.status);
        const input = JSON.parse(JSON.stringify(command.input ?? {}, bytesToBase64)) as Record<
          string,
          unknown
        >;
        const output = await handler(input, signal ? { signal } : {});
        return { ...sdkOutput(output), $metadata: { httpStatusCode: 200, attempts: 1, totalRetryDelay: 0 } };
      } catch (error) {
        throw error instanceof SqsError ? toSdkError(error) : error;
      }
    },
  };
}

function bytesToBase64(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  // JSON.stringify has already turned a Buffer into { type: 'Buffer', data } when the replacer sees it.
  if (
    value !== null &&
    typeof value === 'object' &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  )
    return Buffer.from((value as { data: number[] }).data).toString('base64');
  return value;
}

/** Binary attribute values as the SDK deserialises them (bytes), the rest as on the wire. */
// biome-ignore lint/suspicious/noExplicitAny: a JSON response document.
function sdkOutput(output: Record<string, any>): Record<string, any> {
  if (!Array.isArray(output.Messages)) return output;
  return {
    ...output,
    // biome-ignore lint/suspicious/noExplicitAny: a JSON response document.
    Messages: output.Messages.map((m: Record<string, any>) => {
      if (!m.MessageAttributes) return m;
      const attributes: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(
        m.MessageAttributes as Record<string, { BinaryValue?: string }>,
      ))
        attributes[name] =
          value.BinaryValue !== undefined
            ? { ...value, BinaryValue: new Uint8Array(Buffer.from(value.BinaryValue, 'base64')) }
            : value;
      return { ...m, MessageAttributes: attributes };
    }),
  };
}

/** Queue names per target; the DLQ is `<queue>-dlq`. */

import { targetQueueNames } from '../../core/queues';

async function queueArn(client: SQSClient, queueUrl: string): Promise<string> {
  const out = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`queue ${queueUrl} has no QueueArn`);
  return arn;
}

/**
 * Creates a queue, or — when it exists with other attributes (persisted from an earlier run with another config) —
 * updates its attributes, as a deployment would.
 */
async function ensureQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  try {
    const out = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    return out.QueueUrl!;
  } catch (error) {
    if ((error as Error).name !== 'QueueNameExists') throw error;
    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: name }));
    await client.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
    return QueueUrl!;
  }
}

/**
 * Creates a target's queue and DLQ with the plan's settings: visibility timeout, retention and
 * `RedrivePolicy.maxReceiveCount` (a message received that many times moves to the DLQ on its next receive).
 */
export async function createTargetQueues(
  client: SQSClient,
  prefix: string,
  target: Pick<TargetPlan, 'name' | 'dlq'> & {
    queue: Omit<TargetPlan['queue'], 'fifo'> & { readonly fifo?: boolean };
  },
): Promise<QueuePair> {
  const fifo = target.queue.fifo === true;
  const { queueName, dlqName } = targetQueueNames(prefix, target.name, fifo);
  // As lib/delivery-target.ts: FIFO queue and DLQ, deduplicated by the id each sender gives.
  const fifoAttributes: Record<string, string> = fifo ? { FifoQueue: 'true' } : {};
  const dlqUrl = await ensureQueue(client, dlqName, {
    ...fifoAttributes,
    MessageRetentionPeriod: String(target.dlq.retentionSeconds),
  });
  const dlqArn = await queueArn(client, dlqUrl);
  const queueUrl = await ensureQueue(client, queueName, {
    ...fifoAttributes,
    ...(fifo ? { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' } : {}),
    VisibilityTimeout: String(target.queue.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(target.queue.retentionSeconds),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: target.queue.maxReceiveCount,
    }),
  });
  return { queueName, queueUrl, queueArn: await queueArn(client, queueUrl), dlqName, dlqUrl, dlqArn };
}

/** Visible + in-flight + delayed message counts of a queue. */
export async function queueDepth(
  client: SqsSender,
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
  const a = (out.Attributes ?? {}) as Record<string, string | undefined>;
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}
