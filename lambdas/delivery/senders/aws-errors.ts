/**
 * How an AWS SDK error from a target (a queue, a function, a bus) decides the attempt: worth retrying, or a failure
 * no retry can fix.
 */

/** Error names that no retry fixes: the request itself is wrong (too big, malformed, unsupported). */
const PERMANENT = new Set([
  'InvalidParameterValue',
  'InvalidParameterValueException',
  'InvalidMessageContents',
  'InvalidRequestContentException',
  'RequestEntityTooLargeException',
  'RequestTooLarge',
  'ValidationException',
  'UnsupportedOperation',
  'InvalidAddress',
  'MalformedDetail',
  'InvalidArgument',
  'RedactionFailure',
]);

/**
 * Transient unless the target refused the request itself. Throttling, server errors, timeouts and network errors
 * retry; so do permission and "not found" errors, which an operator fixes in the target's account (a queue or bus
 * policy, a function's resource policy) without touching the event — the retry schedule, and the breaker, hold the
 * events meanwhile.
 */
export function retryableAwsError(error: unknown): boolean {
  const e = error as { name?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof e?.name === 'string' && PERMANENT.has(e.name)) return false;
  if (e?.$retryable) return true;
  const status = e?.$metadata?.httpStatusCode;
  if (status === 413) return false;
  return true;
}

/** `<name>: <message>` of an SDK error, short. */
export function awsErrorText(error: unknown): string {
  const e = error as { name?: unknown; message?: unknown };
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return `${name}: ${message}`.slice(0, 500);
}

/** The region of an ARN (`arn:<partition>:<service>:<region>:…`). */
export function regionOf(arn: string): string {
  const region = arn.split(':')[3];
  if (!region) throw new Error(`no region in ${arn}`);
  return region;
}
