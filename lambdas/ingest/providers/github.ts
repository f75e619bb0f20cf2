/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex>` = HMAC-SHA256(secret, raw body). The legacy SHA-1 `X-Hub-Signature`
 * is not accepted.
 *
 * Replays: GitHub signs neither a timestamp nor the `X-GitHub-Delivery` header, so a captured request stays valid
 * forever, and resending it with a fresh delivery id makes a new event (dedupe only catches the same id within
 * `dedupeDays`). What stands in the way is the URL: it carries the source's secret token, so a replay needs both a
 * captured request and that token (README, "Security").
 *
 * - type: `X-GitHub-Event`, plus `.<action>` when the body has a string `action` (`pull_request.opened`, `push`).
 * - deliveryId: `X-GitHub-Delivery`.
 * - subject: `repository.full_name`, else `organization.login`, else `installation.account.login`.
 * - providerTime: null (GitHub sends no event time in headers and body times differ per event).
 */
import { verifyBodyHmac } from './body-hmac';
import type { ProviderAdapter } from './types';
import {
  deliveryId,
  eventType,
  firstOf,
  guardNormalise,
  guardVerify,
  headerText,
  path,
  prop,
  subject,
  text,
} from './util';

export const GITHUB_SIGNATURE_HEADER = 'x-hub-signature-256';
const PREFIX = 'sha256=';

export const githubAdapter: ProviderAdapter = {
  provider: 'github',
  defaultToleranceSeconds: 300,
  // GitHub webhooks may be configured with `application/x-www-form-urlencoded` (`payload=<json>`).
  bodyFormats: ['json', 'form'],
  keptHeaders: [
    'x-github-event',
    'x-github-delivery',
    'x-github-hook-id',
    'x-github-hook-installation-target-type',
    'x-github-hook-installation-target-id',
    'user-agent',
    'content-type',
  ],

  verify: (request, context) =>
    guardVerify(() => {
      return verifyBodyHmac(request, context?.secrets ?? [], {
        header: GITHUB_SIGNATURE_HEADER,
        prefix: PREFIX,
        encoding: 'hex',
      });
    }),

  normalise: (request, body) =>
    guardNormalise('unknown', () => {
      const event = eventType(headerText(request, 'x-github-event'));
      const action = text(prop(body, 'action'));
      return {
        type: eventType(action ? `${event}.${action}` : event),
        deliveryId: deliveryId(headerText(request, 'x-github-delivery')),
        providerTime: null,
        subject: subject(
          firstOf(
            text(path(body, 'repository', 'full_name')),
            text(path(body, 'organization', 'login')),
            text(path(body, 'installation', 'account', 'login')),
          ),
        ),
      };
    }),
};
