/**
 * The slice of the Lambda API the router's functions call, locally, over Lambda's REST-JSON protocol — the endpoint
 * for `AWS_ENDPOINT_URL_LAMBDA`:
 * - event source mappings (list, get, update `Enabled`): a delivery function whose target answered 410 Gone disables
 *   its own mapping here, and the local SQS poller stops receiving, exactly as Lambda's poller does on AWS;
 * - Invoke of the functions registered with `registerFunction` (a Lambda target's local stand-in): `RequestResponse`
 *   answers 200 with the function's payload (and `X-Amz-Function-Error` when it failed), `Event` answers 202; an
 *   unknown function is 404 ResourceNotFoundException.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, LOOPBACK, listenOnLoopback, readBody, sendJson } from '../net';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws-env';

export interface LocalMapping {
  readonly uuid: string;
  readonly functionName: string;
  readonly eventSourceArn: string;
  readonly batchSize: number;
  isEnabled(): boolean;
  setEnabled(enabled: boolean): void;
}

/** A function Invoke reaches: its answer, or the error it failed with. */
export type LocalInvokable = (
  payload: Buffer,
  invocationType: 'RequestResponse' | 'Event',
) => Promise<{ payload: string; functionError?: 'Unhandled' | 'Handled' }>;

export interface LocalLambdaApi {
  readonly endpoint: string;
  register(mapping: LocalMapping): void;
  /** Makes a function invokable by name or ARN. */
  registerFunction(nameOrArn: string, invoke: LocalInvokable): void;
  mappings(): readonly LocalMapping[];
  stop(): Promise<void>;
}

const functionArn = (name: string) => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;

function describe(mapping: LocalMapping) {
  return {
    UUID: mapping.uuid,
    FunctionArn: functionArn(mapping.functionName),
    EventSourceArn: mapping.eventSourceArn,
    EventSourceMappingArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-source-mapping:${mapping.uuid}`,
    BatchSize: mapping.batchSize,
    State: mapping.isEnabled() ? 'Enabled' : 'Disabled',
    LastModified: Math.floor(Date.now() / 1000),
    FunctionResponseTypes: ['ReportBatchItemFailures'],
  };
}

/** A function given by name, partial ARN or ARN (Lambda accepts all three). */
const sameFunction = (given: string, name: string) =>
  given === name || given === functionArn(name) || given.endsWith(`:function:${name}`);

export async function startLocalLambdaApi(): Promise<LocalLambdaApi> {
  const mappings = new Map<string, LocalMapping>();
  const invokables = new Map<string, LocalInvokable>();
  /** Lambda caps a synchronous request payload at 6 MB. */
  const MAX_INVOKE_BYTES = 6 * 1024 * 1024;
  const notFound = (res: ServerResponse, message: string) =>
    sendJson(res, 404, { Type: 'User', message }, { 'x-amzn-errortype': 'ResourceNotFoundException' });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}`);
    const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
    if (invoke && req.method === 'POST') {
      const name = decodeURIComponent(invoke[1]!);
      const fn = invokables.get(name);
      const payload = await readBody(req, MAX_INVOKE_BYTES);
      if (!fn) return notFound(res, `Function not found: ${name}`);
      const type = req.headers['x-amz-invocation-type'] === 'Event' ? 'Event' : 'RequestResponse';
      const out = await fn(payload, type);
      if (type === 'Event') {
        res.writeHead(202, { 'content-length': '0', 'x-amzn-requestid': randomUUID() }).end();
        return;
      }
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'x-amz-executed-version': '$LATEST',
          'x-amzn-requestid': randomUUID(),
          ...(out.functionError ? { 'x-amz-function-error': out.functionError } : {}),
        })
        .end(out.payload);
      return;
    }
    const raw = (await readBody(req, 64 * 1024)).toString('utf8');
    const base = '/2015-03-31/event-source-mappings';
    if (!url.pathname.startsWith(base))
      return notFound(res, `no such operation ${req.method} ${url.pathname}`);
    const id = decodeURIComponent(url.pathname.slice(base.length).replace(/^\//, ''));
    if (id === '' && req.method === 'GET') {
      const fn = url.searchParams.get('FunctionName');
      const source = url.searchParams.get('EventSourceArn');
      const found = [...mappings.values()].filter(
        (m) => (!fn || sameFunction(fn, m.functionName)) && (!source || m.eventSourceArn === source),
      );
      return sendJson(res, 200, { EventSourceMappings: found.map(describe) });
    }
    const mapping = mappings.get(id.replace(/\/$/, ''));
    if (!mapping)
      return notFound(res, `The resource you requested does not exist. (Service: Lambda, UUID: ${id})`);
    if (req.method === 'GET') return sendJson(res, 200, describe(mapping));
    if (req.method === 'PUT') {
      const body = (raw ? JSON.parse(raw) : {}) as { Enabled?: unknown };
      if (typeof body.Enabled === 'boolean') mapping.setEnabled(body.Enabled);
      return sendJson(res, 202, describe(mapping));
    }
    return notFound(res, `no such operation ${req.method} ${url.pathname}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent)
        sendJson(res, 500, { message: error.message }, { 'x-amzn-errortype': 'ServiceException' });
    });
  });
  const port = await listenOnLoopback(server, 0, 'Lambda API');
  return {
    endpoint: `http://${LOOPBACK}:${port}`,
    register: (mapping) => void mappings.set(mapping.uuid, mapping),
    registerFunction: (nameOrArn, invoke) => void invokables.set(nameOrArn, invoke),
    mappings: () => [...mappings.values()],
    stop: () => closeServer(server),
  };
}
