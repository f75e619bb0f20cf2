import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { RouterConfig } from '../core/config';
import { EventRouterStack } from './event-router-stack';
import { acknowledgeNagFindings } from './nag';
import type { StageConfig } from './stages';

/** Adds the router stack of a stage to an app, with cdk-nag AwsSolutions checks on everything. */
export function addRouter(app: App, stage: StageConfig, routerConfig: RouterConfig): EventRouterStack {
  const stack = new EventRouterStack(app, `EventRouter-${stage.name}`, {
    routerConfig,
    stage,
    description: `Event Router (${stage.name}): webhooks in, routed events out`,
  });
  acknowledgeNagFindings(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
