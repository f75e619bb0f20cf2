/**
 * With `dataDir`, the local SQS/S3 emulator keeps everything an acknowledged call changed: across a clean stop, a
 * torn journal line, compaction, and a SIGKILL of its process in the middle of a burst of writes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { Journal } from '../../local/services/journal';
import { type LocalSqs, type LocalSqsOptions, queueDepth, startLocalSqs } from '../../local/services/sqs';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sqs-persist-'));
  dirs.push(dir);
  return dir;
}

function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: LOCAL_REGION,
    credentials: localCredentials,
    forcePathStyle: true,
  });
}

/** Every message of a queue, received once (visibility long enough that none comes back). */
async function drain(client: SQSClient, queueUrl: string) {
  const messages: { MessageId?: string; Body?: string }[] = [];
  // Bounded: at most 1000 receives of up to 10 messages.
  for (let i = 0; i < 1000; i++) {
    const out = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 3600 }),
    );
    if (!out.Messages?.length) break;
    messages.push(...out.Messages);
  }
  return messages;
}

describe('clean stop and restart', () => {
  it('keeps queues, delayed/visible/in-flight messages, receive counts, DLQ contents, FIFO deduplication and S3 objects', async () => {
    const dataDir = tempDir();
    let clock = 1_750_000_000_000;
    const options: LocalSqsOptions = { dataDir, now: () => clock };
    let sqs: LocalSqs = await startLocalSqs(options);
    const create = async (QueueName: string, Attributes: Record<string, string> = {}) =>
      (await sqs.client.send(new CreateQueueCommand({ QueueName, Attributes }))).QueueUrl!;
    const main = await create('main', { VisibilityTimeout: '30', MessageRetentionPeriod: '86400' });
    const dlq = await create('main-dlq');
    const source = await create('source', {
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:main-dlq',
        maxReceiveCount: 1,
      }),
    });
    const fifo = await create('ordered.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    await sqs.client.send(new SendMessageCommand({ QueueUrl: main, MessageBody: 'visible' }));
    await sqs.client.send(
      new SendMessageCommand({ QueueUrl: main, MessageBody: 'delayed', DelaySeconds: 60 }),
    );
    await sqs.client.send(new SendMessageCommand({ QueueUrl: main, MessageBody: 'in flight' }));
    await sqs.client.send(new SendMessageCommand({ QueueUrl: source, MessageBody: 'poison' }));
    await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: source, VisibilityTimeout: 0 }));
    expect((await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: source }))).Messages).toBeUndefined();
    const firstSend = await sqs.client.send(
      new SendMessageCommand({ QueueUrl: fifo, MessageBody: 'once', MessageGroupId: 'g' }),
    );
    // Take "visible" and "in flight" (100 s), then put "visible" back.
    const taken = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: main, MaxNumberOfMessages: 10, VisibilityTimeout: 100 }),
    );
    const inFlight = taken.Messages!.find((m) => m.Body === 'in flight')!;
    const visible = taken.Messages!.find((m) => m.Body === 'visible')!;
    const { ChangeMessageVisibilityCommand } = await import('@aws-sdk/client-sqs');
    await sqs.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: main,
        ReceiptHandle: visible.ReceiptHandle!,
        VisibilityTimeout: 0,
      }),
    );
    let s3 = s3Client(sqs.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: 'payloads' }));
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'payloads',
        Key: 'a/b.json',
        Body: '{"kept":true}',
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    s3.destroy();
    await sqs.stop();

    sqs = await startLocalSqs(options);
    s3 = s3Client(sqs.endpoint);
    try {
      const attributes = await sqs.client.send(
        new GetQueueAttributesCommand({ QueueUrl: main, AttributeNames: ['All'] }),
      );
      expect(attributes.Attributes).toMatchObject({
        VisibilityTimeout: '30',
        MessageRetentionPeriod: '86400',
      });
      expect(await queueDepth(sqs.client, main)).toEqual({ visible: 1, inFlight: 1, delayed: 1 });
      // The in-flight message kept its deadline ('keep', as on AWS) and its receipt handle still works.
      clock += 100_000;
      const again = await sqs.client.send(
        new ReceiveMessageCommand({
          QueueUrl: main,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      expect(again.Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount]).sort()).toEqual([
        ['delayed', '1'],
        ['in flight', '2'],
        ['visible', '2'],
      ]);
      await sqs.client.send(
        new DeleteMessageCommand({ QueueUrl: main, ReceiptHandle: inFlight.ReceiptHandle! }),
      );
      const dead = await sqs.client.send(
        new ReceiveMessageCommand({ QueueUrl: dlq, MessageSystemAttributeNames: ['All'] }),
      );
      expect(dead.Messages?.[0]).toMatchObject({
        Body: 'poison',
        Attributes: { DeadLetterQueueSourceArn: 'arn:aws:sqs:us-east-1:000000000000:source' },
      });
      const duplicate = await sqs.client.send(
        new SendMessageCommand({ QueueUrl: fifo, MessageBody: 'once', MessageGroupId: 'g' }),
      );
      expect(duplicate.MessageId).toBe(firstSend.MessageId);
      expect(await queueDepth(sqs.client, fifo)).toMatchObject({ visible: 1 });
      const object = await s3.send(
        new GetObjectCommand({ Bucket: 'payloads', Key: 'a/b.json', ChecksumMode: 'ENABLED' }),
      );
      expect(object.ChecksumSHA256).toBe(put.ChecksumSHA256);
      expect(await object.Body!.transformToString()).toBe('{"kept":true}');
    } finally {
      s3.destroy();
      await sqs.stop();
    }
  });

  it("with inFlightOnRestart 'release', messages in flight are visible at once after a restart", async () => {
    const dataDir = tempDir();
    let sqs = await startLocalSqs({ dataDir });
    const url = (await sqs.client.send(new CreateQueueCommand({ QueueName: 'released' }))).QueueUrl!;
    await sqs.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'held' }));
    await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 3600 }));
    await sqs.stop();
    sqs = await startLocalSqs({ dataDir, inFlightOnRestart: 'release' });
    try {
      const out = await sqs.client.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      expect(out.Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([
        ['held', '2'],
      ]);
    } finally {
      await sqs.stop();
    }
  });
});

describe('journal', () => {
  it('replays up to a torn last line, drops it, and appends after the last good record', () => {
    const dir = tempDir();
    const first = Journal.open<unknown, { n: number }>({ dir, name: 'j' });
    for (let n = 1; n <= 3; n++) first.journal.append({ n });
    first.journal.close();
    // A process killed in the middle of writing a record leaves a line without its end.
    appendFileSync(path.join(dir, 'j.journal'), '[4,{"n":');
    const second = Journal.open<unknown, { n: number }>({ dir, name: 'j' });
    expect(second.replay.records).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(second.replay.droppedBytes).toBe('[4,{"n":'.length);
    second.journal.append({ n: 4 });
    second.journal.close();
    const third = Journal.open<unknown, { n: number }>({ dir, name: 'j' });
    expect(third.replay.records.map((r) => r.n)).toEqual([1, 2, 3, 4]);
    third.journal.close();
  });

  it('after a snapshot, skips the records it already holds (a crash between snapshot and truncation)', () => {
    const dir = tempDir();
    const opened = Journal.open<{ upTo: number }, { n: number }>({ dir, name: 'j' });
    for (let n = 1; n <= 3; n++) opened.journal.append({ n });
    const journalBefore = readFileSync(path.join(dir, 'j.journal'));
    opened.journal.compact({ upTo: 3 });
    opened.journal.append({ n: 4 });
    opened.journal.close();
    // As if the journal had not been emptied: the old records are back in front of the new one.
    const after = readFileSync(path.join(dir, 'j.journal'));
    writeFileSync(path.join(dir, 'j.journal'), Buffer.concat([journalBefore, after]));
    const reopened = Journal.open<{ upTo: number }, { n: number }>({ dir, name: 'j' });
    expect(reopened.replay.snapshot).toEqual({ upTo: 3 });
    expect(reopened.replay.records).toEqual([{ n: 4 }]);
    reopened.journal.close();
  });

  it('compacts into a snapshot once the journal outgrows its bound; the state survives', async () => {
    const dataDir = tempDir();
    let sqs = await startLocalSqs({ dataDir, compactBytes: 16 * 1024 });
    const url = (await sqs.client.send(new CreateQueueCommand({ QueueName: 'compacted' }))).QueueUrl!;
    for (let i = 0; i < 200; i++)
      await sqs.direct.send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: `message ${i} ${'x'.repeat(100)}` }),
      );
    expect(existsSync(path.join(dataDir, 'sqs.snapshot.json'))).toBe(true);
    expect(statSync(path.join(dataDir, 'sqs.journal')).size).toBeLessThan(16 * 1024 + 1024);
    await sqs.stop();
    sqs = await startLocalSqs({ dataDir });
    try {
      expect(await queueDepth(sqs.client, url)).toEqual({ visible: 200, inFlight: 0, delayed: 0 });
    } finally {
      await sqs.stop();
    }
  });
});

describe('SIGKILL', () => {
  const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'sqs-process.ts');

  function startChild(dataDir: string): Promise<{ child: ChildProcess; endpoint: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`emulator process did not start within 20 s: ${err}`));
      }, 20_000);
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /READY (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve({ child, endpoint: `http://127.0.0.1:${m[1]}` });
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`emulator process exited (${code}) before it was ready: ${err}`));
      });
    });
  }

  it('loses no acknowledged SendMessage or PutObject when the process is killed in the middle of a burst', async () => {
    const dataDir = tempDir();
    const { child, endpoint } = await startChild(dataDir);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const sqs = new SQSClient({
      endpoint,
      region: LOCAL_REGION,
      credentials: localCredentials,
      maxAttempts: 1,
    });
    const s3 = new S3Client({
      endpoint,
      region: LOCAL_REGION,
      credentials: localCredentials,
      forcePathStyle: true,
      maxAttempts: 1,
    });
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'burst' }))).QueueUrl!;
    await s3.send(new CreateBucketCommand({ Bucket: 'burst' }));

    const ackedMessages = new Map<string, string>();
    const ackedObjects = new Map<string, string>();
    const KILL_AFTER = 300;
    let killed = false;
    let next = 0;
    const acked = () => ackedMessages.size + ackedObjects.size;
    const worker = async (kind: 'sqs' | 's3') => {
      // Bounded: at most 5000 calls in all, and each worker stops at its first failure (the process is gone).
      while (next < 5000) {
        const i = next++;
        const body = `${kind} ${i} ${'p'.repeat(i % 500)}`;
        try {
          if (kind === 'sqs') {
            const out = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
            ackedMessages.set(out.MessageId!, body);
          } else {
            await s3.send(new PutObjectCommand({ Bucket: 'burst', Key: `k/${i}`, Body: body }));
            ackedObjects.set(`k/${i}`, body);
          }
        } catch {
          return;
        }
        if (!killed && acked() >= KILL_AFTER) {
          killed = true;
          // Other workers have calls in flight at this moment.
          child.kill('SIGKILL');
        }
      }
    };
    await Promise.all([...Array.from({ length: 6 }, () => worker('sqs')), worker('s3'), worker('s3')]);
    await exited;
    sqs.destroy();
    s3.destroy();
    expect(killed).toBe(true);
    expect(ackedMessages.size).toBeGreaterThan(0);
    expect(ackedObjects.size).toBeGreaterThan(0);

    const restarted = await startLocalSqs({ dataDir });
    const restartedS3 = s3Client(restarted.endpoint);
    try {
      const received = new Map(
        (await drain(restarted.client, `${restarted.endpoint}/000000000000/burst`)).map((m) => [
          m.MessageId!,
          m.Body!,
        ]),
      );
      for (const [id, body] of ackedMessages) expect(received.get(id)).toBe(body);
      for (const [key, body] of ackedObjects) {
        const object = await restartedS3.send(new GetObjectCommand({ Bucket: 'burst', Key: key }));
        expect(await object.Body!.transformToString()).toBe(body);
      }
    } finally {
      restartedS3.destroy();
      await restarted.stop();
    }
  });
});
