/**
 * Correctly signed sample webhooks for `event-router send <provider>`: the headers and body a provider would send,
 * signed the way the ingest verifiers (lambdas/ingest/providers/*.ts) check them, and the type and delivery id the
 * router will derive from them.
 *
 * Signing and type derivation are written here again rather than imported from the verifiers: the unit test then
 * checks one against the other (and against the providers' own libraries), so a drift in either shows up.
 * node:crypto only; @octokit/webhooks-examples (a dev dependency) is loaded only when a GitHub sample is built.
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { GenericHmacConfig } from '../core/config';
import type { ProviderName } from '../core/contracts';

export type SendProvider = ProviderName;

export interface SampleOptions {
  /** The source's signing secret exactly as the source verifies it (Standard Webhooks: `whsec_<base64>`). */
  readonly secret: string;
  /** The full URL the request will be POSTed to, query included (Twilio signs it). */
  readonly url: string;
  /** Event type in the router's dotted form (`pull_request.opened`, `invoice.paid`, `orders.create`…). */
  readonly type?: string;
  /** A payload given by the user (`--file`), sent instead of the sample payload, byte for byte where possible. */
  readonly body?: string;
  /** The source's `generic` block; required for provider `generic`. */
  readonly generic?: GenericHmacConfig;
  /** Current time in ms (for tests); default `Date.now()`. */
  readonly now?: number;
}

export interface SignedSample {
  /** Lower-case header names. */
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The type the router will assign (its normalised form, e.g. Shopify `orders/create` → `orders.create`). */
  readonly type: string;
  /** The delivery id the router will dedupe on; null when it dedupes on the body hash or stores nothing. */
  readonly deliveryId: string | null;
  /**
   * Where to POST: `options.url`, except for a Twilio JSON body, whose SHA-256 travels in the signed URL as
   * `bodySHA256` (Twilio's scheme for non-form bodies).
   */
  readonly url: string;
}

/** The default and known example types per provider, for `--help` and error messages. */
export const SAMPLE_TYPES: Readonly<
  Record<SendProvider, { readonly default: string; readonly examples: readonly string[] }>
> = Object.freeze({
  github: {
    default: 'pull_request.opened',
    examples: [
      'pull_request.opened',
      'push',
      'issues.opened',
      'issue_comment.created',
      'release.published',
      'workflow_run.completed',
      'ping',
    ],
  },
  stripe: {
    default: 'invoice.paid',
    examples: [
      'invoice.paid',
      'customer.created',
      'payment_intent.succeeded',
      'checkout.session.completed',
      'customer.subscription.updated',
      'charge.refunded',
    ],
  },
  slack: {
    default: 'app_mention',
    examples: [
      'app_mention',
      'message',
      'reaction_added',
      'command.deploy',
      'block_actions',
      'view_submission',
    ],
  },
  linear: {
    default: 'issue.create',
    examples: ['issue.create', 'issue.update', 'issue.remove', 'comment.create', 'project.update'],
  },
  'standard-webhooks': {
    default: 'user.created',
    examples: ['user.created', 'invoice.paid', 'message.attempt.exhausted'],
  },
  shopify: {
    default: 'orders.create',
    examples: ['orders.create', 'orders.paid', 'products.update', 'customers.create', 'app.uninstalled'],
  },
  twilio: {
    default: 'message.delivered',
    examples: [
      'message.delivered',
      'message.received',
      'message.failed',
      'call.completed',
      'recording.completed',
      'transcription.completed',
    ],
  },
  generic: {
    default: 'webhook.test',
    examples: ['webhook.test', 'order.created', 'user.updated'],
  },
});

/** Builds a signed sample request. Throws an Error with a message fit for the CLI user on any bad input. */
export function signedSample(provider: SendProvider, options: SampleOptions): SignedSample {
  const builder = Object.hasOwn(BUILDERS, provider) ? BUILDERS[provider] : undefined;
  if (!builder) {
    throw new Error(
      `unknown provider "${String(provider)}"; expected one of ${Object.keys(BUILDERS).join(', ')}`,
    );
  }
  if (typeof options.secret !== 'string' || options.secret === '') {
    // The verifiers never accept an empty secret (it would let anyone sign).
    throw new Error('a signing secret is required');
  }
  const now = options.now ?? Date.now();
  if (!Number.isSafeInteger(now) || now < 0) throw new Error('now must be a non-negative integer (ms)');
  if (options.type !== undefined) checkTypeText(options.type);
  return builder({ ...options, now });
}

// ---------------------------------------------------------------------------------------------------------------
// What the router derives (mirrors lambdas/ingest/providers/util.ts and body.ts)

type Input = SampleOptions & { readonly now: number };
type Builder = (options: Input) => SignedSample;

/** EventBridge's DetailType limit, which the router applies to every type. */
const MAX_TYPE_LENGTH = 128;
const MAX_DELIVERY_ID_LENGTH = 256;

/**
 * Types go into headers (`X-GitHub-Event`, `X-Shopify-Topic`, a generic type header) and become an EventBridge
 * DetailType: visible ASCII only (fetch refuses control characters in headers) and no longer than the router keeps.
 */
function checkTypeText(type: string): void {
  if (!/^[\x21-\x7e]{1,128}$/.test(type)) {
    throw new Error(`type ${JSON.stringify(type)} must be 1-${MAX_TYPE_LENGTH} visible ASCII characters`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own property of a plain object (the router never reads inherited names). */
function prop(value: unknown, key: string): unknown {
  return isRecord(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

/** Non-blank string, trimmed. */
function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed ? trimmed : undefined;
}

/** Ids as the router reads them: non-blank strings, or safe integers in decimal. */
function idText(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return text(value);
}

function routerType(value: string | undefined, fallback = 'unknown'): string {
  const trimmed = value?.trim();
  if (!trimmed) return fallback;
  return trimmed.slice(0, MAX_TYPE_LENGTH);
}

function routerDeliveryId(value: string | undefined): string | null {
  const trimmed = value?.trim();
  if (!trimmed) return null;
  if (trimmed.length <= MAX_DELIVERY_ID_LENGTH) return trimmed;
  return `id-sha256:${createHash('sha256').update(trimmed).digest('hex')}`;
}

type Format = 'json' | 'form';
const CONTENT_TYPE: Readonly<Record<Format, string>> = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
};

interface UserBody {
  readonly format: Format;
  /** The value the router's body parser yields (form fields; a lone `payload=<json>` field unwrapped). */
  readonly value: unknown;
}

/** Reads a user body the way ingest will: JSON when it parses as JSON, else form fields when the provider takes them. */
function parseUserBody(provider: SendProvider, body: string, formats: readonly Format[]): UserBody {
  try {
    return { format: 'json', value: JSON.parse(body) };
  } catch {
    if (!formats.includes('form')) throw new Error(`the ${provider} body must be JSON and is not valid JSON`);
  }
  const fields: Record<string, string> = Object.create(null);
  for (const [key, value] of new URLSearchParams(body)) fields[key] = value;
  const keys = Object.keys(fields);
  const payload = fields.payload ?? '';
  if (keys.length === 1 && keys[0] === 'payload' && /^\s*[[{]/.test(payload)) {
    try {
      return { format: 'form', value: JSON.parse(payload) };
    } catch {
      throw new Error(`the ${provider} body's payload field is not valid JSON`);
    }
  }
  return { format: 'form', value: { ...fields } };
}

/** A user body decides the type: a `--type` that says otherwise is a mistake worth stopping for. */
function checkRequested(provider: SendProvider, requested: string | undefined, assigned: string): void {
  if (requested !== undefined && requested !== assigned) {
    throw new Error(
      `the ${provider} body makes the router store type "${assigned}", not "${requested}"; ` +
        'change the body or leave out the type',
    );
  }
}

const hmacOf = (algorithm: string, key: string | Buffer, parts: readonly (string | Buffer)[]) => {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
};

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');
const USER_AGENT = 'event-router-send/1';

// ---------------------------------------------------------------------------------------------------------------
// GitHub: X-Hub-Signature-256 = sha256=<hex HMAC of the body>; type = X-GitHub-Event + `.` + body.action.

interface ExampleGroup {
  readonly name: string;
  readonly examples: readonly Record<string, unknown>[];
}

let githubGroups: readonly ExampleGroup[] | undefined;

function githubExampleGroups(): readonly ExampleGroup[] {
  if (githubGroups) return githubGroups;
  try {
    githubGroups = createRequire(import.meta.url)('@octokit/webhooks-examples') as readonly ExampleGroup[];
  } catch {
    throw new Error(
      'GitHub sample payloads come from @octokit/webhooks-examples (a dev dependency), which is not installed; ' +
        'run npm install or give your own payload with --file',
    );
  }
  return githubGroups;
}

/** The type the router gives a GitHub event: `<X-GitHub-Event>[.<action>]`. */
function githubType(event: string, body: unknown): string {
  const action = text(prop(body, 'action'));
  return routerType(action ? `${event}.${action}` : event);
}

/** Every type @octokit/webhooks-examples has a payload for, in its order. */
export function githubSampleTypes(): string[] {
  const types = new Set<string>();
  for (const group of githubExampleGroups()) {
    for (const example of group.examples) types.add(githubType(group.name, example));
  }
  return [...types];
}

function githubExampleFor(type: string): { event: string; payload: Record<string, unknown> } {
  for (const group of githubExampleGroups()) {
    const payload = group.examples.find((example) => githubType(group.name, example) === type);
    if (payload) return { event: group.name, payload };
  }
  const all = githubSampleTypes();
  // The same event's actions are the likeliest fix (`issues` → `issues.opened`); else the well-known ones.
  const event = type.split('.')[0] ?? type;
  const related = all.filter((t) => t.split('.')[0] === event);
  const listed = (related.length > 0 ? related : SAMPLE_TYPES.github.examples).slice(0, 8);
  throw new Error(
    `no GitHub sample payload for type "${type}"; valid types include ${listed.join(', ')} ` +
      `(${all.length} in @octokit/webhooks-examples), or give your own payload with --file`,
  );
}

const github: Builder = (o) => {
  let event: string;
  let body: string;
  let type: string;
  if (o.body !== undefined) {
    // The event name is a header, not in the body: it comes from the type (only its part before the first dot).
    const requested = o.type ?? SAMPLE_TYPES.github.default;
    event = requested.split('.')[0] ?? requested;
    body = o.body;
    type = githubType(event, parseUserBody('github', body, ['json']).value);
    // `--type pull_request` with a body naming the action is fine; a different action is not.
    if (o.type?.includes('.')) checkRequested('github', o.type, type);
  } else {
    const example = githubExampleFor(o.type ?? SAMPLE_TYPES.github.default);
    event = example.event;
    body = JSON.stringify(example.payload);
    type = githubType(event, example.payload);
  }
  const deliveryId = randomUUID();
  return {
    headers: {
      'content-type': CONTENT_TYPE.json,
      'user-agent': USER_AGENT,
      'x-github-event': event,
      'x-github-delivery': deliveryId,
      'x-github-hook-id': '1',
      'x-hub-signature-256': `sha256=${hmacOf('sha256', o.secret, [body]).toString('hex')}`,
    },
    body,
    type,
    deliveryId,
    url: o.url,
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Stripe: Stripe-Signature = t=<unix s>,v1=<hex HMAC of `<t>.<body>`> keyed with the whole `whsec_…` text;
// type = body.type, delivery id = body.id.

/** `data.object` of the common event families: the object name and its id prefix. */
const STRIPE_OBJECTS: Readonly<Record<string, { readonly object: string; readonly prefix: string }>> = {
  invoice: { object: 'invoice', prefix: 'in_' },
  invoiceitem: { object: 'invoiceitem', prefix: 'ii_' },
  customer: { object: 'customer', prefix: 'cus_' },
  'customer.subscription': { object: 'subscription', prefix: 'sub_' },
  'checkout.session': { object: 'checkout.session', prefix: 'cs_test_' },
  payment_intent: { object: 'payment_intent', prefix: 'pi_' },
  setup_intent: { object: 'setup_intent', prefix: 'seti_' },
  payment_method: { object: 'payment_method', prefix: 'pm_' },
  charge: { object: 'charge', prefix: 'ch_' },
  'charge.dispute': { object: 'dispute', prefix: 'dp_' },
  refund: { object: 'refund', prefix: 're_' },
  product: { object: 'product', prefix: 'prod_' },
  price: { object: 'price', prefix: 'price_' },
  payout: { object: 'payout', prefix: 'po_' },
};

function stripePayload(type: string, now: number): Record<string, unknown> {
  const family = type.includes('.') ? type.slice(0, type.lastIndexOf('.')) : type;
  const known = Object.hasOwn(STRIPE_OBJECTS, family) ? STRIPE_OBJECTS[family] : undefined;
  const objectName = known?.object ?? family;
  const created = Math.floor(now / 1000);
  const object: Record<string, unknown> = {
    id: `${known?.prefix ?? `${family.replaceAll('.', '_')}_`}${randomHex(12)}`,
    object: objectName,
    created,
    livemode: false,
  };
  // Most objects belong to a customer; the router uses it as the event's subject.
  if (objectName !== 'customer') object.customer = `cus_${randomHex(7)}`;
  return {
    id: `evt_${randomHex(12)}`,
    object: 'event',
    api_version: '2024-06-20',
    created,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

const stripe: Builder = (o) => {
  let body: string;
  let value: unknown;
  if (o.body !== undefined) {
    body = o.body;
    value = parseUserBody('stripe', body, ['json']).value;
  } else {
    value = stripePayload(o.type ?? SAMPLE_TYPES.stripe.default, o.now);
    // Stripe sends pretty-printed JSON; the signature covers those exact bytes.
    body = JSON.stringify(value, null, 2);
  }
  const type = routerType(text(prop(value, 'type')));
  if (o.body !== undefined) checkRequested('stripe', o.type, type);
  const t = String(Math.floor(o.now / 1000));
  const signature = hmacOf('sha256', o.secret, [`${t}.`, body]).toString('hex');
  return {
    headers: {
      'content-type': `${CONTENT_TYPE.json}; charset=utf-8`,
      'user-agent': USER_AGENT,
      'stripe-signature': `t=${t},v1=${signature}`,
    },
    body,
    type,
    deliveryId: routerDeliveryId(idText(prop(value, 'id'))),
    url: o.url,
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Slack: X-Slack-Signature = v0=<hex HMAC of `v0:<X-Slack-Request-Timestamp>:<body>`>; type from the body shape.

/** Interactivity payloads arrive form-encoded as `payload=<json>` with a top-level `type`. */
const SLACK_INTERACTIVE = new Set([
  'block_actions',
  'block_suggestion',
  'view_submission',
  'view_closed',
  'shortcut',
  'message_action',
  'interactive_message',
  'dialog_submission',
]);
/** Events API bodies whose own `type` is the event (not wrapped in `event_callback`). */
const SLACK_TOP_LEVEL = new Set(['url_verification', 'app_rate_limited']);

function isSlackHandshake(body: unknown): boolean {
  return text(prop(body, 'type')) === 'url_verification' && typeof prop(body, 'challenge') === 'string';
}

function slackType(body: unknown): string {
  if (isSlackHandshake(body)) return 'url_verification';
  const bodyType = text(prop(body, 'type'));
  const command = text(prop(body, 'command'));
  if (bodyType === 'event_callback')
    return routerType(text(prop(prop(body, 'event'), 'type')), 'event_callback');
  if (command !== undefined && bodyType === undefined) {
    return routerType(`command.${command.startsWith('/') ? command.slice(1) : command}`);
  }
  return routerType(bodyType);
}

function slackPayload(type: string, now: number): { format: Format; body: string } {
  const team = 'T0SAMPLE01';
  const app = 'A0SAMPLE01';
  const trigger = `${Math.floor(now / 1000)}.${randomHex(4)}.${randomHex(16)}`;
  if (type.startsWith('command.')) {
    const fields = {
      token: 'sample-verification-token',
      team_id: team,
      team_domain: 'sample',
      channel_id: 'C0SAMPLE01',
      channel_name: 'general',
      user_id: 'U0SAMPLE01',
      user_name: 'sample',
      command: `/${type.slice('command.'.length)}`,
      text: '',
      api_app_id: app,
      response_url: `https://hooks.slack.com/commands/${team}/1/${randomHex(12)}`,
      trigger_id: trigger,
    };
    return { format: 'form', body: new URLSearchParams(fields).toString() };
  }
  if (SLACK_INTERACTIVE.has(type)) {
    const payload = {
      type,
      team: { id: team, domain: 'sample' },
      user: { id: 'U0SAMPLE01', username: 'sample', team_id: team },
      api_app_id: app,
      token: 'sample-verification-token',
      trigger_id: trigger,
      container: {
        type: 'message',
        channel_id: 'C0SAMPLE01',
        message_ts: `${Math.floor(now / 1000)}.000100`,
      },
      actions: [],
    };
    return { format: 'form', body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString() };
  }
  if (SLACK_TOP_LEVEL.has(type)) {
    const payload =
      type === 'url_verification'
        ? { token: 'sample-verification-token', challenge: randomHex(16), type }
        : {
            token: 'sample-verification-token',
            type,
            team_id: team,
            minute_rate_limited: 1,
            api_app_id: app,
          };
    return { format: 'json', body: JSON.stringify(payload) };
  }
  const seconds = Math.floor(now / 1000);
  const payload = {
    token: 'sample-verification-token',
    team_id: team,
    api_app_id: app,
    event: {
      type,
      user: 'U0SAMPLE01',
      text: 'Sample event from event-router send',
      channel: 'C0SAMPLE01',
      ts: `${seconds}.000100`,
      event_ts: `${seconds}.000100`,
    },
    type: 'event_callback',
    event_id: `Ev${randomHex(5).toUpperCase()}`,
    event_time: seconds,
  };
  return { format: 'json', body: JSON.stringify(payload) };
}

const slack: Builder = (o) => {
  const built =
    o.body !== undefined
      ? { format: parseUserBody('slack', o.body, ['json', 'form']).format, body: o.body }
      : slackPayload(o.type ?? SAMPLE_TYPES.slack.default, o.now);
  const value = parseUserBody('slack', built.body, ['json', 'form']).value;
  const type = slackType(value);
  if (o.body !== undefined) checkRequested('slack', o.type, type);
  const timestamp = String(Math.floor(o.now / 1000));
  const signature = hmacOf('sha256', o.secret, [`v0:${timestamp}:`, built.body]).toString('hex');
  return {
    headers: {
      'content-type': CONTENT_TYPE[built.format],
      'user-agent': USER_AGENT,
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': `v0=${signature}`,
    },
    body: built.body,
    type,
    // A url_verification handshake is answered with its challenge and never stored: nothing to dedupe.
    deliveryId: isSlackHandshake(value)
      ? null
      : routerDeliveryId(idText(prop(value, 'event_id')) ?? idText(prop(value, 'trigger_id'))),
    url: o.url,
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Linear: Linear-Signature = <hex HMAC of the body>; the body's `webhookTimestamp` (ms) must be within ±60 s by
// default; type = `<type>.<action>` lower-cased.

/** Linear's entity names, to turn the router's lower-cased type back into the body's `type`. */
const LINEAR_KINDS = [
  'Issue',
  'Comment',
  'IssueLabel',
  'IssueAttachment',
  'IssueSLA',
  'Attachment',
  'Project',
  'ProjectUpdate',
  'Cycle',
  'Reaction',
  'Document',
  'Initiative',
  'InitiativeUpdate',
  'Customer',
  'CustomerNeed',
  'User',
  'AuditEntry',
  'OAuthApp',
  'AppUserNotification',
  'PermissionChange',
];
/** The verifier's default window for `webhookTimestamp` (Linear's own SDK uses the same). */
const LINEAR_TOLERANCE_MS = 60_000;

function linearType(body: unknown): string {
  const kind = text(prop(body, 'type'));
  const action = text(prop(body, 'action'));
  const joined = kind && action ? `${kind}.${action}` : (kind ?? (action ? `unknown.${action}` : undefined));
  return routerType(joined?.toLowerCase());
}

function linearPayload(type: string, now: number): Record<string, unknown> {
  const dot = type.indexOf('.');
  const kindText = dot === -1 ? type : type.slice(0, dot);
  const action = dot === -1 ? undefined : type.slice(dot + 1);
  const kind =
    LINEAR_KINDS.find((k) => k.toLowerCase() === kindText.toLowerCase()) ??
    `${kindText.charAt(0).toUpperCase()}${kindText.slice(1)}`;
  const createdAt = new Date(now).toISOString();
  const data: Record<string, unknown> = { id: randomUUID(), createdAt, updatedAt: createdAt };
  if (kind === 'Issue')
    Object.assign(data, { identifier: 'ENG-123', title: 'Sample issue from event-router' });
  else if (kind === 'Comment') Object.assign(data, { body: 'Sample comment', issueId: randomUUID() });
  else data.name = `Sample ${kind}`;
  return {
    ...(action === undefined ? {} : { action }),
    type: kind,
    createdAt,
    organizationId: randomUUID(),
    url: 'https://linear.app/sample/issue/ENG-123',
    data,
    webhookTimestamp: now,
    webhookId: randomUUID(),
  };
}

const linear: Builder = (o) => {
  let body: string;
  let value: unknown;
  if (o.body !== undefined) {
    value = parseUserBody('linear', o.body, ['json']).value;
    if (!isRecord(value)) throw new Error('the linear body must be a JSON object');
    const stamp = value.webhookTimestamp;
    const fresh = typeof stamp === 'number' && Number.isSafeInteger(stamp) && stamp >= 0;
    if (fresh && Math.abs(o.now - stamp) <= LINEAR_TOLERANCE_MS) body = o.body;
    else {
      // A saved payload's stamp is stale and the verifier would refuse it: send it as Linear would now.
      value = { ...value, webhookTimestamp: o.now };
      body = JSON.stringify(value);
    }
  } else {
    value = linearPayload(o.type ?? SAMPLE_TYPES.linear.default, o.now);
    body = JSON.stringify(value);
  }
  const type = linearType(value);
  if (o.body !== undefined) checkRequested('linear', o.type?.toLowerCase(), type);
  const deliveryId = randomUUID();
  const kind = text(prop(value, 'type'));
  return {
    headers: {
      'content-type': `${CONTENT_TYPE.json}; charset=utf-8`,
      'user-agent': USER_AGENT,
      'linear-delivery': deliveryId,
      ...(kind !== undefined && /^[\x20-\x7e]+$/.test(kind) ? { 'linear-event': kind } : {}),
      'linear-signature': hmacOf('sha256', o.secret, [body]).toString('hex'),
    },
    body,
    type,
    deliveryId,
    url: o.url,
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Standard Webhooks: webhook-signature = v1,<base64 HMAC of `<webhook-id>.<webhook-timestamp>.<body>`>, keyed with
// the base64-decoded secret (after `whsec_`); type = body.type, delivery id = webhook-id.

/** The HMAC key of a `whsec_<base64>` secret (the prefix is optional), as the verifier decodes it. */
function standardWebhooksKey(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
  if (key.length === 0) {
    throw new Error('a Standard Webhooks secret is whsec_ followed by the base64 of its key bytes');
  }
  return key;
}

const standardWebhooks: Builder = (o) => {
  const key = standardWebhooksKey(o.secret);
  let body: string;
  let value: unknown;
  if (o.body !== undefined) {
    body = o.body;
    value = parseUserBody('standard-webhooks', body, ['json']).value;
  } else {
    value = {
      type: o.type ?? SAMPLE_TYPES['standard-webhooks'].default,
      timestamp: new Date(o.now).toISOString(),
      data: { id: `obj_${randomHex(8)}`, message: 'Sample event from event-router send' },
    };
    body = JSON.stringify(value);
  }
  const type = routerType(text(prop(value, 'type')));
  if (o.body !== undefined) checkRequested('standard-webhooks', o.type, type);
  const id = `msg_${randomHex(12)}`;
  const timestamp = String(Math.floor(o.now / 1000));
  const signature = hmacOf('sha256', key, [`${id}.${timestamp}.`, body]).toString('base64');
  return {
    headers: {
      'content-type': CONTENT_TYPE.json,
      'user-agent': USER_AGENT,
      'webhook-id': id,
      'webhook-timestamp': timestamp,
      'webhook-signature': `v1,${signature}`,
    },
    body,
    type,
    deliveryId: id,
    url: o.url,
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Shopify: X-Shopify-Hmac-Sha256 = <base64 HMAC of the body>; type = X-Shopify-Topic with `/` → `.`.

/** GraphQL type of a topic's resource, for `admin_graphql_api_id`. */
const SHOPIFY_RESOURCES: Readonly<Record<string, string>> = {
  orders: 'Order',
  products: 'Product',
  customers: 'Customer',
  draft_orders: 'DraftOrder',
  fulfillments: 'Fulfillment',
  refunds: 'Refund',
  collections: 'Collection',
  checkouts: 'Checkout',
  app: 'Shop',
  shop: 'Shop',
};

function shopifyPayload(topic: string, now: number): Record<string, unknown> {
  const resource = topic.split('/')[0] ?? topic;
  const gql = Object.hasOwn(SHOPIFY_RESOURCES, resource) ? SHOPIFY_RESOURCES[resource] : undefined;
  // Shopify ids exceed 2^53 in real payloads; a safe integer keeps the sample exact in any JSON parser.
  const id = 5_000_000_000_000 + Math.floor(Math.random() * 1_000_000_000);
  const at = new Date(now).toISOString();
  const payload: Record<string, unknown> = {
    id,
    admin_graphql_api_id: `gid://shopify/${gql ?? 'Resource'}/${id}`,
    created_at: at,
    updated_at: at,
  };
  if (resource === 'orders') {
    Object.assign(payload, {
      name: '#1001',
      email: 'customer@example.com',
      currency: 'USD',
      total_price: '10.00',
      financial_status: 'paid',
      line_items: [{ id: id + 1, title: 'Sample product', quantity: 1, price: '10.00' }],
    });
  } else if (resource === 'products') Object.assign(payload, { title: 'Sample product', status: 'active' });
  else if (resource === 'customers') Object.assign(payload, { email: 'customer@example.com' });
  return payload;
}

const SHOPIFY_SHOP = 'event-router-sample.myshopify.com';

const shopify: Builder = (o) => {
  // Shopify's topics use `/`, the router's types `.`: either is accepted here.
  const topic = (o.type ?? SAMPLE_TYPES.shopify.default).replaceAll('.', '/');
  let body: string;
  if (o.body !== undefined) {
    body = o.body;
    parseUserBody('shopify', body, ['json']);
  } else body = JSON.stringify(shopifyPayload(topic, o.now));
  const deliveryId = randomUUID();
  return {
    headers: {
      'content-type': CONTENT_TYPE.json,
      'user-agent': USER_AGENT,
      'x-shopify-topic': topic,
      'x-shopify-hmac-sha256': hmacOf('sha256', o.secret, [body]).toString('base64'),
      'x-shopify-shop-domain': SHOPIFY_SHOP,
      'x-shopify-api-version': '2025-07',
      'x-shopify-webhook-id': deliveryId,
      'x-shopify-event-id': randomUUID(),
      'x-shopify-triggered-at': new Date(o.now).toISOString(),
    },
    body,
    type: routerType(topic.replaceAll('/', '.')),
    deliveryId,
    url: o.url,
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Twilio: X-Twilio-Signature = <base64 HMAC-SHA1 of URL + sorted form params>. JSON bodies are signed through the
// URL instead: it carries `bodySHA256=<hex SHA-256 of the body>` and the signature covers the URL alone.

const TWILIO_FORM_TYPE_RE = /^(message|call|recording|transcription)\.(.+)$/;

/** Twilio's status callback parameters for `<kind>.<status>` types. */
function twilioParams(kind: string, status: string, now: number): Record<string, string> {
  const account = `AC${randomHex(16)}`;
  const common = { AccountSid: account, ApiVersion: '2010-04-01', From: '+15005550006', To: '+15005550001' };
  const callSid = `CA${randomHex(16)}`;
  switch (kind) {
    case 'message': {
      const sid = `SM${randomHex(16)}`;
      // Inbound messages carry SmsStatus=received and the text; status callbacks carry MessageStatus.
      if (status === 'received') {
        return {
          ...common,
          MessageSid: sid,
          SmsSid: sid,
          SmsMessageSid: sid,
          SmsStatus: status,
          Body: 'Hello',
          NumMedia: '0',
        };
      }
      return { ...common, MessageSid: sid, SmsSid: sid, MessageStatus: status, SmsStatus: status };
    }
    case 'call':
      return {
        ...common,
        CallSid: callSid,
        CallStatus: status,
        Direction: 'outbound-api',
        CallbackSource: 'call-progress-events',
        SequenceNumber: '0',
        Timestamp: new Date(now).toUTCString(),
      };
    case 'recording': {
      const sid = `RE${randomHex(16)}`;
      return {
        ...common,
        CallSid: callSid,
        RecordingSid: sid,
        RecordingStatus: status,
        RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${account}/Recordings/${sid}`,
        RecordingDuration: '5',
        RecordingChannels: '1',
        RecordingSource: 'RecordVerb',
      };
    }
    default:
      // Twilio's real transcription callbacks also carry RecordingSid, which the router checks first (typing them
      // `recording`); left out so that the sample is typed as asked.
      return {
        ...common,
        CallSid: callSid,
        TranscriptionSid: `TR${randomHex(16)}`,
        TranscriptionStatus: status,
        TranscriptionText: 'Hello from event-router',
      };
  }
}

function twilioType(body: unknown): string {
  const field = (name: string) => text(prop(body, name));
  const lower = (value: string | undefined) => value?.toLowerCase();
  let type: string;
  if (field('RecordingSid')) {
    const status = lower(field('RecordingStatus'));
    type = status ? `recording.${status}` : 'recording';
  } else if (field('TranscriptionSid')) {
    const status = lower(field('TranscriptionStatus'));
    type = status ? `transcription.${status}` : 'transcription';
  } else if (field('MessageSid') ?? field('SmsSid')) {
    type = `message.${lower(field('MessageStatus') ?? field('SmsStatus')) ?? 'received'}`;
  } else if (field('CallSid')) {
    const status = lower(field('CallStatus'));
    type = status ? `call.${status}` : 'call';
  } else type = field('type') ?? 'unknown';
  return routerType(type);
}

/** The string Twilio signs after the URL: names sorted, each followed by its distinct values sorted. */
function twilioParamString(body: string): string {
  const params = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(body)) params.set(key, [...(params.get(key) ?? []), value]);
  let out = '';
  for (const key of [...params.keys()].sort()) {
    for (const value of [...new Set(params.get(key))].sort()) out += key + value;
  }
  return out;
}

function withBodyHash(url: string, body: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`url ${JSON.stringify(url)} is not a valid URL`);
  }
  if (parsed.searchParams.has('bodySHA256')) throw new Error('url already has a bodySHA256 parameter');
  if (url.includes('#')) throw new Error('url must not have a fragment');
  const hash = createHash('sha256').update(body).digest('hex');
  const separator = !url.includes('?') ? '?' : url.endsWith('?') || url.endsWith('&') ? '' : '&';
  // Appended to the URL as given (not re-serialised): Twilio signs the exact characters.
  return `${url}${separator}bodySHA256=${hash}`;
}

const twilio: Builder = (o) => {
  if (typeof o.url !== 'string' || o.url === '') throw new Error('Twilio signs the URL: url is required');
  let format: Format;
  let body: string;
  if (o.body !== undefined) {
    body = o.body;
    format = parseUserBody('twilio', body, ['json', 'form']).format;
  } else {
    const type = o.type ?? SAMPLE_TYPES.twilio.default;
    const match = TWILIO_FORM_TYPE_RE.exec(type);
    if (match) {
      // Twilio sends statuses in lower case; the router lower-cases them too.
      body = new URLSearchParams(
        twilioParams(match[1] ?? '', (match[2] ?? '').toLowerCase(), o.now),
      ).toString();
      format = 'form';
    } else {
      body = JSON.stringify({ type, id: `EV${randomHex(16)}`, AccountSid: `AC${randomHex(16)}` });
      format = 'json';
    }
  }
  const value = parseUserBody('twilio', body, [format]).value;
  const type = twilioType(value);
  if (o.body !== undefined) checkRequested('twilio', o.type, type);
  const url = format === 'json' ? withBodyHash(o.url, body) : o.url;
  const params = format === 'form' ? twilioParamString(body) : '';
  const token = `idem-${randomHex(16)}`;
  return {
    headers: {
      'content-type': CONTENT_TYPE[format],
      'user-agent': USER_AGENT,
      // Twilio sends one on every webhook; the router prefers it over Sid-based delivery ids.
      'i-twilio-idempotency-token': token,
      'x-twilio-signature': hmacOf('sha1', o.secret, [url, params]).toString('base64'),
    },
    body,
    type,
    deliveryId: token,
    url,
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Generic HMAC, driven by the source's `generic` block (see lambdas/ingest/providers/generic.ts).

const PLACEHOLDER_RE = /\$\{(signature|timestamp|body|id)\}/g;
const GENERIC_ALGORITHMS = new Set(['sha1', 'sha256', 'sha512']);

/** Fills `signatureFormat`, keeping placeholders other than those given literal (the verifier matches them so). */
function fillTemplate(
  template: string,
  values: Readonly<Record<string, string | Buffer>>,
): (string | Buffer)[] {
  const parts: (string | Buffer)[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER_RE)) {
    parts.push(template.slice(last, match.index));
    last = match.index + match[0].length;
    const name = match[1] ?? '';
    parts.push(Object.hasOwn(values, name) ? (values[name] as string | Buffer) : match[0]);
  }
  parts.push(template.slice(last));
  return parts;
}

const generic: Builder = (o) => {
  const config = o.generic;
  if (!config || typeof config.signatureHeader !== 'string' || config.signatureHeader === '') {
    throw new Error(
      "provider generic needs the source's generic config (signatureHeader, signatureFormat, …)",
    );
  }
  // Defaults as in GenericHmacSchema, for a block built by hand rather than parsed.
  const signatureFormat = config.signatureFormat ?? '${signature}';
  const signedContent = config.signedContent ?? '${body}';
  const algorithm = config.algorithm ?? 'sha256';
  const encoding = config.encoding ?? 'hex';
  const unit = config.timestampUnit ?? 's';
  if (!signatureFormat.includes('${signature}'))
    throw new Error('generic signatureFormat must contain ${signature}');
  if (!GENERIC_ALGORITHMS.has(algorithm)) throw new Error(`generic algorithm ${algorithm} is not supported`);

  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  const formatHasTimestamp = signatureFormat.includes('${timestamp}');
  const hasTimestampSource = formatHasTimestamp || config.timestampHeader !== undefined;
  if (signedContent.includes('${timestamp}') && !hasTimestampSource) {
    throw new Error(
      'generic signedContent uses ${timestamp} but neither signatureFormat nor timestampHeader carries one',
    );
  }
  const timestamp = hasTimestampSource ? String(unit === 'ms' ? o.now : Math.floor(o.now / 1000)) : '';
  // The verifier takes the timestamp from the signature header when its format has one, else from the header.
  if (!formatHasTimestamp && config.timestampHeader)
    headers[config.timestampHeader.toLowerCase()] = timestamp;

  let id = '';
  if (config.deliveryIdHeader) {
    id = randomUUID();
    headers[config.deliveryIdHeader.toLowerCase()] = id;
  } else if (signedContent.includes('${id}')) {
    throw new Error('generic signedContent uses ${id} but no deliveryIdHeader is configured');
  }

  const requested = o.type ?? SAMPLE_TYPES.generic.default;
  if (config.eventTypeHeader) headers[config.eventTypeHeader.toLowerCase()] = requested;
  let body: string;
  let user: UserBody;
  if (o.body !== undefined) {
    body = o.body;
    user = parseUserBody('generic', body, ['json', 'form']);
  } else {
    const value = {
      type: requested,
      id: randomUUID(),
      created_at: new Date(o.now).toISOString(),
      data: { message: 'Sample event from event-router send' },
    };
    body = JSON.stringify(value);
    user = { format: 'json', value };
  }
  headers['content-type'] = CONTENT_TYPE[user.format];
  const type = routerType(config.eventTypeHeader ? requested : text(prop(user.value, 'type')), 'webhook');
  if (o.body !== undefined && !config.eventTypeHeader) checkRequested('generic', o.type, type);

  const signed = fillTemplate(signedContent, { body, timestamp, id });
  const signature = hmacOf(algorithm, o.secret, signed).toString(encoding);
  headers[config.signatureHeader.toLowerCase()] = fillTemplate(signatureFormat, {
    signature,
    timestamp,
  }).join('');
  return { headers, body, type, deliveryId: routerDeliveryId(id || undefined), url: o.url };
};

const BUILDERS: Readonly<Record<SendProvider, Builder>> = {
  github,
  stripe,
  slack,
  linear,
  'standard-webhooks': standardWebhooks,
  shopify,
  twilio,
  generic,
};
