/**
 * The management API's routes on Powertools' HTTP router. Every request is validated with the schemas in
 * core/management.ts (a bad request is a 400 naming each field; test/handlers/management.test.ts checks the
 * responses against them too); errors are problem+json. Authorization
 * is not here: API Gateway checks the caller's IAM signature on every `/v1` route before this runs (locally, the
 * local HTTP API does).
 */
import { Router } from '@aws-lambda-powertools/event-handler/http';
import { DescribeEventBusCommand } from '@aws-sdk/client-eventbridge';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  CreateAgentRequest,
  eventId,
  FailedQuery,
  ListEventsQuery,
  PublishBatch,
  PublishOne,
  RedeliverRequest,
  RedriveRequest,
  ReplayRequest,
} from '../../core/management';
import { createAgent, listAgents, revokeAgent } from './agents';
import type { ManagementDeps } from './deps';
import { getEventDetail, listEvents, publish, redeliver } from './events';
import { cancel, jobView, startRedrive, startReplay } from './jobs';
import { ApiProblem, parseOr400, parsePathParameter, problemResponse } from './problem';
import { depthOf, targetQueues } from './queues';
import { failedDeliveries, listTargets, pauseTarget } from './targets';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** The request body as JSON, or a 400. */
async function bodyOf(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiProblem(400, 'the body is not JSON', [{ path: '(body)', message: 'must be JSON' }]);
  }
}

const queryOf = (request: Request) => Object.fromEntries(new URL(request.url).searchParams);

const idParam = (value: string | undefined) => parsePathParameter(eventId, value, 'id');

async function check(name: string, probe: () => Promise<unknown>) {
  const started = Date.now();
  try {
    await probe();
    return { name, ok: true, latencyMs: Date.now() - started };
  } catch (error) {
    return { name, ok: false, latencyMs: Date.now() - started, error: (error as Error).name || 'Error' };
  }
}

export function createApi(deps: ManagementDeps, onError: (error: Error) => void = () => {}): Router {
  const app = new Router();
  const { runtime } = deps;

  app.get('/health', () => json(200, { status: 'ok', version: runtime.version }));

  app.get('/v1/health', async () => {
    const checks = await Promise.all([
      check('table', () =>
        deps.doc.send(new GetCommand({ TableName: deps.tableName, Key: { pk: 'HEALTH', sk: 'HEALTH' } })),
      ),
      check('bus', () => deps.eventBridge.send(new DescribeEventBusCommand({ Name: deps.busName }))),
      ...runtime.targets.map((t) =>
        check(`queue:${t.name}`, async () => depthOf(deps, (await targetQueues(deps, t.name)).queue.url)),
      ),
    ]);
    const ok = checks.every((c) => c.ok);
    return json(ok ? 200 : 503, { status: ok ? 'ok' : 'degraded', version: runtime.version, checks });
  });

  app.get('/v1/events', async ({ req }) => {
    const query = parseOr400(ListEventsQuery, queryOf(req), 'query');
    return json(200, await listEvents(deps, query, runtime.retentionDays));
  });

  app.post('/v1/events', async ({ req }) => {
    // The branch is chosen by the body's shape, so that a 400 names the fields of the one that was meant.
    const body = await bodyOf(req);
    const batch = typeof body === 'object' && body !== null && 'events' in body;
    const request = batch ? parseOr400(PublishBatch, body, 'body') : parseOr400(PublishOne, body, 'body');
    return json(202, await publish(deps, request, runtime));
  });

  app.get('/v1/events/:id', async ({ params }) => json(200, await getEventDetail(deps, idParam(params.id))));

  app.post('/v1/events/:id/redeliver', async ({ req, params }) => {
    const { targets } = parseOr400(RedeliverRequest, await bodyOf(req), 'body');
    return json(202, await redeliver(deps, idParam(params.id), targets));
  });

  app.post('/v1/replays', async ({ req }) => {
    const request = parseOr400(ReplayRequest, await bodyOf(req), 'body');
    return json(202, await startReplay(deps, request));
  });
  app.get('/v1/replays/:id', async ({ params }) => json(200, await jobView(deps, params.id ?? '', 'replay')));
  app.post('/v1/replays/:id/cancel', async ({ params }) =>
    json(202, await cancel(deps, params.id ?? '', 'replay')),
  );
  app.get('/v1/jobs/:id', async ({ params }) => json(200, await jobView(deps, params.id ?? '')));
  app.post('/v1/jobs/:id/cancel', async ({ params }) => json(202, await cancel(deps, params.id ?? '')));

  app.get('/v1/targets', async () => json(200, await listTargets(deps)));
  app.post('/v1/targets/:name/pause', async ({ params }) =>
    json(200, await pauseTarget(deps, params.name ?? '', true)),
  );
  app.post('/v1/targets/:name/resume', async ({ params }) =>
    json(200, await pauseTarget(deps, params.name ?? '', false)),
  );
  app.get('/v1/targets/:name/failed', async ({ req, params }) => {
    const query = parseOr400(FailedQuery, queryOf(req), 'query');
    return json(200, await failedDeliveries(deps, params.name ?? '', query.limit ?? 25, query.cursor));
  });
  app.post('/v1/targets/:name/redrive', async ({ req, params }) => {
    const { eventIds } = parseOr400(RedriveRequest, await bodyOf(req), 'body');
    return json(202, await startRedrive(deps, params.name ?? '', eventIds));
  });

  const agents = () => {
    if (!deps.agents)
      throw new ApiProblem(409, 'this stack has no live stream (liveStream.enabled), so no agents');
    return deps.agents;
  };
  app.post('/v1/agents', async ({ req }) => {
    const request = parseOr400(CreateAgentRequest, await bodyOf(req), 'body');
    return json(201, await createAgent(agents(), request));
  });
  app.get('/v1/agents', async () => json(200, await listAgents(agents())));
  app.post('/v1/agents/:id/revoke', async ({ params }) => {
    const id = params.id ?? '';
    if (!/^[0-9a-f]{16}$/.test(id))
      throw new ApiProblem(400, 'invalid path: id: must be an agent key id (16 hex characters)', [
        { path: 'id', message: 'must be an agent key id (16 hex characters)' },
      ]);
    return json(200, await revokeAgent(agents(), id));
  });

  app.errorHandler(ApiProblem, async (error) => problemResponse(error));
  // Anything else is ours: logged, and answered without its details.
  app.errorHandler(Error, async (error) => {
    onError(error);
    return problemResponse(new ApiProblem(500, 'the request failed; see the management function logs'));
  });
  app.notFound(async () => problemResponse(new ApiProblem(404, 'no such route')));
  app.methodNotAllowed(async () => problemResponse(new ApiProblem(405, 'method not allowed on this route')));
  return app;
}
