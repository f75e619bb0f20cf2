/** Small HTTP helpers shared by the local emulators: loopback listen, bounded body reads, JSON answers. */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Every local server binds here and nowhere else. */
export const LOOPBACK = '127.0.0.1';

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly label: string,
  ) {
    super(`Port ${port} on ${LOOPBACK} is already in use (${label}); free it or choose another port.`);
    this.name = 'PortInUseError';
  }
}

/** Listens on 127.0.0.1; turns EADDRINUSE into a PortInUseError naming the server. Resolves to the bound port. */
export function listenOnLoopback(server: Server, port: number, label: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, label) : error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, LOOPBACK);
  });
}

/** Closes a server and every open connection (keep-alive sockets included). Never rejects. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** Reads the whole request body; rejects with BodyTooLargeError as soon as it passes `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(new BodyTooLargeError(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      if (!failed) reject(error);
    });
  });
}

export function sendJson(
  res: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
): void {
  const text = JSON.stringify(body);
  res.writeHead(statusCode, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** AWS JSON-protocol error answer (`__type` + message), as SDK v3 clients parse it. */
export function sendAwsJsonError(
  res: ServerResponse,
  statusCode: number,
  type: string,
  message: string,
  contentType = 'application/x-amz-json-1.1',
): void {
  sendJson(res, statusCode, { __type: type, message }, { 'x-amzn-errortype': type }, contentType);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
