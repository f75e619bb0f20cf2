import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseRouterConfig, type RouterConfigInput } from '../../core/config';
import { EventRouterStack } from '../../lib/event-router-stack';
import { STAGES, type StageName } from '../../lib/stages';
import exampleConfig from '../../router.config';

/**
 * An App that skips esbuild bundling (`aws:cdk:bundling-stacks: []`): construct tests check the template, not
 * the bundles, and stay fast. The real bundling is exercised by `cdk synth` and the bundle-size benchmark.
 */
export function testApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
}

export function testStack(): Stack {
  return new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
}

export function synthRouter(
  config: RouterConfigInput = exampleConfig,
  stage: StageName = 'dev',
): { stack: EventRouterStack; template: Template } {
  const stack = new EventRouterStack(testApp(), 'Router', {
    routerConfig: parseRouterConfig(config),
    stage: STAGES[stage],
    env: { account: '111111111111', region: 'eu-west-1' },
  });
  return { stack, template: Template.fromStack(stack) };
}
