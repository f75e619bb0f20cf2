/**
 * Each kind of target's local equivalent, keyed on TargetKind like every other side of the target seam:
 * - http: a Standard Webhooks signing secret in the local store (the target itself is whatever the URL points at;
 *   outside 127.0.0.1 it starts paused unless `--allow-outbound`);
 * - sqs: a queue of the ARN's name in the local SQS (read it with the AWS CLI at the local endpoint);
 * - lambda: a stand-in the local Lambda API invokes, which records each payload and answers `{"ok":true}`;
 * - eventbridge: the ARN becomes an external bus of the local EventBridge, which keeps what is put there.
 */
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import type { TargetConfigOf, TargetKind } from '../core/config';
import type { ResourceRef } from '../core/plan';
import { busEventJson, type LocalEventBridge } from './services/eventbridge';
import type { LocalLambdaApi } from './services/lambda-api';
import { defaultSigningSecret, defaultSigningSecretName, type LocalSecretStore } from './services/secrets';
import type { LocalSqs } from './services/sqs';

export interface LocalTargetContext {
  readonly store: LocalSecretStore;
  readonly sqs: LocalSqs;
  readonly lambdaApi: LocalLambdaApi;
  readonly eventbridge: LocalEventBridge;
  readonly log: (message: string) => void;
}

/** A target's local equivalent, ready. */
export interface LocalTarget {
  /** Environment values of its delivery function that name its local resources. */
  readonly refs: Partial<Record<ResourceRef, string>>;
  /** One line for the banner: where its events go locally. */
  readonly describe: string;
  /** The secret holding an HTTP target's signing secret. */
  readonly signingSecretId?: string;
  /** What the local equivalent received so far (a Lambda stand-in's payloads, an external bus's events). */
  received(): readonly string[];
}

export interface LocalTargetKind<K extends TargetKind> {
  /** Buses the local EventBridge must accept events for (it starts before the targets). */
  externalBuses(target: TargetConfigOf<K>): string[];
  setup(target: TargetConfigOf<K>, context: LocalTargetContext): Promise<LocalTarget>;
}

/** The name at the end of an ARN (`…:queue-name`, `…:function:name[:alias]`). */
const arnName = (arn: string, index: number) => arn.split(':')[index] ?? arn;

export const LOCAL_TARGET_KINDS: { readonly [K in TargetKind]: LocalTargetKind<K> } = {
  http: {
    externalBuses: () => [],
    async setup(target, { store }) {
      const secretId = target.signingSecret?.secretName ?? defaultSigningSecretName(target.name);
      store.define(secretId, defaultSigningSecret(target.name));
      return {
        refs: { signingSecret: secretId },
        describe: target.url,
        signingSecretId: secretId,
        received: () => [],
      };
    },
  },
  sqs: {
    externalBuses: () => [],
    async setup(target, { sqs }) {
      const name = arnName(target.queueArn, 5);
      const out = await sqs.client.send(
        new CreateQueueCommand({
          QueueName: name,
          ...(name.endsWith('.fifo') ? { Attributes: { FifoQueue: 'true' } } : {}),
        }),
      );
      const url = out.QueueUrl ?? '';
      return {
        refs: { targetQueueUrl: url },
        describe: `SQS queue ${target.queueArn} → local queue ${url}`,
        received: () => [],
      };
    },
  },
  lambda: {
    externalBuses: () => [],
    async setup(target, { lambdaApi, log }) {
      const payloads: string[] = [];
      lambdaApi.registerFunction(target.functionArn, async (payload) => {
        payloads.push(payload.toString('utf8'));
        if (payloads.length > 1_000) payloads.shift();
        log(`Lambda target ${target.name}: invoked ${arnName(target.functionArn, 6)} (local stand-in)`);
        return { payload: '{"ok":true}' };
      });
      return {
        refs: {},
        describe: `Lambda function ${target.functionArn} → a local stand-in that records each payload`,
        received: () => [...payloads],
      };
    },
  },
  eventbridge: {
    externalBuses: (target) => [target.eventBusArn],
    async setup(target, { eventbridge }) {
      return {
        refs: {},
        describe: `EventBridge bus ${target.eventBusArn} → kept by the local EventBridge`,
        // As a rule target on that bus would receive them: the Detail text as it was put.
        received: () => eventbridge.externalEvents(target.eventBusArn).map(busEventJson),
      };
    },
  },
};

/** The local kind of a target, typed for it. */
export function localKindOf<K extends TargetKind>(target: TargetConfigOf<K>): LocalTargetKind<K> {
  return LOCAL_TARGET_KINDS[target.kind as K];
}
