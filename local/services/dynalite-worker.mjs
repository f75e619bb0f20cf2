/**
 * dynalite in its own thread (local/services/dynamodb.ts): every DynamoDB call of the pipeline is parsed, validated
 * and stored here, off the thread that runs the other emulators. Plain .mjs: no TypeScript loader in this thread.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const dynalite = createRequire(import.meta.url)('dynalite');
const { host, port, options } = workerData;
const server = dynalite(options);
server.once('error', (error) =>
  parentPort.postMessage({ type: 'error', code: error.code, message: error.message }),
);
server.listen(port, host, () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
parentPort.on('message', (message) => {
  if (message?.type !== 'stop') return;
  server.close(() => parentPort.postMessage({ type: 'closed' }));
  server.closeAllConnections();
});
