/** The management API's own items: failure records it reads and deletes, and jobs (replay, redrive). */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EVENTS_TABLE, keys } from '../../core/contracts';
import type { Job } from '../../core/management';
import type { DeliveryFailure } from '../shared/event-store';
import type { ManagementDeps } from './deps';

const TTL = EVENTS_TABLE.ttlAttribute;

export async function getFailure(
  deps: ManagementDeps,
  target: string,
  eventId: string,
): Promise<DeliveryFailure | undefined> {
  const out = await deps.doc.send(
    new GetCommand({ TableName: deps.tableName, Key: keys.failure(target, eventId) }),
  );
  if (!out.Item) return undefined;
  const { pk: _pk, sk: _sk, [TTL]: _ttl, ...failure } = out.Item;
  return failure as DeliveryFailure;
}

export async function deleteFailure(deps: ManagementDeps, target: string, eventId: string): Promise<void> {
  await deps.doc.send(new DeleteCommand({ TableName: deps.tableName, Key: keys.failure(target, eventId) }));
}

/** A page of a target's failure records (oldest event first) and where the next one starts. */
export async function failurePage(
  deps: ManagementDeps,
  target: string,
  limit: number,
  after: string | undefined,
): Promise<{ failures: DeliveryFailure[]; next?: string }> {
  const out = await deps.doc.send(
    new QueryCommand({
      TableName: deps.tableName,
      KeyConditionExpression: after ? 'pk = :pk AND sk > :after' : 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.failuresOf(target), ...(after ? { ':after': after } : {}) },
      Limit: limit,
    }),
  );
  const failures = (out.Items ?? []).map(
    ({ pk: _pk, sk: _sk, [TTL]: _ttl, ...rest }) => rest as DeliveryFailure,
  );
  const last = failures.at(-1);
  return { failures, ...(out.LastEvaluatedKey && last ? { next: last.eventId } : {}) };
}

/** A job as stored: the public view plus where the work stands. */
export interface StoredJob extends Job {
  /** Where the next chunk starts (job-specific). */
  readonly position?: Record<string, unknown>;
}

export async function putJob(deps: ManagementDeps, job: StoredJob, expiresAt: number): Promise<void> {
  await deps.doc.send(
    new PutCommand({ TableName: deps.tableName, Item: { ...keys.job(job.id), ...job, [TTL]: expiresAt } }),
  );
}

export async function getJob(deps: ManagementDeps, id: string): Promise<StoredJob | undefined> {
  const out = await deps.doc.send(
    new GetCommand({ TableName: deps.tableName, Key: keys.job(id), ConsistentRead: true }),
  );
  if (!out.Item) return undefined;
  const { pk: _pk, sk: _sk, [TTL]: _ttl, ...job } = out.Item;
  return job as StoredJob;
}

/**
 * Records a chunk's progress. Only while the job is running: a job cancelled meanwhile stays cancelled (the write
 * fails, and the worker stops).
 */
export async function saveProgress(
  deps: ManagementDeps,
  id: string,
  progress: Pick<StoredJob, 'scanned' | 'matched' | 'sent' | 'position'> & {
    status?: Job['status'];
    error?: string;
  },
): Promise<boolean> {
  try {
    await deps.doc.send(
      new UpdateCommand({
        TableName: deps.tableName,
        Key: keys.job(id),
        UpdateExpression:
          'SET scanned = :scanned, matched = :matched, sent = :sent, #position = :position, updatedAt = :now, #status = :status' +
          (progress.error ? ', #error = :error' : ''),
        ConditionExpression: '#status = :running',
        ExpressionAttributeNames: {
          '#position': 'position',
          '#status': 'status',
          ...(progress.error ? { '#error': 'error' } : {}),
        },
        ExpressionAttributeValues: {
          ':scanned': progress.scanned,
          ':matched': progress.matched,
          ':sent': progress.sent,
          ':position': progress.position ?? {},
          ':now': new Date(deps.now()).toISOString(),
          ':status': progress.status ?? 'running',
          ':running': 'running',
          ...(progress.error ? { ':error': progress.error.slice(0, 1000) } : {}),
        },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/** Cancels a running job; false when it had already ended. */
export async function cancelJob(deps: ManagementDeps, id: string): Promise<boolean> {
  try {
    await deps.doc.send(
      new UpdateCommand({
        TableName: deps.tableName,
        Key: keys.job(id),
        UpdateExpression: 'SET #status = :cancelled, updatedAt = :now',
        ConditionExpression: '#status = :running',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':cancelled': 'cancelled',
          ':running': 'running',
          ':now': new Date(deps.now()).toISOString(),
        },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
