/**
 * Per-target JSONata transforms (https://jsonata.org, the query language AWS Step Functions adopted): an
 * expression that reshapes the event envelope into the body a target receives. Compiled once — at synth to
 * validate the config, once per cold start in the delivery function — and applied to each envelope.
 *
 * What the expression sees:
 * - The parsed envelope (`id`, `source`, `type`, `headers`, `data`…). It is parsed with `JSON.parse`, so
 *   integers beyond 2^53 are already rounded when the transform reads them (`12345678901234567891` is
 *   delivered as `12345678901234567000`). Without a transform the target gets the exact text of the envelope,
 *   so a target whose payload carries such ids (64-bit snowflake ids) should go without a transform, or use
 *   the string form when the provider also sends one (`id_str`).
 * - A payload stored outside the event (`dataRef`, see core/contracts.ts) must be fetched and put in `data`
 *   by the caller before the transform runs: the expression cannot read S3. An envelope that still has a
 *   `dataRef` and no `data` is refused rather than transformed as if the payload were empty.
 *
 * Bounds. JSONata has recursion but no loops, so a runaway expression is a function that calls itself: in
 * tail position JSONata turns the call into a loop that runs until stopped; otherwise each call nests deeper
 * and holds memory (measured on Node 20: ~230 MB after one second of runaway recursion). Evaluation is async
 * but never waits on I/O: it runs on microtasks, so a `setTimeout`/`Promise.race` timer could only fire after
 * it finished. The bounds are therefore checked inside the evaluator, by the `timeout`, `stack` and
 * `sequence` guardrails that jsonata 2.2 takes as `jsonata(expr, options)`: before each node it evaluates, it
 * raises D1012 past the time budget and D1011 past the depth, and D2015 when a sequence grows past its cap
 * (see `TransformLimits`). The older trick from jsonata's exerciser, counting through the `$__evaluate_entry`
 * / `$__evaluate_exit` hooks, is not used: it skips evaluations flagged `isParallelCall` (the branches of
 * array and object constructors), so a recursion inside `{"a": …}` was neither counted nor timed and ran
 * until the process ran out of memory.
 *
 * What the bounds cannot stop: a single built-in call does its work without returning to the evaluator, so
 * one catastrophic regular expression (`$match($s, /(a+)+$/)`) is not interrupted by the timeout; the
 * sequence cap keeps other single calls (`$string`, `$join` over a huge range) small. The Lambda timeout is
 * the backstop.
 */
import jsonata from 'jsonata';

/** Default wall-clock budget of one evaluation, in milliseconds. */
export const TRANSFORM_TIMEOUT_MS = 1000;

/**
 * Default evaluation depth. jsonata counts evaluations in progress, which includes the concurrently evaluated
 * branches of array constructors, object constructors and group-by (`items{id: name}`), not only nesting; a
 * non-tail recursive call costs about 3. 10 000 allows recursion about 3 000 deep and group-by over ~5 000
 * keys, and stops a runaway recursion after ~30 MB instead of ~230 MB.
 */
export const TRANSFORM_MAX_DEPTH = 10_000;

/**
 * Default longest sequence (path result, range, `$append`). A webhook body is at most 4 MiB
 * (MAX_BODY_BYTES_CEILING), so no path over real input comes near; it stops `[1..9999999]` (jsonata's own cap
 * is 1e7) from feeding one uninterruptible built-in call.
 */
export const TRANSFORM_MAX_SEQUENCE = 1_000_000;

/**
 * Default largest output, in UTF-8 bytes: 1 MiB, the most an SQS message can carry (the MaximumMessageSize
 * ceiling), so a transformed body can still travel through a queue; EventBridge takes entries of up to 1 MB
 * (Time, Source and DetailType included: its sender checks). For HTTP targets it bounds what a transform that multiplies its input
 * (`[1..1e5]`) makes the delivery function build and POST; it also matches a source's default `maxBodyBytes`.
 */
export const TRANSFORM_MAX_OUTPUT_BYTES = 1024 * 1024;

export interface TransformLimits {
  /** Wall-clock budget of one evaluation (ms). */
  readonly timeoutMs: number;
  /** Evaluations in progress at once (nesting and parallel constructor branches); see TRANSFORM_MAX_DEPTH. */
  readonly maxDepth: number;
  /** Longest sequence an evaluation may build. */
  readonly maxSequence: number;
  /** Largest output in UTF-8 bytes. */
  readonly maxOutputBytes: number;
}

export const DEFAULT_TRANSFORM_LIMITS: TransformLimits = Object.freeze({
  timeoutMs: TRANSFORM_TIMEOUT_MS,
  maxDepth: TRANSFORM_MAX_DEPTH,
  maxSequence: TRANSFORM_MAX_SEQUENCE,
  maxOutputBytes: TRANSFORM_MAX_OUTPUT_BYTES,
});

/**
 * The expression does not compile. `position` is jsonata's: the 1-based offset of the last character of the
 * offending token (the expression's length when it ended too early).
 */
export class TransformError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly position?: number,
    readonly token?: string,
  ) {
    super(message);
    this.name = 'TransformError';
  }
}

/** `body` is the JSON text of the result; `reason` says why there is none, starting with "transform". */
export type TransformResult =
  | { readonly ok: true; readonly body: string }
  | { readonly ok: false; readonly reason: string };

export interface CompiledTransform {
  readonly expression: string;
  readonly limits: TransformLimits;
  /** Evaluates against one envelope. Never rejects for a problem of the expression or input: see `reason`. */
  apply(envelope: unknown): Promise<TransformResult>;
}

/** The fields jsonata puts on the plain objects it throws (they are not Error instances). */
interface JsonataFailure {
  readonly code?: unknown;
  readonly position?: unknown;
  readonly token?: unknown;
  readonly message?: unknown;
  /** Set on D3121: the error inside an `$eval()`. */
  readonly error?: unknown;
}

const asFailure = (error: unknown): JsonataFailure =>
  typeof error === 'object' && error !== null ? (error as JsonataFailure) : { message: String(error) };

/** `<message> at position <n> (<code>)`, leaving out what jsonata did not say. */
function describe(failure: JsonataFailure): string {
  const message = failure.message;
  let text = typeof message === 'string' && message !== '' ? message : 'unknown error';
  if (typeof failure.position === 'number') text += ` at position ${failure.position}`;
  if (typeof failure.code === 'string') text += ` (${failure.code})`;
  return text;
}

function checkLimits(limits: TransformLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    // 0 would not mean "nothing allowed": jsonata treats a falsy guardrail as "no limit".
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`transform limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
}

/** Parses `expression` once. Throws TransformError saying where and why it does not compile. */
export function compileTransform(expression: string, limits?: Partial<TransformLimits>): CompiledTransform {
  const bounds: TransformLimits = Object.freeze({ ...DEFAULT_TRANSFORM_LIMITS, ...limits });
  checkLimits(bounds);
  if (typeof expression !== 'string') throw new TransformError('transform: must be a string');
  // jsonata would say "Unexpected end of expression at position 0".
  if (expression.trim() === '') throw new TransformError('transform: the expression is empty');
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(expression, {
      timeout: bounds.timeoutMs,
      stack: bounds.maxDepth,
      sequence: bounds.maxSequence,
    });
  } catch (error) {
    const failure = asFailure(error);
    throw new TransformError(
      `transform: ${describe(failure)}`,
      typeof failure.code === 'string' ? failure.code : undefined,
      typeof failure.position === 'number' ? failure.position : undefined,
      typeof failure.token === 'string' ? failure.token : undefined,
    );
  }
  return {
    expression,
    limits: bounds,
    apply: (envelope) => evaluate(compiled, bounds, envelope),
  };
}

/** For config validation: the TransformError of an expression that does not compile, or undefined. */
export function transformProblem(expression: string): TransformError | undefined {
  try {
    compileTransform(expression);
    return undefined;
  } catch (error) {
    if (error instanceof TransformError) return error;
    throw error;
  }
}

async function evaluate(
  compiled: jsonata.Expression,
  limits: TransformLimits,
  envelope: unknown,
): Promise<TransformResult> {
  if (isUnresolved(envelope)) {
    return {
      ok: false,
      reason: 'transform: the envelope still points to its payload (dataRef); fetch it into data first',
    };
  }
  let value: unknown;
  try {
    value = await compiled.evaluate(envelope);
  } catch (error) {
    return { ok: false, reason: evaluationReason(error, limits) };
  }
  if (value === undefined) {
    // JSONata's "no match": a path that selects nothing yields no value rather than null. Delivering an empty
    // body would hide a broken transform, so it fails like any other error.
    return {
      ok: false,
      reason:
        'transform produced no value (the expression matched nothing); ' +
        'give a default with `?? null` or wrap it in an object',
    };
  }
  let body: string;
  try {
    body = JSON.stringify(value, rejectFunctions);
  } catch (error) {
    if (error instanceof NotJson) {
      return { ok: false, reason: 'transform produced a function, which is not JSON' };
    }
    return { ok: false, reason: `transform output cannot be serialised: ${(error as Error).message}` };
  }
  // Cheap test first: a string's UTF-8 size is at least its length in UTF-16 code units.
  const bytes = body.length > limits.maxOutputBytes ? body.length : Buffer.byteLength(body, 'utf8');
  if (bytes > limits.maxOutputBytes) {
    return {
      ok: false,
      reason: `transform output exceeded ${limits.maxOutputBytes} bytes (at least ${bytes})`,
    };
  }
  return { ok: true, body };
}

function isUnresolved(envelope: unknown): boolean {
  if (typeof envelope !== 'object' || envelope === null) return false;
  const e = envelope as { data?: unknown; dataRef?: unknown };
  return e.dataRef !== undefined && e.dataRef !== null && e.data === undefined;
}

function evaluationReason(error: unknown, limits: TransformLimits): string {
  // A guardrail tripped inside `$eval()` arrives wrapped in D3121; report the bound, not the wrapper.
  let inner = asFailure(error);
  while (inner.code === 'D3121' && inner.error !== undefined) inner = asFailure(inner.error);
  switch (inner.code) {
    case 'D1012':
      return `transform exceeded ${limits.timeoutMs} ms`;
    case 'D1011':
      return `transform exceeded depth ${limits.maxDepth} (runaway recursion? make recursion a tail call)`;
    case 'D2015':
      return `transform exceeded ${limits.maxSequence} items in one sequence`;
  }
  // The evaluator's recursion is async and unwinds at each step, so this is a safety net, not an expected
  // path.
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return `transform exceeded depth ${limits.maxDepth} (JavaScript stack)`;
  }
  return `transform failed: ${describe(asFailure(error))}`;
}

class NotJson extends Error {}

/**
 * JSON.stringify replacer: a JSONata function value (a lambda, a built-in like `$string`, a regex) is an
 * object with a circular environment, or a JS function: stringify would throw on the first and silently drop
 * the second.
 */
function rejectFunctions(_key: string, value: unknown): unknown {
  if (typeof value === 'function') throw new NotJson();
  if (typeof value === 'object' && value !== null) {
    const v = value as { _jsonata_lambda?: unknown; _jsonata_function?: unknown };
    if (v._jsonata_lambda === true || v._jsonata_function === true) throw new NotJson();
  }
  return value;
}
