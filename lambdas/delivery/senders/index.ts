/**
 * The senders, one per kind of target. Each loads on demand: a delivery function serves one target, so its cold
 * start pays only for its own kind's SDK client (esbuild splits each into a chunk).
 */
import type { TargetConfigOf, TargetKind } from '../../../core/config';
import type { Sender, SenderContext, SenderFactory } from './types';

export const SENDERS: { readonly [K in TargetKind]: () => Promise<SenderFactory<K>> } = {
  http: async () => (await import('./http')).httpSender,
  sqs: async () => (await import('./sqs')).sqsSender,
  lambda: async () => (await import('./lambda')).lambdaSender,
  eventbridge: async () => (await import('./eventbridge')).eventBridgeSender,
};

/** The sender of a target. */
export async function senderFor<K extends TargetKind>(
  target: TargetConfigOf<K>,
  context: SenderContext,
): Promise<Sender> {
  const factory = (await SENDERS[target.kind as K]()) as SenderFactory<K>;
  return factory(target, context);
}
