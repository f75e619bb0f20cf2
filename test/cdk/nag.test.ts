import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { addRouter } from '../../lib/app';
import { EventRouterStack } from '../../lib/event-router-stack';
import { acknowledgeNagFindings } from '../../lib/nag';
import { STAGES } from '../../lib/stages';
import exampleConfig from '../../router.config';
import { testApp } from '../support/cdk';
import { allKindsConfig } from '../support/configs';

describe('cdk-nag AwsSolutions over the whole app', () => {
  it.each(Object.values(STAGES))('synthesizes the $name stage with no unacknowledged finding', (stage) => {
    const app = testApp();
    addRouter(app, stage, parseRouterConfig(exampleConfig));
    expect(() => app.synth()).not.toThrow();
  });

  it('synthesizes one target of every kind with no unacknowledged finding', () => {
    const app = testApp();
    addRouter(app, STAGES.prod, parseRouterConfig(allKindsConfig));
    expect(() => app.synth()).not.toThrow();
  });

  it('fails the synth when the acknowledgments are missing (the check is live)', () => {
    const app = testApp();
    new EventRouterStack(app, 'Unacknowledged', {
      routerConfig: parseRouterConfig(exampleConfig),
      stage: STAGES.dev,
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions/);
  });

  it('acknowledges each finding on the construct that owns it, with a real reason', () => {
    const app = testApp();
    const stack = new EventRouterStack(app, 'Scoped', {
      routerConfig: parseRouterConfig(exampleConfig),
      stage: STAGES.dev,
    });
    const acks = acknowledgeNagFindings(stack);
    expect(acks.length).toBeGreaterThan(10);
    for (const { scope, ack } of acks) {
      expect(scope, ack.id).not.toBe('Scoped'); // never the whole stack
      expect(ack.id).toMatch(/^AwsSolutions-[A-Z]+\d+/);
      expect(ack.id).not.toContain('undefined');
      expect(ack.reason.length, ack.id).toBeGreaterThan(40);
    }
  });
});
