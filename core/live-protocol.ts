/**
 * The live stream's wire format, shared by the functions that push (broadcast, resume), the client SDK and the CLI.
 * Server → client messages are JSON objects with a `kind`. An event is
 * `{"kind":"event","id":"<event id>","deliveryId":"<provider's id>"|null,"event":<envelope>}` — `id` is the id to
 * resume from and, with the provider's delivery id, the event's correlation (the same ids an HTTP target gets in its
 * delivery headers and every log line about the event carries); the envelope is the stored JSON text spliced in
 * verbatim (the same digits an HTTP target receives; a parse and re-serialisation would round integers beyond 2^53).
 * Events sent by a resume also carry `"replay":true`.
 */

/** The message of one event, its envelope text spliced in as it travelled. */
export function liveEventMessage(
  id: string,
  envelopeJson: string,
  replay = false,
  deliveryId: string | null = null,
): string {
  return `{"kind":"event","id":${JSON.stringify(id)},${replay ? '"replay":true,' : ''}"deliveryId":${JSON.stringify(deliveryId)},"event":${envelopeJson}}`;
}

const EVENT_HEAD =
  /^\{"kind":"event","id":"([0-9A-HJKMNP-TV-Z]{26})",("replay":true,)?(?:"deliveryId":(?:null|"(?:[^"\\]|\\.)*"),)?"event":/;

export type LiveServerMessage =
  | { readonly kind: 'event'; readonly id: string; readonly replay: boolean; readonly eventText: string }
  | { readonly kind: 'resumed'; readonly since: string; readonly through: string; readonly more: boolean }
  | { readonly kind: 'error'; readonly error: string; readonly message: string }
  | { readonly kind: 'subscribed' | 'pong'; readonly [key: string]: unknown }
  | { readonly kind: 'unknown'; readonly text: string };

/** Parses a server message; an event keeps its envelope as text (parse it with a lossless parser if need be). */
export function parseLiveMessage(text: string): LiveServerMessage {
  const head = EVENT_HEAD.exec(text);
  if (head?.[1] && text.endsWith('}'))
    return {
      kind: 'event',
      id: head[1],
      replay: head[2] !== undefined,
      eventText: text.slice(head[0].length, -1),
    };
  try {
    const message = JSON.parse(text) as { kind?: unknown };
    if (
      message !== null &&
      typeof message === 'object' &&
      (message.kind === 'resumed' ||
        message.kind === 'error' ||
        message.kind === 'subscribed' ||
        message.kind === 'pong')
    )
      return message as LiveServerMessage;
  } catch {
    // Not JSON: reported as unknown.
  }
  return { kind: 'unknown', text };
}

/** Events one resume sends at most; `resumed` says `more` when there are others, and the client resumes again. */
export const RESUME_BATCH = 200;
