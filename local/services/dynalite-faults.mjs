/**
 * Puts a fault check in front of dynalite's request handler: while a fault is set, matching calls answer with the
 * AWS JSON error the SDK surfaces (e.g. 400 ThrottlingException, 500 InternalServerError) and store nothing.
 * Shared by the in-thread and the worker-thread dynalite. Plain .mjs (loaded by the worker without a TS loader).
 */
export function withFaults(server) {
  const [handler] = server.listeners('request');
  server.removeAllListeners('request');
  let fault;
  server.on('request', (req, res) => {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    const matches =
      fault &&
      (!fault.operations || fault.operations.includes(operation)) &&
      (fault.rate === undefined || Math.random() < fault.rate);
    if (!matches) return handler(req, res);
    req.resume();
    const body = JSON.stringify({
      __type: `com.amazonaws.dynamodb.v20120810#${fault.code}`,
      message: fault.message ?? fault.code,
    });
    res.writeHead(fault.status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(body),
      'x-amzn-errortype': fault.code,
    });
    res.end(body);
  });
  return {
    set(next) {
      fault = next ?? undefined;
    },
  };
}
