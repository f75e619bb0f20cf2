/**
 * A large router: 50 sources (a third of them `generic` with every field set) and 50 targets (every field set).
 * The synth must pass, every function's environment must stay far under Lambda's 4 KB, and every stack under
 * CloudFormation's 500 resources. Config that grows with sources and targets travels in each function's runtime.json.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Token } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../core/config';
import { MAX_ENVIRONMENT_BYTES, type RouterFunction } from '../../lib/router-function';
import { synthRouter } from '../support/cdk';

const genericSource = (i: number) => ({
  name: `generic-${i}`,
  provider: 'generic' as const,
  secret: { secretName: `event-router/sources/generic-${i}-webhook-secret` },
  maxBodyBytes: 2_000_000,
  toleranceSeconds: 600,
  rateLimitPerSecond: 200,
  burstLimit: 400,
  bodyHashDedupeSeconds: 600,
  publicUrl: 'https://hooks.example.com/router',
  generic: {
    signatureHeader: 'x-acme-signature-header',
    signatureFormat: 't=${timestamp},v1=${signature}',
    algorithm: 'sha512' as const,
    encoding: 'base64' as const,
    signedContent: '${timestamp}.${body}',
    timestampHeader: 'x-acme-request-timestamp',
    timestampUnit: 'ms' as const,
    deliveryIdHeader: 'x-acme-delivery-identifier',
    eventTypeHeader: 'x-acme-event-type-header',
  },
});

const largeConfig = (): RouterConfigInput => ({
  sources: Array.from({ length: 50 }, (_, i) =>
    i % 3 === 0
      ? genericSource(i)
      : { name: `source-${i}`, provider: 'github' as const, secret: { secretName: `event-router/src-${i}` } },
  ),
  targets: Array.from({ length: 50 }, (_, i) => ({
    name: `target-${i}`,
    kind: 'http' as const,
    url: `https://agent-${i}.example.com/webhooks/incoming`,
    filter: { source: [`webhook.source-${i}`], 'detail-type': [{ prefix: 'pull_request.' }] },
    retry: { maxAttempts: 8, policy: 'linear' as const, initialDelaySeconds: 10, maxDelaySeconds: 600 },
    batchSize: 20,
    concurrency: 10,
    timeoutSeconds: 15,
    signingSecret: { secretName: `event-router/targets/target-${i}-signing` },
  })),
  ingestReservedConcurrency: 100,
});

describe('a router of 50 sources (17 generic, every field) and 50 targets', () => {
  const { stack, template, targets } = synthRouter(largeConfig());
  const functions: RouterFunction[] = [
    stack.ingest.ingestFunction,
    stack.ingest.sweeperFunction,
    stack.ingest.routesFunction,
    stack.liveStream!.connectionsFunction,
    stack.liveStream!.broadcastFunction,
    ...stack.targets.map((t) => t.deliveryFunction),
  ];

  it('synthesizes: one parent stack and one nested stack per target, each under 500 resources', () => {
    expect(Object.keys(targets)).toHaveLength(50);
    const count = (t: typeof template) => Object.keys(t.toJSON().Resources).length;
    expect(count(template)).toBeLessThan(500);
    for (const [name, t] of Object.entries(targets)) expect(count(t), name).toBeLessThan(500);
  });

  it("keeps every function's environment under 4 KB, whatever the number of sources and targets", () => {
    expect(functions).toHaveLength(55);
    for (const fn of functions) {
      const variables = fn.function.node.defaultChild as {
        environment?: { variables?: Record<string, string> };
      };
      const env = variables.environment?.variables ?? {};
      let bytes = 0;
      for (const [name, value] of Object.entries(env)) {
        // Resolved names and ARNs of this stack are well under 256 characters.
        bytes += name.length + (Token.isUnresolved(value) ? 256 : Buffer.byteLength(value));
      }
      expect(bytes, fn.node.path).toBeLessThan(MAX_ENVIRONMENT_BYTES / 2);
    }
  });

  it('carries all 50 sources in the ingest and routes runtime.json, and each target in its delivery function', () => {
    const runtime = (fn: RouterFunction) =>
      JSON.parse(readFileSync(path.join(fn.codeDirectory, 'runtime.json'), 'utf8'));
    expect(runtime(stack.ingest.ingestFunction).sources).toHaveLength(50);
    expect(runtime(stack.ingest.routesFunction).sources).toHaveLength(50);
    expect(runtime(stack.ingest.ingestFunction).sources[0].config.generic).toMatchObject({
      signatureFormat: 't=${timestamp},v1=${signature}',
    });
    stack.targets.forEach((t, i) => {
      expect(runtime(t.deliveryFunction).target).toMatchObject({ name: `target-${i}` });
    });
  });

  it('keeps every composite alarm within the limits of CloudWatch: 100 alarms and 10,240 characters of rule', () => {
    // Each ARN at its longest (the partition and region are only known at deploy), with the alarm's own name.
    const arn = (name: string) => `arn:aws-us-gov:cloudwatch:ap-southeast-7:123456789012:alarm:${name}`;
    const all = [template, ...Object.values(targets)];
    const nameOf = (t: typeof template, id: string) => String(t.toJSON().Resources[id].Properties.AlarmName);
    /** The alarm an ARN in a rule names: a resource of the same template, or a nested stack's output. */
    const resolve = (t: typeof template, part: unknown): string => {
      if (typeof part === 'string') return part;
      const [id, attribute] = (part as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
      if (attribute === 'Arn') return arn(nameOf(t, id));
      const output = attribute.replace(/^Outputs\./, '');
      const nested = all.find((n) => n.toJSON().Outputs?.[output]);
      const [childId] = nested!.toJSON().Outputs[output].Value['Fn::GetAtt'];
      return arn(nameOf(nested!, childId));
    };
    const rules = all.flatMap((t) =>
      Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm')).map((c) => {
        const rule = c.Properties.AlarmRule as string | { 'Fn::Join': [string, unknown[]] };
        const text = typeof rule === 'string' ? rule : rule['Fn::Join'][1].map((p) => resolve(t, p)).join('');
        return { name: String(c.Properties.AlarmName), text };
      }),
    );
    // 50 target composites, the router's, and its parts: 100 sources, 50 targets and 5 functions do not fit one.
    expect(rules.filter((r) => r.name.startsWith('Router/router-unhealthy/part-')).length).toBeGreaterThan(1);
    for (const { name, text } of rules) {
      expect(text.length, name).toBeLessThanOrEqual(10_240);
      expect(text.match(/ALARM\("/g)!.length, name).toBeLessThanOrEqual(100);
    }
    // Every alarm of the parent stack is in exactly one rule of the router's tree.
    const inRules = rules
      .filter((r) => r.name.startsWith('Router/router-unhealthy'))
      .map((r) => r.text)
      .join(' ');
    const parentAlarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) =>
      String(a.Properties.AlarmName),
    );
    // Per source 2, per function of the parent stack 3 (ingest, sweeper, routes, management, connections, broadcast), 7 router-wide.
    expect(parentAlarms.length).toBe(2 * 50 + 3 * 6 + 7);
    for (const name of parentAlarms) expect(inRules.split(`${arn(name)}"`).length - 1, name).toBe(1);
  });

  it('reserves the configured concurrency for ingest', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Verifies, deduplicates, stores and publishes webhooks',
      ReservedConcurrentExecutions: 100,
    });
  });
});
