/**
 * One Lambda execution environment: runs in its own worker thread with its own `process.env`, loads the handler
 * (init phase, once) — a bundle built by local/lambda/bundle.ts as plain JavaScript, or the TypeScript source
 * through tsx — then serves invocations sent by the parent (local/lambda/local-function.ts).
 * Plain .mjs on purpose: it must load before any TypeScript loader exists in this thread.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

const { handlerPath, handlerExport, functionName, memoryMb, typescript, discardOutput, keepMetricLines } =
  workerData;

/** The start of an embedded-metric-format line (Powertools Metrics writes `{"_aws":{…}}` first). */
const EMF_PREFIX = '{"_aws":';

if (discardOutput) {
  // The parent drops this function's log lines (log sink `false`): do not ship them across threads first — except
  // the metric lines when the parent counts them (the local stack's CloudWatch stand-in).
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = (chunk, encoding, callback) => {
      if (keepMetricLines && String(chunk).startsWith(EMF_PREFIX)) return write(chunk, encoding, callback);
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') queueMicrotask(() => done());
      return true;
    };
  }
}

if (typescript) {
  const [{ register: registerEsm }, { register: registerCjs }] = await Promise.all([
    import('tsx/esm/api'),
    import('tsx/cjs/api'),
  ]);
  registerEsm();
  registerCjs();
} else {
  // Bundles carry source maps: stack traces name the TypeScript sources.
  process.setSourceMapsEnabled(true);
}
const port = parentPort;

function serializeError(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name || 'Error',
      errorMessage: error.message,
      stackTrace: (error.stack ?? '').split('\n'),
    };
  }
  return { errorType: typeof error, errorMessage: String(error), stackTrace: [] };
}

let handler;
try {
  const mod = await import(pathToFileURL(handlerPath).href);
  handler = mod[handlerExport] ?? mod.default?.[handlerExport];
  if (typeof handler !== 'function') {
    const error = new Error(`${handlerPath} does not export a function named "${handlerExport}"`);
    error.name = 'Runtime.HandlerNotFound';
    throw error;
  }
} catch (error) {
  port.postMessage({ type: 'init-error', error: serializeError(error) });
}

function makeContext(requestId, deadline) {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION ?? 'us-east-1'}:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

function callHandler(event, context) {
  if (handler.length >= 3) {
    return new Promise((resolve, reject) => {
      handler(event, context, (error, result) => (error ? reject(error) : resolve(result)));
    });
  }
  return handler(event, context);
}

port.on('message', async (message) => {
  if (message.type !== 'invoke' || !handler) return;
  const { id, payload, requestId, deadline } = message;
  try {
    const result = await callHandler(JSON.parse(payload), makeContext(requestId, deadline));
    port.postMessage({ type: 'result', id, ok: true, payload: JSON.stringify(result ?? null) });
  } catch (error) {
    port.postMessage({ type: 'result', id, ok: false, error: serializeError(error) });
  }
});
// After a failed init the listener above keeps the thread alive until the parent terminates it.
if (handler) port.postMessage({ type: 'ready' });
