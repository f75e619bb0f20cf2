/**
 * How `npm start` shows the functions' logs. The functions log what they log on AWS: one Powertools JSON object
 * per line (~500 characters). Locally the default is one short human line per event that matters — accepted,
 * duplicate, rejected, delivered, retrying, failed, paused — and every warning or error; other INFO and DEBUG lines
 * are left out. `--log-format json` prints the raw lines instead.
 */
import { LOG_MESSAGE } from '../core/logs';
import type { LogSink } from './lambda/local-function';

export type LogFormat = 'human' | 'json';

interface Line {
  readonly level?: string;
  readonly message?: string;
  readonly timestamp?: string;
  readonly [field: string]: unknown;
}

const str = (value: unknown): string => (value === undefined || value === null ? '' : String(value));
const short = (id: unknown): string => str(id);
const errorText = (error: unknown): string => {
  if (error && typeof error === 'object') {
    const e = error as { name?: unknown; message?: unknown };
    return [str(e.name), str(e.message)].filter(Boolean).join(': ');
  }
  return str(error);
};
const time = (timestamp: string | undefined): string => {
  const d = timestamp ? new Date(timestamp) : new Date();
  return Number.isNaN(d.getTime()) ? '--:--:--' : d.toISOString().slice(11, 19);
};
const column = (word: string) => word.padEnd(9);

/**
 * One human line for a function's JSON log line, or undefined to leave it out. `quiet` keeps only what went wrong
 * (rejections, failures, warnings, errors).
 */
export function humanLine(functionName: string, raw: string, quiet = false): string | undefined {
  let line: Line;
  try {
    line = JSON.parse(raw) as Line;
  } catch {
    // Not a Powertools line (a console.log, an uncaught error's stack): shown as it is.
    return `[${functionName}] ${raw}`;
  }
  if (line === null || typeof line !== 'object' || typeof line.message !== 'string')
    return `[${functionName}] ${raw}`;
  const at = time(line.timestamp);
  const level = str(line.level).toUpperCase();
  const out = (word: string, ...parts: unknown[]) =>
    `${at} ${column(word)} ${parts.map(str).filter(Boolean).join('  ')}`;
  switch (line.message) {
    case 'webhook accepted':
      return quiet
        ? undefined
        : out(
            'accepted',
            line.source,
            line.type,
            short(line.eventId),
            line.deliveryId && `delivery ${line.deliveryId}`,
          );
    case 'duplicate webhook':
      return quiet
        ? undefined
        : out('duplicate', line.source, line.type, short(line.eventId), 'already accepted');
    case LOG_MESSAGE.webhookRejected:
      return out(
        'rejected',
        line.source,
        line.statusCode,
        [line.reason, line.detail].filter(Boolean).join(': '),
      );
    case 'delivered':
      return quiet
        ? undefined
        : out(
            'delivered',
            line.target,
            short(line.eventId),
            `${str(line.status)} in ${str(line.latencyMs)} ms`,
            `attempt ${str(line.attempt)}`,
          );
    case 'delivery attempt failed':
      return out(
        line.outcome === 'retrying' ? 'retrying' : 'failed',
        line.target,
        short(line.eventId),
        line.status ?? errorText(line.error),
        `attempt ${str(line.attempt)}`,
      );
    case LOG_MESSAGE.deliveryFailed:
      return out('FAILED', line.target, short(line.eventId), line.reason, 'recorded, message in the DLQ');
    case 'target paused: its queue is no longer consumed until resumed':
      return out('paused', line.target, line.reason);
    case 'circuit breaker opened: the queue is paused; a probe follows':
      return out('breaker', line.target, `open: ${str(line.reason)}`, `probe after ${str(line.reopenAt)}`);
    case 'circuit breaker half-open: the queue is consumed again; the next delivery is the probe':
      return out('breaker', line.target, 'half-open: probing');
    case 'circuit breaker closed: the probe was delivered':
      return out('breaker', line.target, 'closed');
    case 'publish failed; the sweeper will republish':
      return out(
        'pending',
        short(line.eventId),
        'publish failed; the sweeper will republish',
        errorText(line.error),
      );
    case 'sweep':
      return quiet
        ? undefined
        : out(
            'sweep',
            `republished ${str(line.republished)}`,
            `retrying ${str(line.retrying)}`,
            `poisoned ${str(line.poisoned)}`,
          );
    default:
      if (level === 'WARN' || level === 'ERROR' || level === 'CRITICAL') {
        return `${at} ${column(level)} [${functionName}] ${line.message}${line.error ? ` — ${errorText(line.error)}` : ''}`;
      }
      return undefined;
  }
}

/** The log sink `npm start` gives its functions. */
export function localLogSink(
  format: LogFormat,
  options: { quiet?: boolean; write?: (text: string, stream: 'stdout' | 'stderr') => void } = {},
): LogSink {
  const write =
    options.write ??
    ((text, stream) => (stream === 'stderr' ? process.stderr : process.stdout).write(`${text}\n`));
  if (format === 'json') {
    return (name, line, stream) => {
      if (options.quiet && !/"level":"(WARN|ERROR|CRITICAL)"/.test(line)) return;
      write(`[${name}] ${line}`, stream);
    };
  }
  return (name, line, stream) => {
    const text = humanLine(name, line, options.quiet);
    if (text !== undefined) write(text, stream);
  };
}
