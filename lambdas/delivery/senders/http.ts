/**
 * HTTP target: one POST per event, signed per Standard Webhooks (`webhook-id` = event id, `webhook-timestamp`,
 * `webhook-signature` over the exact body), with the correlation headers (`x-event-router-id`, and
 * `x-event-router-delivery-id` when the provider sent a delivery id) and the target's extra headers. Redirects are never followed. The answer
 * decides: 2xx delivered; 410 Gone pauses the target; statuses in `retry.retryOn` (default 408, 409, 425, 429, 5xx),
 * timeouts and network errors are retried; any other answer fails at once.
 */
import { DELIVERY_ID_HEADER, ENV, EVENT_ID_HEADER } from '../../../core/contracts';
import { isRetryableStatus } from '../../../core/retry';
import { cachedMiddleware, lazyClient, timeouts } from '../../shared/clients';
import { BlockedAddressError, postGuarded } from '../../shared/http-client';
import { createSecretReader } from '../../shared/secrets';
import { signingKey, standardWebhookHeaders } from '../../shared/standard-webhooks';
import { excerpt, type SenderFactory } from './types';

/** One POST: the status, the `Retry-After` header and the start of the answer. */
export interface HttpAnswer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly excerpt: string | undefined;
}

export type HttpPost = (
  url: string,
  request: { headers: Record<string, string>; body: string; timeoutMs: number },
) => Promise<HttpAnswer>;

/** Seconds from a `Retry-After` header (delta-seconds or HTTP date), if valid. */
export function parseRetryAfter(value: string | undefined | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/**
 * POST through the SSRF guard (lambdas/shared/http-client.ts): every resolved address is checked and the socket
 * connects to the address that was checked; redirects are never followed.
 */
export const guardedPost =
  (allowPrivateNetwork: boolean): HttpPost =>
  async (url, { headers, body, timeoutMs }) => {
    const answer = await postGuarded(url, { headers, body, timeoutMs, allowPrivateNetwork });
    return {
      status: answer.status,
      retryAfter: answer.headers['retry-after'],
      excerpt: answer.excerpt || undefined,
    };
  };

/** The HTTP sender; `post` is injectable for tests (default: the guarded POST). */
export const httpSenderWith =
  (post?: HttpPost): SenderFactory<'http'> =>
  (target, context) => {
    const send = post ?? guardedPost(target.allowPrivateNetwork);
    const secretId = context.env[ENV.signingSecret];
    if (!secretId) throw new Error(`Missing required environment variable ${ENV.signingSecret}`);
    const readSecrets =
      context.readSecrets ??
      createSecretReader(
        lazyClient(
          async () =>
            new (await import('../../shared/aws/secrets-manager')).SecretsManagerClient(
              cachedMiddleware(timeouts.background),
            ),
        ),
      );
    return {
      async send({ envelope, body, timeoutMs, now }) {
        let keys: Buffer[];
        try {
          keys = (await readSecrets(secretId)).map(signingKey);
        } catch (error) {
          return { ok: false, retryable: true, error: `before sending: ${(error as Error).message}` };
        }
        try {
          const answer = await send(target.url, {
            headers: {
              ...target.headers,
              'content-type': 'application/json',
              'user-agent': 'EventRouter/1.0',
              [EVENT_ID_HEADER]: envelope.id,
              ...(envelope.deliveryId ? { [DELIVERY_ID_HEADER]: envelope.deliveryId } : {}),
              ...standardWebhookHeaders(keys, envelope.id, Math.floor(now() / 1000), body),
            },
            body,
            timeoutMs,
          });
          const { status } = answer;
          const ok = status >= 200 && status <= 299;
          return {
            ok,
            status,
            ...(answer.excerpt ? { response: excerpt(answer.excerpt) } : {}),
            ...(ok ? {} : { error: `target answered ${status}` }),
            ...(ok ? {} : { retryAfterSeconds: parseRetryAfter(answer.retryAfter, now()) }),
            gone: status === 410,
            retryable: ok || isRetryableStatus(status, target.retry.retryOn),
          };
        } catch (error) {
          // Refused before sending (an address that is not public, a scheme): no retry can change that.
          if (error instanceof BlockedAddressError) {
            return { ok: false, retryable: false, error: `refused: ${error.reason}` };
          }
          const timedOut =
            error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
          return {
            ok: false,
            retryable: true,
            error: timedOut
              ? `no answer within ${Math.round(timeoutMs / 100) / 10} s`
              : `request failed: ${(error as Error).message}`,
          };
        }
      },
    };
  };

export const httpSender = httpSenderWith();
