/**
 * dynalite in its own thread (local/services/dynamodb.ts): every DynamoDB call of the pipeline is parsed, validated
 * and stored here, off the thread that runs the other emulators. Plain .mjs: no TypeScript loader in this thread.
 * The main thread mirrors the DynamoDB fault switch here (`{ type: 'fault', fault }`).
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite');
const { withFaults } = await import(new URL('./dynalite-faults.mjs', import.meta.url).href);
const { host, port, options } = workerData;
const server = dynalite(options);
const faults = withFaults(server);
server.once('error', (error) =>
  parentPort.postMessage({ type: 'error', code: error.code, message: error.message }),
);
server.listen(port, host, () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
parentPort.on('message', (message) => {
  if (message?.type === 'fault') faults.set(message.fault);
  if (message?.type !== 'stop') return;
  server.close(() => parentPort.postMessage({ type: 'closed' }));
  server.closeAllConnections();
});
