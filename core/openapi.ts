/**
 * The OpenAPI 3.1 document of the management API, generated from the schemas and the route table in
 * core/management.ts (zod's JSON Schema output), so that the document cannot drift from what the handler validates.
 * `npx event-router openapi` prints it; test/unit/openapi.test.ts checks it against the routes.
 */
import { toJSONSchema, type z } from 'zod';
import { Problem, ROUTES, type RouteSpec } from './management';

/** JSON Schema of what a request or a response is (the wire form: a query string's numbers are strings). */
const schemaOf = (schema: z.ZodType, io: 'input' | 'output') => {
  // OpenAPI 3.1 schemas are JSON Schema 2020-12; the dialect is the document's, not repeated in each schema.
  const { $schema: _dialect, ...json } = toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  });
  return json;
};

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: schemaOf(Problem, 'output') } },
});

function operation(route: RouteSpec) {
  const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1]!,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query = route.query
    ? Object.entries(
        (schemaOf(route.query, 'input') as { properties?: Record<string, unknown>; required?: string[] })
          .properties ?? {},
      ).map(([name, schema]) => ({
        name,
        in: 'query',
        required:
          (schemaOf(route.query!, 'input') as { required?: string[] }).required?.includes(name) ?? false,
        schema,
      }))
    : [];
  const isPublic = route.path === '/health';
  return {
    summary: route.summary,
    operationId: `${route.method.toLowerCase()}${route.path
      .replace(/[{}]/g, '')
      .replace(/\/(\w)/g, (_m, c: string) => c.toUpperCase())
      .replace(/\W/g, '')}`,
    ...(isPublic ? { security: [] } : {}),
    ...(pathParams.length + query.length > 0 ? { parameters: [...pathParams, ...query] } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: schemaOf(route.body, 'input') } },
          },
        }
      : {}),
    responses: {
      [String(route.status)]: {
        description: 'OK',
        content: { 'application/json': { schema: schemaOf(route.response, 'output') } },
      },
      ...(isPublic
        ? {}
        : {
            '400': problem('A parameter or the body is invalid: `errors` names each field and why'),
            // API Gateway answers these, before the function runs: its own body, not problem+json.
            '403': {
              description:
                "No valid SigV4 signature, or the caller may not call this route (IAM): API Gateway's answer",
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: { message: { type: 'string' } },
                    required: ['message'],
                  },
                },
              },
            },
            '429': {
              description: 'Throttled by API Gateway (before the function runs): safe to retry after a pause',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: { message: { type: 'string' } },
                    required: ['message'],
                  },
                },
              },
            },
            '404': problem('No such event, target or job'),
            '409': problem('The request conflicts with the current state (e.g. cancelling a finished job)'),
          }),
    },
    'x-event-router-policy': route.operator ? 'operator' : 'reader',
  };
}

export function openApiDocument(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Event Router management API',
      version,
      description:
        'History, delivery log, publish, replay and redrive. Every /v1 route is authorized with AWS IAM (SigV4, ' +
        'service execute-api); the reader policy allows the GET routes, the operator policy every route.',
    },
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
    },
    security: [{ sigv4: [] }],
    paths,
  };
}
