import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../lib/event-bus';
import { testStack } from '../support/cdk';

describe('EventBus', () => {
  it('creates a custom bus with an archive of webhook events', () => {
    const stack = testStack();
    new EventBus(stack, 'Bus', {
      archivePattern: { source: [{ prefix: 'webhook.' }] },
      archiveRetentionDays: 14,
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::Archive', {
      EventPattern: { source: [{ prefix: 'webhook.' }] },
      RetentionDays: 14,
    });
  });

  it('keeps the archive forever with retention 0 (CloudFormation: 0 = indefinitely)', () => {
    const stack = testStack();
    new EventBus(stack, 'Bus', { archivePattern: { source: ['x'] }, archiveRetentionDays: 0 });
    const archive = Object.values(Template.fromStack(stack).findResources('AWS::Events::Archive'))[0];
    expect(archive?.Properties.RetentionDays ?? 0).toBe(0);
  });

  it('rejects a negative retention', () => {
    expect(
      () => new EventBus(testStack(), 'Bus', { archivePattern: { source: ['x'] }, archiveRetentionDays: -1 }),
    ).toThrow(/Test\/Bus: archiveRetentionDays must be a non-negative integer, got -1/);
  });
});
