/**
 * The management API's OpenAPI document: generated from the schemas and the route table the handler serves
 * (core/management.ts), committed as docs/openapi.json, and checked here against both.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../core/management';
import { openApiDocument } from '../../core/openapi';
import { MANAGEMENT_ROUTES } from '../../core/plan';
import { VERSION } from '../../core/version';

const document = openApiDocument(VERSION);
type Operation = {
  operationId: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, { schema: { type?: string; properties?: object } }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  'x-event-router-policy': string;
};
const operations = Object.entries(document.paths).flatMap(([p, methods]) =>
  Object.entries(methods).map(([method, op]) => ({
    path: p,
    method: method.toUpperCase(),
    op: op as Operation,
  })),
);

describe('the OpenAPI document of the management API', () => {
  it('is the committed docs/openapi.json (regenerate: npx event-router openapi > docs/openapi.json)', () => {
    const committed = JSON.parse(
      readFileSync(path.join(import.meta.dirname, '../../docs/openapi.json'), 'utf8'),
    );
    expect(committed).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('describes exactly the routes the handler serves and API Gateway routes to it', () => {
    const described = operations.map((o) => `${o.method} ${o.path}`).sort();
    expect(described).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    expect(described).toEqual(MANAGEMENT_ROUTES.map((r) => r.routeKey).sort());
    expect(new Set(operations.map((o) => o.op.operationId)).size).toBe(operations.length);
  });

  it('requires SigV4 on every /v1 operation and nothing on /health', () => {
    expect(document.security).toEqual([{ sigv4: [] }]);
    expect(document.components.securitySchemes.sigv4['x-amazon-apigateway-authtype']).toBe('awsSigv4');
    for (const { path: p, op } of operations) {
      if (p === '/health') expect(op.security).toEqual([]);
      else {
        expect(op.security, p).toBeUndefined();
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['400', '403', '404', '429']));
        expect(op.responses['400']!.content).toHaveProperty(['application/problem+json']);
      }
    }
  });

  it('names the policy each operation needs: reader for reads, operator for changes', () => {
    for (const { method, path: p, op } of operations) {
      if (p === '/health') continue;
      expect(op['x-event-router-policy'], `${method} ${p}`).toBe(method === 'GET' ? 'reader' : 'operator');
    }
  });

  it('documents path parameters, query parameters and request bodies from the schemas', () => {
    const list = operations.find((o) => o.method === 'GET' && o.path === '/v1/events')!.op;
    expect(list.parameters!.map((p) => p.name).sort()).toEqual([
      'cursor',
      'from',
      'limit',
      'source',
      'to',
      'type',
    ]);
    expect(list.parameters!.every((p) => p.in === 'query' && !p.required)).toBe(true);
    const get = operations.find((o) => o.method === 'GET' && o.path === '/v1/events/{id}')!.op;
    expect(get.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);
    const replay = operations.find((o) => o.method === 'POST' && o.path === '/v1/replays')!.op;
    const schema = replay.requestBody!.content['application/json']!.schema as {
      required: string[];
      additionalProperties: boolean;
    };
    expect(schema.required.sort()).toEqual(['from', 'target', 'to']);
    // Unknown fields are refused, and the document says so.
    expect(schema.additionalProperties).toBe(false);
  });
});
