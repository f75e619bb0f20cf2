#!/usr/bin/env node
/**
 * CDK app. Stage from context: `cdk synth -c stage=prod` (default dev); `-c tracing=…` overrides which functions
 * trace (lib/stages.ts). Router config: router.config.ts.
 * cdk-nag AwsSolutions checks run on every synth; an unacknowledged finding fails it.
 */
import { App } from 'aws-cdk-lib';
import { parseRouterConfig } from '../core/config';
import { addRouter } from '../lib/app';
import { stageConfig } from '../lib/stages';
import routerConfig from '../router.config';

const app = new App();
addRouter(
  app,
  stageConfig(
    String(app.node.tryGetContext('stage') ?? 'dev'),
    app.node.tryGetContext('websocketAccessLogs'),
    app.node.tryGetContext('tracing'),
  ),
  parseRouterConfig(routerConfig),
);
app.synth();
