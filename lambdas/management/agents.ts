/**
 * Agent keys: create (the key is returned once, stored hashed), list, revoke. Revoking closes the key's live
 * connections at once: each is deleted through `@connections` (API Gateway's DELETE on a connection disconnects the
 * client: https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html)
 * and its records removed, so no broadcast reaches it afterwards.
 */
import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AGENT_LIMITS } from '../../core/agents';
import type { AgentView, CreateAgentRequest } from '../../core/management';
import { parseSubscription } from '../../core/subscription';
import {
  type AgentKeyRecord,
  agentConnectionIds,
  listAgentKeys,
  newAgentKey,
  putAgentKey,
  revokeAgentKey,
} from '../shared/agent-keys';
import { deleteConnection } from '../shared/live-store';
import { ApiProblem } from './problem';

export interface AgentDeps {
  readonly doc: DynamoDBDocumentClient;
  /** The live table (connections and agent keys). */
  readonly tableName: string;
  /** `@connections` of the WebSocket API. */
  readonly management: ApiGatewayManagementApiClient;
  readonly now: () => number;
  /** Reports a connection that could not be closed (it is still removed from the broadcast). */
  readonly onError?: (connectionId: string, error: unknown) => void;
}

async function view(deps: AgentDeps, key: AgentKeyRecord): Promise<AgentView> {
  const connections = key.revokedAt
    ? 0
    : (await agentConnectionIds(deps.doc, deps.tableName, key.keyId, deps.now())).length;
  return {
    id: key.keyId,
    name: key.name,
    patterns: key.patterns,
    maxConnections: key.maxConnections,
    createdAt: key.createdAt,
    revokedAt: key.revokedAt,
    connections,
  };
}

export async function createAgent(
  deps: AgentDeps,
  request: CreateAgentRequest,
): Promise<{ agent: AgentView; key: string }> {
  // The same limits as a subscription: each allowed pattern is a subscription an agent may make.
  const errors = request.patterns.flatMap((pattern, i) => {
    const parsed = parseSubscription(pattern);
    return parsed.ok ? [] : [{ path: `patterns[${i}]`, message: parsed.reason }];
  });
  if (errors.length > 0)
    throw new ApiProblem(
      400,
      `invalid body: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
      errors,
    );
  const { keyId, key, secretHash } = newAgentKey();
  const record = {
    keyId,
    name: request.name,
    patterns: request.patterns,
    maxConnections: request.maxConnections ?? AGENT_LIMITS.defaultMaxConnections,
    createdAt: new Date(deps.now()).toISOString(),
  };
  await putAgentKey(deps.doc, deps.tableName, record, secretHash);
  return { agent: { ...record, id: keyId, revokedAt: null, connections: 0 }, key };
}

export async function listAgents(deps: AgentDeps): Promise<{ agents: AgentView[] }> {
  const keys = await listAgentKeys(deps.doc, deps.tableName);
  return { agents: await Promise.all(keys.map((k) => view(deps, k))) };
}

const isGone = (error: unknown) =>
  error instanceof Error &&
  (error.name === 'GoneException' ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410);

export async function revokeAgent(
  deps: AgentDeps,
  keyId: string,
): Promise<{ agent: AgentView; disconnected: number }> {
  const key = await revokeAgentKey(deps.doc, deps.tableName, keyId, new Date(deps.now()).toISOString());
  if (!key) throw new ApiProblem(404, `no agent key ${keyId}`);
  const ids = await agentConnectionIds(deps.doc, deps.tableName, keyId, deps.now());
  let disconnected = 0;
  await Promise.all(
    ids.map(async (connectionId) => {
      // The records first: from here on no broadcast pushes to it, whatever @connections answers.
      await deleteConnection(deps.doc, deps.tableName, connectionId, deps.now());
      try {
        await deps.management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
        disconnected++;
      } catch (error) {
        if (!isGone(error)) deps.onError?.(connectionId, error);
      }
    }),
  );
  return { agent: await view(deps, key), disconnected };
}
