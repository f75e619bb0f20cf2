/**
 * EventBridge, locally: an HTTP endpoint speaking the PutEvents JSON protocol (what `@aws-sdk/client-eventbridge`
 * sends to AWS_ENDPOINT_URL_EVENTBRIDGE), one custom bus, and rules evaluated with the project's pattern engine
 * (core/pattern). Like EventBridge, delivery to rule targets happens after PutEvents has answered, and failed
 * deliveries are retried (with backoff) and finally sent to the rule target's dead-letter queue when one is given.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { BusEvent } from '../../core/contracts';
import { PatternIndex } from '../../core/pattern';
import type { FaultSwitch } from '../faults';
import { closeServer, LOOPBACK, listenOnLoopback, readBody, sendAwsJsonError, sendJson, sleep } from '../net';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws-env';

/** PutEvents limit on entries per call. */
export const MAX_ENTRIES_PER_CALL = 10;
/** PutEvents entry size limit (older docs; AWS raised it to 1 MB in 2026 — configurable). */
export const DEFAULT_MAX_ENTRY_BYTES = 256 * 1024;

export interface LocalRuleTarget {
  /** Rule name (for logs and the DLQ message attributes). */
  readonly name: string;
  readonly pattern: unknown;
  /** Delivers one matched event; a rejection is retried. */
  deliver(event: BusEvent<unknown>): Promise<void>;
  /**
   * Delivered before PutEvents answers (a queue of this process). On AWS an event PutEvents accepted is durable;
   * locally the bus keeps nothing, so events bound for durable targets are on their queues before the answer —
   * a kill -9 right after a 200 must not lose them. Other targets (a Lambda) are delivered after the answer.
   */
  readonly durable?: boolean;
  /**
   * The rule target's retry policy (core/plan.ts): attempts and maximum event age, as on AWS. The local backoff is
   * shorter (doubling from `retryBaseDelayMs`, at most 5 s) so that a recovered target gets its events in seconds.
   */
  readonly retry?: { readonly maximumRetryAttempts: number; readonly maximumEventAgeSeconds: number };
  /** Where the event goes once retries are exhausted (EventBridge target DLQ). */
  deadLetter?(event: BusEvent<unknown>, error: Error): Promise<void>;
  /** The queue a queue target puts events on, and its DLQ (for describing the running topology). */
  readonly queueUrl?: string;
  readonly deadLetterQueueUrl?: string;
}

export interface LocalEventBridgeOptions {
  readonly busName: string;
  readonly rules: readonly LocalRuleTarget[];
  /** @default 0 (random) */
  readonly port?: number;
  /** @default 256 KiB */
  readonly maxEntryBytes?: number;
  /** Delivery attempts of a rule target without its own `retry` (EventBridge: 185 retries over 24 h). @default 6 */
  readonly deliveryAttempts?: number;
  /** First retry delay; doubles per attempt. @default 100 */
  readonly retryBaseDelayMs?: number;
  /** Called for every event accepted on the bus and the rules it matched. */
  readonly onEvent?: (event: BusEvent<unknown>, matchedRules: readonly string[]) => void;
  readonly onDeliveryFailure?: (rule: string, event: BusEvent<unknown>, error: Error) => void;
  /**
   * Faults of the `eventbridge` service: a fault with status 200 fails each entry with its code (e.g. a permanent
   * `MalformedDetail`); any other status fails the whole PutEvents call (e.g. 400 ThrottlingException).
   */
  readonly faults?: FaultSwitch;
  /**
   * Other buses (names or ARNs, any account) that accept events: an EventBridge target's local equivalent. Events put
   * there are kept (the last 1,000 per bus) for `externalEvents`, and reported to `onExternalEvent`.
   */
  readonly externalBuses?: readonly string[];
  readonly onExternalEvent?: (bus: string, event: BusEvent<unknown>) => void;
}

/** Events kept per external bus. */
const EXTERNAL_EVENTS_KEPT = 1_000;

export interface LocalEventBridge {
  readonly endpoint: string;
  readonly port: number;
  readonly busArn: string;
  /** The rules events are matched against. */
  readonly rules: readonly LocalRuleTarget[];
  /** Events put on an external bus (the last 1,000), oldest first. */
  externalEvents(bus: string): readonly BusEvent<unknown>[];
  /** Resolves when every delivery started so far has finished (success, DLQ or given up). */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

interface PutEventsRequestEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  Resources?: unknown;
  EventBusName?: unknown;
  Time?: unknown;
  TraceHeader?: unknown;
}

type ResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

const JSON_11 = 'application/x-amz-json-1.1';

/** AWS's PutEvents entry size: Time (14 bytes when present) + Source + DetailType + Detail + Resources, UTF-8. */
export function putEventsEntrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time !== undefined ? 14 : 0;
  for (const value of [entry.Source, entry.DetailType, entry.Detail]) {
    if (typeof value === 'string') size += Buffer.byteLength(value);
  }
  if (Array.isArray(entry.Resources)) {
    for (const r of entry.Resources) if (typeof r === 'string') size += Buffer.byteLength(r);
  }
  return size;
}

/** The `Detail` text each accepted event was put with (compacted), for serialising it to rule targets. */
const rawDetails = new WeakMap<object, { readonly detail: unknown; readonly text: string }>();

/**
 * A JSON text without insignificant whitespace; strings and number spellings untouched.
 *
 * EventBridge hands targets the same JSON value it was given, not necessarily the same text: it may re-serialise
 * the detail (whitespace, number spelling). The local bus does the part that cannot lose digits — it drops the
 * whitespace — so that nothing downstream can rely on the text being the one ingest published, as on AWS.
 */
export function compactJson(text: string): string {
  let out = '';
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      out += text.slice(start, i);
      start = i + 1;
    }
  }
  return start === 0 ? text : out + text.slice(start);
}

/**
 * The bus event as the JSON a rule target receives (the SQS message body): the event's own fields serialised, and
 * `detail` spliced in as the `Detail` text of the PutEvents entry, compacted. Re-serialising the parsed detail would
 * round integers beyond 2^53. Events that did not come through this bus (or whose `detail` was replaced since) are
 * serialised with `JSON.stringify`.
 */
export function busEventJson(event: BusEvent<unknown>): string {
  const raw = rawDetails.get(event);
  if (raw === undefined || raw.detail !== event.detail) return JSON.stringify(event);
  const { detail: _parsed, ...rest } = event;
  const head = JSON.stringify(rest);
  return `${head.slice(0, -1)},"detail":${raw.text}}`;
}

/** EventBridge's `time`: ISO-8601 without fractional seconds. */
function eventTime(time: unknown): string {
  let date = new Date();
  if (typeof time === 'number' && Number.isFinite(time)) date = new Date(time * 1000);
  else if (typeof time === 'string' && !Number.isNaN(Date.parse(time))) date = new Date(time);
  return `${date.toISOString().slice(0, 19)}Z`;
}

export async function startLocalEventBridge(options: LocalEventBridgeOptions): Promise<LocalEventBridge> {
  const busArn = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${options.busName}`;
  const maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  const attempts = Math.max(1, options.deliveryAttempts ?? 6);
  const baseDelay = options.retryBaseDelayMs ?? 100;
  const index = new PatternIndex<LocalRuleTarget>();
  for (const rule of options.rules) index.add(rule, rule.pattern);
  const inFlight = new Set<Promise<void>>();
  let stopped = false;

  const deliver = (rule: LocalRuleTarget, event: BusEvent<unknown>) => {
    const maxAttempts = rule.retry ? rule.retry.maximumRetryAttempts + 1 : attempts;
    const deadline = rule.retry
      ? Date.now() + rule.retry.maximumEventAgeSeconds * 1000
      : Number.POSITIVE_INFINITY;
    const run = async () => {
      let lastError = new Error('not attempted');
      for (let attempt = 1; attempt <= maxAttempts && !stopped && Date.now() < deadline; attempt++) {
        try {
          await rule.deliver(event);
          return;
        } catch (error) {
          lastError = error as Error;
          if (attempt < maxAttempts) await sleep(Math.min(5_000, baseDelay * 2 ** Math.min(attempt - 1, 16)));
        }
      }
      if (stopped) return;
      options.onDeliveryFailure?.(rule.name, event, lastError);
      await rule.deadLetter?.(event, lastError).catch(() => {});
    };
    const promise = run().finally(() => inFlight.delete(promise));
    inFlight.add(promise);
  };

  const isOurBus = (name: unknown) => name === options.busName || name === busArn;
  const external = new Map<string, BusEvent<unknown>[]>((options.externalBuses ?? []).map((b) => [b, []]));
  const isDefaultBus = (name: unknown) =>
    name === undefined ||
    name === null ||
    name === '' ||
    name === 'default' ||
    name === `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/default`;

  const putEvents = async (body: unknown, res: ServerResponse) => {
    const fault = options.faults?.check('eventbridge', 'PutEvents');
    if (fault && fault.status !== 200) {
      sendAwsJsonError(res, fault.status, fault.code, fault.message ?? fault.code);
      return;
    }
    const entries = (body as { Entries?: unknown } | null)?.Entries;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES_PER_CALL) {
      sendAwsJsonError(
        res,
        400,
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES_PER_CALL} and greater than or equal to 1`,
      );
      return;
    }
    const typed = entries as PutEventsRequestEntry[];
    const total = typed.reduce((sum, e) => sum + putEventsEntrySize(e ?? {}), 0);
    if (total > maxEntryBytes) {
      sendAwsJsonError(
        res,
        400,
        'ValidationException',
        'Total size of the entries in the request is over the limit.',
      );
      return;
    }
    const results: ResultEntry[] = [];
    const accepted: BusEvent<unknown>[] = [];
    for (const entry of typed) {
      const invalid = (field: string) => ({
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
      });
      if (fault) results.push({ ErrorCode: fault.code, ErrorMessage: fault.message ?? fault.code });
      else if (typeof entry?.Source !== 'string' || entry.Source === '') results.push(invalid('Source'));
      else if (typeof entry.DetailType !== 'string' || entry.DetailType === '')
        results.push(invalid('DetailType'));
      else if (typeof entry.Detail !== 'string') results.push(invalid('Detail'));
      else if (
        !isOurBus(entry.EventBusName) &&
        !isDefaultBus(entry.EventBusName) &&
        !external.has(entry.EventBusName as string)
      ) {
        results.push({
          ErrorCode: 'ResourceNotFoundException',
          ErrorMessage: `Event bus ${String(entry.EventBusName)} does not exist.`,
        });
      } else {
        let detail: unknown;
        try {
          detail = JSON.parse(entry.Detail);
        } catch {
          detail = undefined;
        }
        if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
          results.push({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
          continue;
        }
        const event: BusEvent<unknown> = {
          version: '0',
          id: randomUUID(),
          'detail-type': entry.DetailType,
          source: entry.Source,
          account: LOCAL_ACCOUNT,
          time: eventTime(entry.Time),
          region: LOCAL_REGION,
          resources: Array.isArray(entry.Resources)
            ? entry.Resources.filter((r) => typeof r === 'string')
            : [],
          detail,
        };
        // Rule matching uses the parsed detail; targets receive the Detail text, compacted (busEventJson).
        rawDetails.set(event, { detail, text: compactJson(entry.Detail) });
        results.push({ EventId: event.id });
        // Events on the default bus are accepted; no rules live there.
        if (isOurBus(entry.EventBusName)) accepted.push(event);
        const kept = external.get(entry.EventBusName as string);
        if (kept) {
          kept.push(event);
          if (kept.length > EXTERNAL_EVENTS_KEPT) kept.shift();
          options.onExternalEvent?.(entry.EventBusName as string, event);
        }
      }
    }
    const failed = results.filter((r) => 'ErrorCode' in r).length;
    const matches = accepted.map((event) => ({ event, rules: index.match(event) }));
    // Durable targets first (see LocalRuleTarget.durable); one that fails goes on with the retries below.
    for (const { event, rules } of matches) {
      for (const rule of rules) {
        if (!rule.durable) continue;
        try {
          await rule.deliver(event);
        } catch {
          deliver(rule, event);
        }
      }
    }
    sendJson(res, 200, { FailedEntryCount: failed, Entries: results }, {}, JSON_11);
    // After the answer, like EventBridge: the other targets.
    setImmediate(() => {
      for (const { event, rules } of matches) {
        options.onEvent?.(
          event,
          rules.map((r) => r.name),
        );
        for (const rule of rules) if (!rule.durable) deliver(rule, event);
      }
    });
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      if (req.method !== 'POST') {
        sendAwsJsonError(res, 404, 'UnknownOperationException', 'Only POST is supported');
        return;
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      let body: unknown;
      try {
        const raw = await readBody(req, 2 * 1024 * 1024);
        body = JSON.parse(raw.toString('utf8') || '{}');
      } catch {
        sendAwsJsonError(res, 400, 'SerializationException', 'Request body is not valid JSON');
        return;
      }
      if (target === 'AWSEvents.PutEvents') await putEvents(body, res);
      else if (target === 'AWSEvents.DescribeEventBus') {
        // The management API's health check: this bus, or an external bus a target names.
        const name = (body as { Name?: unknown } | null)?.Name;
        if (isOurBus(name) || isDefaultBus(name)) {
          const ours = isOurBus(name);
          sendJson(
            res,
            200,
            {
              Name: ours ? options.busName : 'default',
              Arn: ours ? busArn : `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/default`,
            },
            {},
            'application/x-amz-json-1.1',
          );
        } else
          sendAwsJsonError(
            res,
            400,
            'ResourceNotFoundException',
            `Event bus ${String(name)} does not exist.`,
          );
      } else
        sendAwsJsonError(
          res,
          400,
          'UnknownOperationException',
          `Operation ${target} is not supported locally`,
        );
    })().catch((error: Error) => {
      if (!res.headersSent) sendAwsJsonError(res, 500, 'InternalException', error.message);
    });
  });
  const port = await listenOnLoopback(server, options.port ?? 0, 'EventBridge');
  return {
    rules: options.rules,
    externalEvents: (bus) => [...(external.get(bus) ?? [])],
    endpoint: `http://${LOOPBACK}:${port}`,
    port,
    busArn,
    async drain() {
      // Matching runs on setImmediate after the answer; give it a turn before looking.
      await new Promise((r) => setImmediate(r));
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    async stop() {
      stopped = true;
      await closeServer(server);
    },
  };
}
