import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { RouterFunction } from '../../lib/router-function';
import { testStack } from '../support/cdk';

describe('RouterFunction', () => {
  it('pins runtime, ARM64, source maps, tracing, an explicit log group and Powertools env', () => {
    const stack = testStack();
    new RouterFunction(stack, 'Fn', {
      entry: 'lambdas/sweeper/handler.ts',
      description: 'test',
      serviceName: 'svc',
      logRetention: RetentionDays.ONE_WEEK,
      environment: { EXTRA: '1' },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'svc',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          EXTRA: '1',
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it('rejects an impossible memory size', () => {
    expect(
      () =>
        new RouterFunction(testStack(), 'Fn', {
          entry: 'lambdas/sweeper/handler.ts',
          description: 'x',
          serviceName: 'x',
          memorySize: 64,
        }),
    ).toThrow(/Test\/Fn: memorySize must be 128-10240 MB, got 64/);
  });
});
