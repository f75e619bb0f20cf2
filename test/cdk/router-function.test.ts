import { Fn } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { planTopology } from '../../core/plan';
import {
  environmentBytes,
  MAX_ENVIRONMENT_BYTES,
  RouterFunction,
  TOKEN_ESTIMATE_BYTES,
} from '../../lib/router-function';
import exampleConfig from '../../router.config';
import { testStack } from '../support/cdk';

// Without a live stream: the sweeper's environment names the events table and the bus only.
const { sweeper } = planTopology(
  parseRouterConfig({ ...exampleConfig, liveStream: { enabled: false } }),
).functions;

describe('RouterFunction', () => {
  it('builds the planned function: runtime, ARM64, memory, timeout, reserved concurrency, resolved environment', () => {
    const stack = testStack();
    new RouterFunction(stack, 'Fn', {
      spec: { ...sweeper, reservedConcurrency: 3 },
      refs: { eventsTable: 'events', bus: 'bus' },
      grantResources: {
        eventsTable: ['arn:aws:dynamodb:us-east-1:111111111111:table/events'],
        bus: ['arn:aws:events:us-east-1:111111111111:event-bus/bus'],
      },
      logRetention: RetentionDays.ONE_WEEK,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: sweeper.memoryMb,
      Timeout: sweeper.timeoutSeconds,
      ReservedConcurrentExecutions: 3,
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'sweeper',
          POWERTOOLS_METRICS_NAMESPACE: 'EventRouter',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          POWERTOOLS_LOGGER_SAMPLE_RATE: '0',
          POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
          // Active: the tracer is on (Powertools' default in Lambda).
          POWERTOOLS_TRACE_ENABLED: Match.absent(),
          EVENT_TABLE_NAME: 'events',
          EVENT_BUS_NAME: 'bus',
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it('traces PassThrough (the tracer off: POWERTOOLS_TRACE_ENABLED=false) and samples debug logs when asked, and refuses a sample rate outside 0-1', () => {
    const stack = testStack();
    new RouterFunction(stack, 'Fn', {
      spec: sweeper,
      refs: { eventsTable: 't', bus: 'b' },
      grantResources: { eventsTable: ['arn:t'], bus: ['arn:b'] },
      tracing: 'PassThrough',
      logSampleRate: 0.05,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      TracingConfig: { Mode: 'PassThrough' },
      Environment: {
        Variables: { POWERTOOLS_LOGGER_SAMPLE_RATE: '0.05', POWERTOOLS_TRACE_ENABLED: 'false' },
      },
    });
    // X-Ray stays granted in PassThrough: a stage switches modes without touching roles.
    expect(JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy'))).toContain(
      'xray:PutTraceSegments',
    );
    expect(
      () =>
        new RouterFunction(testStack(), 'Bad', {
          spec: sweeper,
          refs: { eventsTable: 't', bus: 'b' },
          logSampleRate: 1.5,
        }),
    ).toThrow('Test/Bad: logSampleRate must be between 0 and 1, got 1.5');
  });

  it('rejects an impossible memory size', () => {
    expect(
      () =>
        new RouterFunction(testStack(), 'Fn', {
          spec: { ...sweeper, memoryMb: 64 },
          refs: { eventsTable: 't', bus: 'b' },
        }),
    ).toThrow(/Test\/Fn: memorySize must be 128-10240 MB, got 64/);
  });

  it('fails the synth when the environment refers to a resource the stack did not give', () => {
    expect(
      () => new RouterFunction(testStack(), 'Fn', { spec: sweeper, refs: { eventsTable: 't' } }),
    ).toThrow(/EVENT_BUS_NAME refers to bus/);
  });

  it('counts environment bytes as Lambda does (names and values), an unresolved value at its estimate', () => {
    expect(environmentBytes({ AB: 'cde' })).toBe(5);
    expect(environmentBytes({ Q: Fn.ref('Queue') })).toBe(1 + TOKEN_ESTIMATE_BYTES);
    expect(environmentBytes({ U: `https://${Fn.ref('Api')}/x` })).toBe(
      1 + 'https:///x'.length + TOKEN_ESTIMATE_BYTES,
    );
  });

  it('fails the synth when an environment would pass 4 KB, naming the function and its largest variables', () => {
    const big = {
      ...sweeper,
      environment: { ...sweeper.environment, HUGE: 'x'.repeat(MAX_ENVIRONMENT_BYTES) },
    };
    expect(
      () =>
        new RouterFunction(testStack(), 'Fn', {
          spec: big,
          refs: { eventsTable: 't', bus: 'b' },
          grantResources: { eventsTable: ['arn:t'], bus: ['arn:b'] },
        }),
    ).toThrow(
      /Test\/Fn: environment of function sweeper is about \d+ bytes; Lambda allows 4096 in all \(largest: HUGE, .*runtime\.json/,
    );
  });
});
