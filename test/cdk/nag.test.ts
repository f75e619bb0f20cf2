import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { addRouter } from '../../lib/app';
import { EventRouterStack } from '../../lib/event-router-stack';
import { NAG_ACKNOWLEDGMENTS } from '../../lib/nag';
import { STAGES } from '../../lib/stages';
import exampleConfig from '../../router.config';
import { testApp } from '../support/cdk';

describe('cdk-nag AwsSolutions over the whole app', () => {
  it.each(Object.values(STAGES))('synthesizes the $name stage with no unacknowledged finding', (stage) => {
    const app = testApp();
    addRouter(app, stage, parseRouterConfig(exampleConfig));
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

  it('gives every acknowledgment a specific id and a real reason', () => {
    for (const ack of NAG_ACKNOWLEDGMENTS) {
      expect(ack.id).toMatch(/^AwsSolutions-[A-Z]+\d+/);
      expect(ack.reason.length, ack.id).toBeGreaterThan(40);
    }
  });
});
