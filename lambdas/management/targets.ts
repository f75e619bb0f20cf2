/** Targets: their state and queues; pause and resume; their failed deliveries. */
import type { TargetView } from '../../core/management';
import { getTargetState, listTargetAttempts, setTargetState } from '../shared/event-store';
import type { ManagementDeps } from './deps';
import { knownTarget } from './events';
import { ApiProblem } from './problem';
import { depthOf, oldestMessageAge, setConsumption, targetQueues } from './queues';
import { failurePage } from './store';

export async function targetView(deps: ManagementDeps, name: string): Promise<TargetView> {
  const target = deps.runtime.targets.find((t) => t.name === name);
  if (!target) throw new ApiProblem(404, `no target ${name}`);
  const [state, queues, recent] = await Promise.all([
    getTargetState(deps.doc, deps.tableName, name),
    targetQueues(deps, name),
    listTargetAttempts(deps.doc, deps.tableName, name, { limit: 100 }),
  ]);
  const [queue, dlq, age] = await Promise.all([
    depthOf(deps, queues.queue.url),
    depthOf(deps, queues.dlq.url),
    oldestMessageAge(deps, queues.queue.name).catch(() => null),
  ]);
  return {
    name,
    kind: target.kind,
    endpoint: target.endpoint,
    state: state.state,
    ...(state.reason ? { reason: state.reason } : {}),
    // A target without a recorded state has been active since it was created.
    since: Date.parse(state.since) === 0 ? null : state.since,
    queueDepth: queue.visible,
    inFlight: queue.inFlight,
    dlqDepth: dlq.visible + dlq.inFlight,
    oldestMessageAgeSeconds: age,
    // The latest of the last 100 attempts (the by-target index, newest first).
    lastSuccessAt: recent.find((a) => a.outcome === 'delivered')?.at ?? null,
    lastFailureAt: recent.find((a) => a.outcome !== 'delivered')?.at ?? null,
  };
}

export async function listTargets(deps: ManagementDeps): Promise<{ targets: TargetView[] }> {
  return { targets: await Promise.all(deps.runtime.targets.map((t) => targetView(deps, t.name))) };
}

/**
 * Pause: the target's event source mapping is disabled (its queue is not consumed; messages wait, nothing is
 * dropped) and its state says `paused`, which the circuit breaker's probe never resumes. Resume undoes both, and
 * also resumes a target that is `gone` (410) or whose breaker is open.
 */
export async function pauseTarget(deps: ManagementDeps, name: string, paused: boolean): Promise<TargetView> {
  knownTarget(deps, name, 'name');
  const { queue } = await targetQueues(deps, name);
  await setTargetState(deps.doc, deps.tableName, name, {
    state: paused ? 'paused' : 'active',
    ...(paused ? { reason: 'paused by an operator' } : {}),
    since: new Date(deps.now()).toISOString(),
  });
  if ((await setConsumption(deps, queue.arn, !paused)) === 0)
    throw new ApiProblem(
      409,
      `target ${name} has no event source mapping to ${paused ? 'disable' : 'enable'}`,
    );
  return targetView(deps, name);
}

export async function failedDeliveries(
  deps: ManagementDeps,
  name: string,
  limit: number,
  cursor: string | undefined,
) {
  knownTarget(deps, name, 'name');
  const scope = `failed:${name}`;
  const after = cursor ? String((await deps.cursors.decode(cursor, scope)).after) : undefined;
  const [page, queues] = await Promise.all([failurePage(deps, name, limit, after), targetQueues(deps, name)]);
  const dlq = await depthOf(deps, queues.dlq.url);
  return {
    failures: page.failures.map((f) => ({
      eventId: f.eventId,
      round: f.round,
      attempts: f.attempts,
      ...(f.status !== undefined ? { status: f.status } : {}),
      error: f.error,
      failedAt: f.failedAt,
    })),
    dlqDepth: dlq.visible + dlq.inFlight,
    ...(page.next ? { cursor: await deps.cursors.encode({ after: page.next }, scope) } : {}),
  };
}
