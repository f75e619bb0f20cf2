/** What the management domain receives: its clients, its config, and hooks (the handler wires them). */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ManagementRuntime } from '../../core/runtime-config';
import type { LiveGate } from '../shared/live-gate';
import type { OrderedSender } from '../shared/ordered';
import type { AgentDeps } from './agents';
import type { CursorCodec } from './cursor';

export interface ManagementDeps {
  readonly runtime: ManagementRuntime;
  readonly doc: DynamoDBDocumentClient;
  readonly eventBridge: EventBridgeClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly lambda: LambdaClient;
  /** Reads ApproximateAgeOfOldestMessage (the local stack answers it from its SQS emulator). */
  readonly cloudwatch?: CloudWatchClient;
  readonly tableName: string;
  readonly busName: string;
  readonly payloadBucket: string;
  /** Prefix of every target's queue names (core/queues.ts). */
  readonly queuePrefix: string;
  /** The live stream's broadcast queue (absent without a live stream): a replay with `live` sends there too. */
  readonly broadcastQueueUrl?: string;
  /** Sends published events to the ordered targets' FIFO queues, as ingest does (absent when no target is ordered). */
  readonly ordered?: OrderedSender;
  /** Whether live agents may be connected: published events are marked for the broadcast rule then. */
  readonly live?: LiveGate;
  readonly region: string;
  readonly cursors: CursorCodec;
  /** Runs a job's next chunk in a fresh invocation (an asynchronous invoke of this function). */
  readonly continueJob: (jobId: string) => Promise<void>;
  readonly now: () => number;
  /** The live stream's table and `@connections`, for agent keys; absent when the stack has no live stream. */
  readonly agents?: AgentDeps;
}
