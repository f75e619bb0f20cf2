import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { planTopology } from '../../core/plan';
import { RouterFunction } from '../../lib/router-function';
import exampleConfig from '../../router.config';
import { testStack } from '../support/cdk';

const { sweeper } = planTopology(parseRouterConfig(exampleConfig)).functions;

describe('RouterFunction', () => {
  it('builds the planned function: runtime, ARM64, memory, timeout, reserved concurrency, resolved environment', () => {
    const stack = testStack();
    new RouterFunction(stack, 'Fn', {
      spec: sweeper,
      refs: { eventsTable: 'events', bus: 'bus' },
      logRetention: RetentionDays.ONE_WEEK,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: sweeper.memoryMb,
      Timeout: sweeper.timeoutSeconds,
      ReservedConcurrentExecutions: 1,
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'sweeper',
          POWERTOOLS_METRICS_NAMESPACE: 'EventRouter',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          EVENT_TABLE_NAME: 'events',
          EVENT_BUS_NAME: 'bus',
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
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
});
