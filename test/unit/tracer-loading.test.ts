/**
 * Powertools' Tracer, and the X-Ray SDK under it, are loaded only where they can trace: in Lambda, in a function not
 * deployed PassThrough (`POWERTOOLS_TRACE_ENABLED=false`, lib/router-function.ts). Elsewhere `tracer` leaves the
 * clients as they are; where tracing is on they are still captured.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { eagerFiles } from '../../bench/cold-start.bench';
import { handlerEntry } from '../../core/plan';
import { tracingPossible } from '../../lambdas/shared/observability';
import { bundleHandler } from '../../lib/bundling';

/** How often the tracer package was loaded since the last `observabilityIn`. */
const loads = { tracer: 0 };

/** The X-Ray SDK's name for its AWS SDK v3 middleware, in its code and on a captured client's stack. */
const XRAY_MIDDLEWARE = 'XRaySDKInstrumentation';
const LAMBDA_ENV = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' };

/** lambdas/shared/observability.ts evaluated afresh in an environment (the tracer is chosen at load). */
async function observabilityIn(env: Record<string, string | undefined>) {
  for (const name of ['AWS_EXECUTION_ENV', 'AWS_SAM_LOCAL', 'POWERTOOLS_TRACE_ENABLED'])
    vi.stubEnv(name, undefined);
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  // Patching Node's http and https for this whole test process is not what is tested here.
  vi.stubEnv('POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS', 'false');
  vi.resetModules();
  // Counts the loads of the tracer package, handing the real one over (registered anew: a mock's module is cached).
  loads.tracer = 0;
  vi.doMock('@aws-lambda-powertools/tracer', async (importOriginal) => {
    loads.tracer++;
    return importOriginal();
  });
  return import('../../lambdas/shared/observability');
}

const xrayMiddleware = (client: DynamoDBClient) =>
  client.middlewareStack.identify().filter((name) => name.includes(XRAY_MIDDLEWARE));

afterEach(() => {
  vi.unstubAllEnvs();
  vi.doUnmock('@aws-lambda-powertools/tracer');
});

describe('when tracing can be on', () => {
  it("follows Powertools' rules: in Lambda (AWS_EXECUTION_ENV), unless POWERTOOLS_TRACE_ENABLED is false", () => {
    expect(tracingPossible(LAMBDA_ENV)).toBe(true);
    expect(tracingPossible({ ...LAMBDA_ENV, POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(true);
    expect(tracingPossible({ ...LAMBDA_ENV, POWERTOOLS_TRACE_ENABLED: 'false' })).toBe(false);
    expect(tracingPossible({ ...LAMBDA_ENV, POWERTOOLS_TRACE_ENABLED: ' FALSE ' })).toBe(false);
    // Only `false` turns it off, as Powertools reads it.
    expect(tracingPossible({ ...LAMBDA_ENV, POWERTOOLS_TRACE_ENABLED: '0' })).toBe(true);
    // Not in Lambda: `npm start` sets the function's name, but not AWS_EXECUTION_ENV.
    expect(tracingPossible({ AWS_LAMBDA_FUNCTION_NAME: 'ingest' })).toBe(false);
    expect(tracingPossible({ AWS_EXECUTION_ENV: ' ' })).toBe(false);
    expect(tracingPossible({ ...LAMBDA_ENV, AWS_SAM_LOCAL: 'true' })).toBe(false);
    expect(tracingPossible({ AWS_EXECUTION_ENV: 'AWS_Lambda_amplify-mock' })).toBe(false);
  });
});

describe('the tracer', () => {
  it('is never loaded in a function deployed PassThrough, nor outside Lambda; clients stay as they are', async () => {
    for (const env of [{ ...LAMBDA_ENV, POWERTOOLS_TRACE_ENABLED: 'false' }, {}]) {
      const { tracer, untracedTracer } = await observabilityIn(env);
      expect(loads.tracer).toBe(0);
      expect(tracer).toBe(untracedTracer);
      const client = new DynamoDBClient({ region: 'us-east-1' });
      expect(tracer.captureAWSv3Client(client)).toBe(client);
      expect(xrayMiddleware(client)).toEqual([]);
    }
  });

  it('is loaded in Lambda when tracing is on, and captures the clients', async () => {
    const { tracer, untracedTracer } = await observabilityIn(LAMBDA_ENV);
    expect(loads.tracer).toBe(1);
    expect(tracer).not.toBe(untracedTracer);
    expect(tracer.isTracingEnabled()).toBe(true);
    const client = new DynamoDBClient({ region: 'us-east-1' });
    expect(tracer.captureAWSv3Client(client)).toBe(client);
    expect(xrayMiddleware(client)).not.toEqual([]);
  });

  it('is in a chunk of its own that the deployed bundle loads only on demand', async () => {
    // Sweeper: PassThrough in prod (lib/stages.ts).
    const dir = await bundleHandler(handlerEntry('sweeper'));
    const eager = eagerFiles(dir);
    const holdsTracer = (file: string) => {
      const text = readFileSync(file, 'utf8');
      return text.includes(XRAY_MIDDLEWARE) || text.includes('POWERTOOLS_TRACER_CAPTURE_ERROR');
    };
    expect(eager.filter(holdsTracer)).toEqual([]);
    // …and it is in the bundle, behind an `import()` of the code loaded at init.
    const lazy = eager.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/import\("(\.{1,2}\/[^"]+\.mjs)"\)/g)].map((m) =>
        path.resolve(path.dirname(file), m[1]!),
      ),
    );
    expect(lazy.filter(holdsTracer)).toHaveLength(1);
  });
});
