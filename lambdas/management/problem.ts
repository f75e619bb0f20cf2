/**
 * Errors of the management API as `application/problem+json` (RFC 9457): a 400 names each bad field and why.
 */
import type { z } from 'zod';
import type { Problem } from '../../core/management';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors?: { path: string; message: string }[],
  ) {
    super(detail);
  }
}

export function problemBody(problem: ApiProblem): Problem {
  return {
    type: 'about:blank',
    title: TITLES[problem.status] ?? 'Error',
    status: problem.status,
    detail: problem.detail,
    ...(problem.errors ? { errors: problem.errors } : {}),
  };
}

export function problemResponse(problem: ApiProblem): Response {
  return new Response(JSON.stringify(problemBody(problem)), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json' },
  });
}

/** `targets[0]`, `limit`, `(body)`: a zod issue path as the API names fields. */
function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path)
    out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  return out || '(body)';
}

/** Parses with a schema, or throws a 400 naming every bad field. */
export function parseOr400<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'query' | 'body',
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.flatMap((issue) =>
    // An unknown field is named itself, not its parent.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: pathOf([...issue.path, key]), message: 'is not a known field' }))
      : [{ path: pathOf(issue.path), message: issue.message }],
  );
  throw new ApiProblem(
    400,
    `invalid ${where}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    errors,
  );
}

/** Parses a path parameter, or throws a 400 naming it (`id: must be an event id`). */
export function parsePathParameter<S extends z.ZodType>(schema: S, value: unknown, name: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const message = result.error.issues[0]?.message ?? 'is invalid';
  throw new ApiProblem(400, `invalid path: ${name}: ${message}`, [{ path: name, message }]);
}
