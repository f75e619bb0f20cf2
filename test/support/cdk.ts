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
export function testApp(options: { bundle?: boolean } = {}): App {
  return new App({
    context: {
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      'aws:cdk:enable-path-metadata': true,
      // Each function's `aws:asset:path`: where its code (bundle, runtime.json) was staged.
      'aws:cdk:enable-asset-metadata': true,
    },
  });
}

export function testStack(): Stack {
  return new Stack(testApp(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
}

export interface SynthesizedRouter {
  readonly stack: EventRouterStack;
  /** The parent stack. */
  readonly template: Template;
  /** Each target's nested stack, by target name. */
  readonly targets: Readonly<Record<string, Template>>;
  /** The cloud assembly directory: asset paths in the templates' metadata are relative to it. */
  readonly assemblyDir: string;
}

export function synthRouter(
  config: RouterConfigInput = exampleConfig,
  stage: StageName = 'dev',
  options: { bundle?: boolean } = {},
): SynthesizedRouter {
  const app = testApp(options);
  const stack = new EventRouterStack(app, 'Router', {
    routerConfig: parseRouterConfig(config),
    stage: STAGES[stage],
    env: { account: '111111111111', region: 'eu-west-1' },
  });
  const targets = Object.fromEntries(
    stack.targets.map((t) => [t.targetName, Template.fromStack(Stack.of(t))] as const),
  );
  return { stack, template: Template.fromStack(stack), targets, assemblyDir: app.outdir };
}
