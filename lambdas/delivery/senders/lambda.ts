/**
 * Lambda target: one Invoke per event, with the event's JSON text as the payload, of a function possibly in another
 * account (its resource policy must let the delivery function's role invoke it).
 * - `RequestResponse` (default): the function's answer decides the attempt. A function error (`FunctionError`) or
 *   throttling is retried by the target's policy; the start of the answer goes in the delivery log.
 * - `Event`: delivered once Lambda has queued the invoke (202); Lambda retries failures by the function's own
 *   asynchronous settings, outside this router's log.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { timeouts } from '../../shared/clients';
import { awsErrorText, regionOf, retryableAwsError } from './aws-errors';
import { excerpt, type SenderFactory } from './types';

/** Lambda's payload limits: 6 MB for a synchronous invoke, 1 MB for an asynchronous one (since 2025; was 256 KB). */
export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
export const MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024;

const clients = new Map<string, LambdaClient>();
const clientFor = (region: string) => {
  let client = clients.get(region);
  if (!client) {
    client = new LambdaClient({ ...timeouts.background, region });
    clients.set(region, client);
  }
  return client;
};

export const lambdaSender: SenderFactory<'lambda'> = (target) => {
  const client = clientFor(regionOf(target.functionArn));
  const limit = target.invocationType === 'Event' ? MAX_ASYNC_PAYLOAD_BYTES : MAX_SYNC_PAYLOAD_BYTES;
  return {
    async send({ body, timeoutMs }) {
      const payload = Buffer.from(body, 'utf8');
      if (payload.length > limit) {
        return {
          ok: false,
          retryable: false,
          error: `payload of ${payload.length} bytes; an ${target.invocationType} invoke takes at most ${limit}`,
        };
      }
      try {
        const out = await client.send(
          new InvokeCommand({
            FunctionName: target.functionArn,
            InvocationType: target.invocationType,
            Payload: payload,
          }),
          { abortSignal: AbortSignal.timeout(Math.max(1, timeoutMs)) },
        );
        const answer = out.Payload ? Buffer.from(out.Payload).toString('utf8') : undefined;
        if (out.FunctionError) {
          return {
            ok: false,
            status: out.StatusCode,
            retryable: true,
            error: `the function failed (${out.FunctionError})`,
            ...(answer ? { response: excerpt(answer) } : {}),
          };
        }
        return {
          ok: true,
          status: out.StatusCode,
          retryable: true,
          ...(answer ? { response: excerpt(answer) } : {}),
        };
      } catch (error) {
        return { ok: false, retryable: retryableAwsError(error), error: awsErrorText(error) };
      }
    },
  };
};
