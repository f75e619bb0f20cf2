/**
 * The publishers' side of the live lease (LIVE_LEASE in core/contracts.ts): whether the events published now should
 * reach the broadcast rule — whether any agent may be connected. One strongly consistent read of the lease item at
 * most every `refreshMs` per container; the events published in between use the value read.
 *
 * Fails open: a lease that cannot be read counts as held (the broadcast function finds nobody to push to: a cost,
 * never a lost live event).
 */
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ENV, LIVE_LEASE, liveKeys } from '../../core/contracts';

export interface LiveGate {
  /** True while an agent may be connected: publish the events marked for the broadcast rule. Never rejects. */
  audience(): Promise<boolean>;
}

export interface LiveGateOptions {
  readonly dynamodb: Pick<DynamoDBClient, 'send'>;
  readonly tableName: string;
  readonly now: () => number;
  /** Called when the lease could not be read (the gate then counts it as held). */
  readonly onError?: (error: unknown) => void;
}

const KEY = {
  pk: { S: liveKeys.subscriptionsVersion.pk },
  sk: { S: liveKeys.subscriptionsVersion.sk },
};

export function liveGate(options: LiveGateOptions): LiveGate {
  /** The lease's end as last read (ms; 0: none), and when it was read. */
  let liveUntil = 0;
  let readAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<void> | undefined;

  const read = async () => {
    const startedAt = options.now();
    try {
      const { Item } = await options.dynamodb.send(
        new GetItemCommand({
          TableName: options.tableName,
          Key: KEY,
          ConsistentRead: true,
          ProjectionExpression: 'liveUntil',
        }),
      );
      liveUntil = Number(Item?.liveUntil?.N ?? 0);
    } catch (error) {
      options.onError?.(error);
      liveUntil = Number.POSITIVE_INFINITY;
    }
    // As of when the read started: the value may be older than the moment it arrived, never newer.
    readAt = startedAt;
  };

  return {
    async audience() {
      const now = options.now();
      if (now - readAt >= LIVE_LEASE.refreshMs) {
        reading ??= read().finally(() => {
          reading = undefined;
        });
        await reading;
      }
      return liveUntil + LIVE_LEASE.graceMs > options.now();
    },
  };
}

/** The gate of a publishing function: from its live table (LIVE_TABLE_NAME), or none when the stack has no live stream. */
export function liveGateFromEnv(options: Omit<LiveGateOptions, 'tableName'>): LiveGate | undefined {
  const tableName = process.env[ENV.liveTableName];
  return tableName ? liveGate({ ...options, tableName }) : undefined;
}
