/** A plain HTTP answer, independent of API Gateway. */
export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export const json = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** Error answer: a stable machine-readable code and a human message. Never includes secrets. */
export const problem = (
  statusCode: number,
  error: string,
  message: string,
  headers: Record<string, string> = {},
) => json(statusCode, { error, message }, headers);
