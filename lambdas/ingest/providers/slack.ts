/**
 * Slack: `X-Slack-Signature: v0=<hex>` = HMAC-SHA256(signing secret, `v0:<X-Slack-Request-Timestamp>:<raw body>`),
 * within a symmetric 5 minute window. Bodies are JSON (Events API) or form-encoded (slash commands; interactivity
 * posts `payload=<json>`, which the body parser unwraps).
 *
 * - `url_verification` (Events API URL check): a handshake answering 200 `text/plain` with the challenge;
 *   nothing is stored.
 * - type: Events API `event_callback` → `event.type` (`message`, `app_mention`); slash command → `command.<name>`
 *   without the leading slash (`/deploy` → `command.deploy`); otherwise `body.type` (`block_actions`,
 *   `view_submission`, `shortcut`, `app_rate_limited`…).
 * - deliveryId: `event_id` (unchanged on retries, which add `X-Slack-Retry-Num`), else `trigger_id` (slash commands and
 *   interactivity), else null.
 * - providerTime: `event_time` (unix s), else the signed `X-Slack-Request-Timestamp`.
 * - subject: the channel (`event.channel`, `event.item.channel`, `channel_id`, `channel.id`, `container.channel_id`),
 *   else the team (`team_id`, `team.id`).
 */
import { anyKeyMatches, DIGEST_BYTES, decodeHex, hmac, usableSecrets } from './hmac';
import { checkWindow, isoFromEpoch, parseIntegerTimestamp } from './timestamp';
import type { ProviderAdapter } from './types';
import {
  bodyBytes,
  deliveryId,
  eventType,
  fail,
  firstOf,
  guardNormalise,
  guardVerify,
  header,
  idText,
  OK,
  path,
  prop,
  subject,
  text,
} from './util';

export const SLACK_SIGNATURE_HEADER = 'x-slack-signature';
export const SLACK_TIMESTAMP_HEADER = 'x-slack-request-timestamp';
const PREFIX = 'v0=';

/** A channel reference: a channel id string or an object with an `id` (e.g. `channel_created`). */
function channelOf(value: unknown): string | undefined {
  return firstOf(text(value), text(prop(value, 'id')));
}

export const slackAdapter: ProviderAdapter = {
  provider: 'slack',
  defaultToleranceSeconds: 300,
  bodyFormats: ['json', 'form'],
  keptHeaders: ['x-slack-retry-num', 'x-slack-retry-reason', 'user-agent', 'content-type'],

  verify: (request, context) =>
    guardVerify(() => {
      const value = header(request, SLACK_SIGNATURE_HEADER);
      if (value === undefined || value === '') return fail(`missing ${SLACK_SIGNATURE_HEADER} header`);
      const timestampText = header(request, SLACK_TIMESTAMP_HEADER);
      if (timestampText === undefined || timestampText === '')
        return fail(`missing ${SLACK_TIMESTAMP_HEADER} header`);
      if (value.includes(',')) return fail(`several values in ${SLACK_SIGNATURE_HEADER}`);
      if (!value.startsWith(PREFIX)) return fail(`${SLACK_SIGNATURE_HEADER} must start with "${PREFIX}"`);
      const signature = decodeHex(value.slice(PREFIX.length), DIGEST_BYTES.sha256);
      if (!signature) return fail(`${SLACK_SIGNATURE_HEADER} is not 64 hex characters`);
      const timestamp = parseIntegerTimestamp(timestampText);
      if (timestamp === null) return fail(`${SLACK_TIMESTAMP_HEADER} is not an integer unix time`);
      const window = checkWindow(timestamp * 1000, context.now, context.toleranceSeconds);
      if (!window.ok) return fail(window.reason);
      const secrets = usableSecrets(context.secrets ?? []);
      if (secrets.length === 0) return fail('no signing secret configured');
      const body = bodyBytes(request);
      const prefix = `v0:${timestampText}:`;
      return anyKeyMatches(secrets, (key) => hmac('sha256', key, [prefix, body]), [signature])
        ? OK
        : fail('signature does not match');
    }),

  normalise: (request, body) =>
    guardNormalise('unknown', () => {
      const bodyType = text(prop(body, 'type'));
      const challenge = prop(body, 'challenge');
      if (bodyType === 'url_verification' && typeof challenge === 'string') {
        return {
          type: 'url_verification',
          deliveryId: null,
          providerTime: null,
          subject: null,
          handshake: { statusCode: 200, contentType: 'text/plain; charset=utf-8', body: challenge },
        };
      }
      const event = prop(body, 'event');
      const command = text(prop(body, 'command'));
      let type: string;
      if (bodyType === 'event_callback') type = eventType(text(prop(event, 'type')), 'event_callback');
      else if (command !== undefined && bodyType === undefined) {
        type = eventType(`command.${command.startsWith('/') ? command.slice(1) : command}`);
      } else type = eventType(bodyType);

      const eventTime = prop(body, 'event_time');
      const requestTime = parseIntegerTimestamp(header(request, SLACK_TIMESTAMP_HEADER));
      const providerTime =
        (typeof eventTime === 'number' ? isoFromEpoch(eventTime, 's') : null) ??
        (requestTime !== null ? isoFromEpoch(requestTime, 's') : null);

      return {
        type,
        deliveryId: deliveryId(firstOf(idText(prop(body, 'event_id')), idText(prop(body, 'trigger_id')))),
        providerTime,
        subject: subject(
          firstOf(
            channelOf(prop(event, 'channel')),
            text(path(event, 'item', 'channel')),
            text(prop(body, 'channel_id')),
            channelOf(prop(body, 'channel')),
            text(path(body, 'container', 'channel_id')),
            text(prop(body, 'team_id')),
            text(path(body, 'team', 'id')),
          ),
        ),
      };
    }),
};
