/**
 * `event-router [--stack local|<stack name>] [--region <r>] [--json] <command>` — operate a router from the
 * terminal: send signed sample webhooks, look at events and their deliveries, publish, redeliver, replay, pause and
 * resume targets, look at failures and redrive them, and follow live events (tail, forward to a local URL).
 *
 * Exit codes: 0 success; 1 the operation failed (the API answered an error other than a bad request, a job failed
 * or was cancelled, a webhook was refused, an event could not be forwarded); 2 a usage error or a request the API
 * refused as invalid (400); 3 the stack could not be found or reached, or the caller is not allowed (403).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { z } from 'zod';
import type { Envelope } from '../core/contracts';
import {
  AgentList,
  CreatedAgent,
  DeepHealth,
  EventDetail,
  EventList,
  FailedList,
  Job,
  PublishResult,
  RedeliverResult,
  RevokedAgent,
  TargetList,
  TargetView,
} from '../core/management';
import { openApiDocument } from '../core/openapi';
import { compilePattern, PatternError, validatePattern } from '../core/pattern';
import { type CompiledTransform, compileTransform, TransformError } from '../core/transform';
import { VERSION } from '../core/version';
import { ApiError, UnreachableError } from './client';
import { duration, progressLine, shortTime, table } from './format';
import { createForwarder, eventLine, streamEvents } from './live';
import { SAMPLE_TYPES, type SendProvider, signedSample } from './providers';
import { resolveStack, StackNotFoundError, type StackTarget } from './stack';

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Reads a file (`-` = stdin). */
  readFile(path: string): string;
  /** Progress bars redraw one line on a terminal; elsewhere each change is a line. */
  readonly isTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Ends `tail`, `forward` and job following (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** How often a job's progress is polled. @default 1000 */
  readonly pollMs?: number;
}

/** A usage or input problem: printed with the command's help hint, exit 2. */
export class UsageError extends Error {}

const nodeIo = (): Io => {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    readFile: (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
    isTTY: process.stderr.isTTY === true,
    env: process.env,
    signal: controller.signal,
  };
};

/** A text option: the value itself, or `@file` (`@-` = stdin). */
function readText(io: Io, value: string, name: string): string {
  if (!value.startsWith('@')) return value;
  try {
    return io.readFile(value.slice(1));
  } catch (error) {
    throw new UsageError(`${name}: cannot read ${value.slice(1)}: ${(error as Error).message}`);
  }
}

/** A JSON option: inline JSON, or `@file` (`@-` = stdin). */
function readJson(io: Io, value: string, name: string): unknown {
  const text = readText(io, value, name);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${name} is not valid JSON: ${(error as Error).message}`);
  }
}

function readObject(io: Io, value: string, name: string): Record<string, unknown> {
  const parsed = readJson(io, value, name);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError(`${name} must be a JSON object`);
  return parsed as Record<string, unknown>;
}

/** An EventBridge pattern option, checked here so that a typo fails before anything is sent. */
function readPattern(
  io: Io,
  value: string | undefined,
  name = '--pattern',
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  const pattern = readObject(io, value, name);
  try {
    validatePattern(pattern);
  } catch (error) {
    if (error instanceof PatternError) throw new UsageError(`${name}: ${error.message}`);
    throw error;
  }
  return pattern;
}

/** `2026-12-01T12:00:00Z`, or relative to now: `15m`, `2h`, `3d` ago. */
export function parseTime(value: string, name: string, now = Date.now()): string {
  const relative = /^(\d+)(s|m|h|d)$/.exec(value);
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(relative[1]) * unit).toISOString();
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(value))
    throw new UsageError(`${name} must be an ISO-8601 time (2026-12-01T12:00:00Z) or an age (15m, 2h, 3d)`);
  return new Date(ms).toISOString();
}

function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a whole number of at least 1`);
  return n;
}

interface Globals {
  readonly stack: string;
  readonly region?: string;
  readonly json: boolean;
}

/** What every command runs with. */
interface Context {
  readonly io: Io;
  readonly globals: Globals;
  stack(): Promise<StackTarget>;
  print(json: unknown, human: () => string): void;
}

/** A job started without following it: its id, and how to follow it. */
function started(ctx: Context, job: z.infer<typeof Job>): number {
  ctx.print(job, () => `${job.kind} ${job.id} started (follow: event-router job ${job.id} --wait)`);
  return EXIT.ok;
}

async function followJob(ctx: Context, target: StackTarget, started: z.infer<typeof Job>): Promise<number> {
  const { io } = ctx;
  let job = started;
  let last = '';
  const show = () => {
    const line = progressLine(job);
    if (line === last) return;
    last = line;
    if (io.isTTY) process.stderr.write(`\r${line}\u001b[K`);
    else io.err(line);
  };
  show();
  while (job.status === 'running') {
    if (io.signal?.aborted) {
      if (io.isTTY) process.stderr.write('\n');
      io.err(
        `stopped following; the ${job.kind} goes on: event-router job ${job.id} (cancel: event-router cancel ${job.id})`,
      );
      ctx.print(job, () => '');
      return EXIT.ok;
    }
    await new Promise((resolve) => setTimeout(resolve, io.pollMs ?? 1000));
    job = await target.client.request(Job, 'GET', `/v1/jobs/${encodeURIComponent(job.id)}`);
    show();
  }
  if (io.isTTY) process.stderr.write('\n');
  ctx.print(job, () => jobSummary(job));
  return job.status === 'done' ? EXIT.ok : EXIT.failed;
}

const jobSummary = (job: z.infer<typeof Job>) =>
  `${job.kind} ${job.id} ${job.status}: ${job.sent} sent to ${job.target} (${job.matched} matched, ${job.scanned} scanned)` +
  (job.error ? `\n  error: ${job.error}` : '');

function targetRows(targets: readonly z.infer<typeof TargetView>[]) {
  return table(
    [
      'TARGET',
      'KIND',
      'STATE',
      'QUEUED',
      'IN FLIGHT',
      'DLQ',
      'OLDEST',
      'LAST SUCCESS',
      'LAST FAILURE',
      'ENDPOINT',
    ],
    targets.map((t) => [
      t.name,
      t.kind,
      t.reason && t.state !== 'active' ? `${t.state} (${t.reason})` : t.state,
      t.queueDepth,
      t.inFlight,
      t.dlqDepth,
      duration(t.oldestMessageAgeSeconds),
      shortTime(t.lastSuccessAt),
      shortTime(t.lastFailureAt),
      t.endpoint,
    ]),
  );
}

function eventDetailText(detail: z.infer<typeof EventDetail>): string {
  const e = detail.event as Partial<Envelope> & { data?: unknown };
  const lines = [
    `id          ${e.id}`,
    `source      ${e.source} (${e.provider})`,
    `type        ${e.type}`,
    `subject     ${e.subject ?? '-'}`,
    `delivery id ${e.deliveryId ?? '-'}`,
    `received    ${shortTime(e.receivedAt)}`,
    '',
    'deliveries',
    table(
      ['TARGET', 'STATUS', 'ATTEMPTS', 'LAST ATTEMPT', 'LAST RESULT'],
      detail.deliveries.map((d) => {
        const lastAttempt = d.attempts[d.attempts.length - 1];
        return [
          d.target,
          d.status,
          d.attempts.length,
          shortTime(lastAttempt?.at),
          lastAttempt
            ? `${lastAttempt.status ?? ''} ${lastAttempt.error ?? lastAttempt.outcome} (${lastAttempt.latencyMs} ms)`.trim()
            : (d.failure?.error ?? '-'),
        ];
      }),
    ),
  ];
  const attempts = detail.deliveries.flatMap((d) => d.attempts.map((a) => ({ target: d.target, ...a })));
  if (attempts.length > 0) {
    lines.push(
      '',
      'attempts',
      table(
        ['TARGET', 'ROUND', '#', 'AT', 'OUTCOME', 'STATUS', 'LATENCY', 'ERROR / RESPONSE'],
        attempts.map((a) => [
          a.target,
          a.round,
          a.attempt,
          shortTime(a.at),
          a.outcome,
          a.status,
          `${a.latencyMs} ms`,
          (a.error ?? a.response ?? '').replace(/\s+/g, ' ').slice(0, 80),
        ]),
      ),
    );
  }
  lines.push('', 'payload', JSON.stringify(e.data ?? null, null, 2));
  return lines.join('\n');
}

function buildProgram(io: Io, setCode: (code: number) => void): Command {
  const program = new Command('event-router')
    .description('Operate an Event Router: events, deliveries, targets, replays, live events.')
    .version(VERSION)
    .addOption(
      new Option(
        '--stack <name>',
        'the local stack (npm start) or a deployed stack by its CloudFormation name',
      ).default(io.env.EVENT_ROUTER_STACK ?? 'local'),
    )
    .option(
      '--region <region>',
      "a deployed stack's region (default: the AWS SDK's: AWS_REGION, the profile)",
    )
    .option('--json', 'machine-readable output: the API answers as JSON', false)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.err(text.replace(/\n$/, '')),
    })
    .addHelpText(
      'after',
      [
        '',
        'Exit codes: 0 success · 1 the operation failed · 2 usage error or invalid request (400) ·',
        '            3 the stack cannot be found or reached, or you are not allowed (403)',
        '',
        'Times are ISO-8601 (2026-12-01T12:00:00Z) or ages (15m, 2h, 3d). JSON options take inline JSON or @file (@- = stdin).',
      ].join('\n'),
    );

  const context = (command: Command): Context => {
    const globals = command.optsWithGlobals() as unknown as Globals;
    let stack: Promise<StackTarget> | undefined;
    return {
      io,
      globals,
      stack: () => {
        stack ??= resolveStack({
          stack: globals.stack,
          ...(globals.region ? { region: globals.region } : {}),
          env: io.env,
        });
        return stack;
      },
      print: (json, human) => {
        if (globals.json) io.out(JSON.stringify(json, null, 2));
        else {
          const text = human();
          if (text !== '') io.out(text);
        }
      },
    };
  };
  /** Registers an action: its exit code, and errors turned into messages and codes. */
  const run =
    <A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<number> | number) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      setCode(await fn(context(command), ...(args.slice(0, -1) as A)));
    };

  program
    .command('send')
    .description('Send a correctly signed sample webhook to a source of the stack (or any URL)')
    .argument('<provider>', `one of: ${Object.keys(SAMPLE_TYPES).join(', ')}`)
    .option('--source <name>', 'the source to send to, when several use the provider')
    .option(
      '--type <type>',
      'event type (default per provider: github pull_request.opened, stripe invoice.paid, …)',
    )
    .option('--file <path>', 'send this payload instead of the sample (signed all the same; - = stdin)')
    .option('--url <url>', "send to this URL instead of the source's")
    .option('--secret <secret>', "sign with this secret instead of the source's")
    .action(
      run(
        async (
          ctx,
          provider: string,
          options: { source?: string; type?: string; file?: string; url?: string; secret?: string },
        ) => {
          if (!(provider in SAMPLE_TYPES))
            throw new UsageError(
              `unknown provider ${provider}: one of ${Object.keys(SAMPLE_TYPES).join(', ')}`,
            );
          let url = options.url;
          let secret = options.secret;
          let generic: Parameters<typeof signedSample>[1]['generic'];
          if (!url || !secret) {
            const sources = (await (await ctx.stack()).sources()).filter(
              (s) => s.provider === provider && (!options.source || s.name === options.source),
            );
            const source = sources[0];
            if (!source)
              throw new UsageError(
                options.source
                  ? `the stack has no ${provider} source named ${options.source}`
                  : `the stack has no ${provider} source: pass --url and --secret`,
              );
            if (sources.length > 1 && !options.source)
              throw new UsageError(
                `several ${provider} sources (${sources.map((s) => s.name).join(', ')}): pick one with --source`,
              );
            url ??= source.url;
            secret ??= await source.secret();
            generic = source.generic;
          }
          const body =
            options.file === undefined ? undefined : readText(ctx.io, `@${options.file}`, '--file');
          let sample: ReturnType<typeof signedSample>;
          try {
            sample = signedSample(provider as SendProvider, {
              secret,
              url,
              ...(options.type ? { type: options.type } : {}),
              ...(body === undefined ? {} : { body }),
              ...(generic ? { generic } : {}),
            });
          } catch (error) {
            throw new UsageError((error as Error).message);
          }
          let response: Response;
          try {
            response = await fetch(sample.url, {
              method: 'POST',
              headers: sample.headers,
              body: sample.body,
              signal: AbortSignal.timeout(30_000),
            });
          } catch (error) {
            throw new UnreachableError(
              `cannot reach ${new URL(sample.url).origin}: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`,
            );
          }
          const text = await response.text();
          let answer: unknown = text;
          try {
            answer = JSON.parse(text);
          } catch {
            // not JSON
          }
          const id = (answer as { id?: string } | null)?.id;
          ctx.print(
            { status: response.status, body: answer, type: sample.type, deliveryId: sample.deliveryId },
            () =>
              response.ok
                ? `${response.status} accepted: event ${id ?? '?'} (${provider} ${sample.type}${sample.deliveryId ? `, delivery ${sample.deliveryId}` : ''})`
                : `${response.status} refused: ${typeof answer === 'string' ? answer : JSON.stringify(answer)}`,
          );
          return response.ok ? EXIT.ok : EXIT.failed;
        },
      ),
    );

  const events = program.command('events').description('Stored events and their deliveries');
  events
    .command('list')
    .description('Events, newest first')
    .option('--source <name>', 'only this source (a webhook source, or internal.<name>)')
    .option('--type <type>', 'only this event type')
    .option('--from <time>', 'received at or after (ISO-8601 or an age: 15m, 2h, 3d)')
    .option('--to <time>', 'received at or before')
    .option('--limit <n>', 'events per page (1-100)', '20')
    .option('--cursor <cursor>', 'the next page (printed after a page)')
    .option('--all', 'every page, not just the first', false)
    .action(
      run(
        async (
          ctx,
          options: {
            source?: string;
            type?: string;
            from?: string;
            to?: string;
            limit: string;
            cursor?: string;
            all: boolean;
          },
        ) => {
          const target = await ctx.stack();
          const query = {
            source: options.source,
            type: options.type,
            from: options.from === undefined ? undefined : parseTime(options.from, '--from'),
            to: options.to === undefined ? undefined : parseTime(options.to, '--to'),
            limit: positiveInt(options.limit, '--limit'),
          };
          const all: z.infer<typeof EventList>['events'] = [];
          let cursor = options.cursor;
          let page: z.infer<typeof EventList>;
          do {
            page = await target.client.request(EventList, 'GET', '/v1/events', {
              query: { ...query, cursor },
            });
            all.push(...page.events);
            cursor = page.cursor;
          } while (options.all && cursor);
          ctx.print(options.all ? { events: all } : page, () =>
            all.length === 0
              ? 'no events'
              : table(
                  ['ID', 'RECEIVED', 'SOURCE', 'TYPE', 'SUBJECT'],
                  all.map((e) => [e.id, shortTime(e.receivedAt), e.source, e.type, e.subject]),
                ),
          );
          if (!options.all && page.cursor && !ctx.globals.json) ctx.io.err(`more: --cursor ${page.cursor}`);
          return EXIT.ok;
        },
      ),
    );
  events
    .command('get')
    .description('An event: its envelope, its payload, and its delivery to each target')
    .argument('<id>', 'event id')
    .action(
      run(async (ctx, id: string) => {
        const detail = await (await ctx.stack()).client.request(
          EventDetail,
          'GET',
          `/v1/events/${encodeURIComponent(id)}`,
        );
        ctx.print(detail, () => eventDetailText(detail));
        return EXIT.ok;
      }),
    );

  program
    .command('publish')
    .description(
      'Publish an internal event (source internal.<name>): stored, routed and streamed like a webhook',
    )
    .option('--source <name>', 'its source: the event gets source internal.<name>')
    .option('--type <type>', 'its type, e.g. deploy.finished')
    .option('--data <json>', 'its data (JSON or @file)', '{}')
    .option('--subject <subject>', 'its subject')
    .option('--idempotency-key <key>', 'publishing again with this key returns the first event')
    .option('--file <path>', 'a batch instead: {"events": [{source, type, data, …}, …]} (at most 10)')
    .action(
      run(
        async (
          ctx,
          options: {
            source?: string;
            type?: string;
            data: string;
            subject?: string;
            idempotencyKey?: string;
            file?: string;
          },
        ) => {
          let body: unknown;
          if (options.file !== undefined) body = readJson(ctx.io, `@${options.file}`, '--file');
          else {
            if (!options.source || !options.type)
              throw new UsageError('--source and --type are required (or --file)');
            body = {
              source: options.source,
              type: options.type,
              data: readJson(ctx.io, options.data, '--data'),
              ...(options.subject ? { subject: options.subject } : {}),
              ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
            };
          }
          const result = await (await ctx.stack()).client.request(PublishResult, 'POST', '/v1/events', {
            body,
          });
          ctx.print(result, () =>
            result.events.map((e) => `${e.duplicate ? 'duplicate of' : 'published'} ${e.id}`).join('\n'),
          );
          return EXIT.ok;
        },
      ),
    );

  program
    .command('redeliver')
    .description('Deliver an event again: to the given targets, or to every target whose filter matches it')
    .argument('<id>', 'event id')
    .option('--target <names...>', 'only these targets')
    .action(
      run(async (ctx, id: string, options: { target?: string[] }) => {
        const result = await (await ctx.stack()).client.request(
          RedeliverResult,
          'POST',
          `/v1/events/${encodeURIComponent(id)}/redeliver`,
          { body: options.target ? { targets: options.target } : {} },
        );
        ctx.print(result, () =>
          result.redelivered.length === 0
            ? 'no target matches this event'
            : result.redelivered.map((r) => `queued for ${r.target} (round ${r.round})`).join('\n'),
        );
        return EXIT.ok;
      }),
    );

  program
    .command('replay')
    .description(
      'Replay the stored events of a time range to one target, filtered by a pattern; shows progress',
    )
    .requiredOption('--from <time>', 'start of the range (ISO-8601 or an age: 2h, 3d)')
    .option('--to <time>', 'end of the range (default: now)')
    .requiredOption('--target <name>', 'the one target that receives the replay')
    .option('--pattern <json>', 'EventBridge pattern the events must also match (JSON or @file)')
    .option('--live', 'also stream the replayed events to the connected agents they match (off unless asked)')
    .option('--no-wait', 'start the replay and print its id, without following it')
    .action(
      run(
        async (
          ctx,
          options: {
            from: string;
            to?: string;
            target: string;
            pattern?: string;
            live?: boolean;
            wait: boolean;
          },
        ) => {
          const body = {
            from: parseTime(options.from, '--from'),
            to: options.to === undefined ? new Date().toISOString() : parseTime(options.to, '--to'),
            target: options.target,
            ...(options.pattern ? { pattern: readPattern(ctx.io, options.pattern) } : {}),
            ...(options.live ? { live: true } : {}),
          };
          const target = await ctx.stack();
          const job = await target.client.request(Job, 'POST', '/v1/replays', { body });
          return options.wait ? followJob(ctx, target, job) : started(ctx, job);
        },
      ),
    );

  program
    .command('job')
    .description('A replay or redrive job and its progress')
    .argument('<id>', 'job id (rpl_… or rdr_…)')
    .option('--wait', 'follow it until it ends', false)
    .action(
      run(async (ctx, id: string, options: { wait: boolean }) => {
        const target = await ctx.stack();
        const job = await target.client.request(Job, 'GET', `/v1/jobs/${encodeURIComponent(id)}`);
        if (options.wait) return followJob(ctx, target, job);
        ctx.print(job, () => `${progressLine(job)}\n${jobSummary(job)}`);
        return EXIT.ok;
      }),
    );

  program
    .command('cancel')
    .description('Cancel a replay or redrive job (what it sent stays sent)')
    .argument('<id>', 'job id')
    .action(
      run(async (ctx, id: string) => {
        const job = await (await ctx.stack()).client.request(
          Job,
          'POST',
          `/v1/jobs/${encodeURIComponent(id)}/cancel`,
        );
        ctx.print(job, () => jobSummary(job));
        return EXIT.ok;
      }),
    );

  program
    .command('targets')
    .description('Every target: state, queue depth, DLQ depth, oldest message, last success and failure')
    .action(
      run(async (ctx) => {
        const list = await (await ctx.stack()).client.request(TargetList, 'GET', '/v1/targets');
        ctx.print(list, () => targetRows(list.targets));
        return EXIT.ok;
      }),
    );
  for (const [name, description] of [
    ['pause', 'Stop consuming a target’s queue: its events wait there (nothing is dropped) until resume'],
    ['resume', 'Consume a target’s queue again (also after a 410 Gone or an open circuit breaker)'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<target>', 'target name')
      .action(
        run(async (ctx, targetName: string) => {
          const view = await (await ctx.stack()).client.request(
            TargetView,
            'POST',
            `/v1/targets/${encodeURIComponent(targetName)}/${name}`,
          );
          ctx.print(view, () => targetRows([view]));
          return EXIT.ok;
        }),
      );
  }

  program
    .command('failed')
    .description('A target’s failed deliveries with their reasons, and its DLQ depth')
    .argument('<target>', 'target name')
    .option('--limit <n>', 'failures per page (1-100)', '25')
    .option('--cursor <cursor>', 'the next page')
    .option('--all', 'every page', false)
    .action(
      run(async (ctx, targetName: string, options: { limit: string; cursor?: string; all: boolean }) => {
        const target = await ctx.stack();
        const failures: z.infer<typeof FailedList>['failures'] = [];
        let cursor = options.cursor;
        let page: z.infer<typeof FailedList>;
        do {
          page = await target.client.request(
            FailedList,
            'GET',
            `/v1/targets/${encodeURIComponent(targetName)}/failed`,
            {
              query: { limit: positiveInt(options.limit, '--limit'), cursor },
            },
          );
          failures.push(...page.failures);
          cursor = page.cursor;
        } while (options.all && cursor);
        ctx.print(options.all ? { ...page, failures, cursor: undefined } : page, () =>
          [
            failures.length === 0
              ? 'no failed deliveries'
              : table(
                  ['EVENT', 'FAILED AT', 'ATTEMPTS', 'STATUS', 'ERROR'],
                  failures.map((f) => [
                    f.eventId,
                    shortTime(f.failedAt),
                    f.attempts,
                    f.status,
                    f.error.slice(0, 100),
                  ]),
                ),
            `DLQ: ${page.dlqDepth} message(s)`,
          ].join('\n'),
        );
        if (!options.all && page.cursor && !ctx.globals.json) ctx.io.err(`more: --cursor ${page.cursor}`);
        return EXIT.ok;
      }),
    );

  program
    .command('redrive')
    .description('Deliver a target’s failed events again (all, or the given ids); shows progress')
    .argument('<target>', 'target name')
    .option('--event <ids...>', 'only these events')
    .option('--no-wait', 'start the redrive and print its id, without following it')
    .action(
      run(async (ctx, targetName: string, options: { event?: string[]; wait: boolean }) => {
        const target = await ctx.stack();
        const job = await target.client.request(
          Job,
          'POST',
          `/v1/targets/${encodeURIComponent(targetName)}/redrive`,
          {
            body: options.event ? { eventIds: options.event } : {},
          },
        );
        return options.wait ? followJob(ctx, target, job) : started(ctx, job);
      }),
    );

  program
    .command('health')
    .description('Whether the management API reaches the table, the bus and the queues')
    .action(
      run(async (ctx) => {
        let health: z.infer<typeof DeepHealth>;
        try {
          health = await (await ctx.stack()).client.request(DeepHealth, 'GET', '/v1/health');
        } catch (error) {
          if (!(error instanceof ApiError) || error.status !== 503) throw error;
          health = {
            status: 'degraded',
            version: '?',
            checks: [{ name: 'api', ok: false, latencyMs: 0, error: error.detail }],
          };
        }
        ctx.print(health, () =>
          [
            `${health.status} (version ${health.version})`,
            table(
              ['CHECK', 'OK', 'LATENCY', 'ERROR'],
              health.checks.map((c) => [c.name, c.ok ? 'yes' : 'NO', `${c.latencyMs} ms`, c.error]),
            ),
          ].join('\n'),
        );
        return health.status === 'ok' ? EXIT.ok : EXIT.failed;
      }),
    );

  const agents = program
    .command('agents')
    .description('Agent keys for the live stream: each carries a name and the patterns it may subscribe to');
  const agentRows = (list: z.infer<typeof AgentList>['agents']) =>
    list.length === 0
      ? 'no agent keys'
      : table(
          ['ID', 'NAME', 'PATTERNS', 'CONNECTIONS', 'CREATED', 'REVOKED'],
          list.map((a) => [
            a.id,
            a.name,
            a.patterns.map((p) => JSON.stringify(p)).join(' | '),
            `${a.connections}/${a.maxConnections}`,
            shortTime(a.createdAt),
            a.revokedAt ? shortTime(a.revokedAt) : '',
          ]),
        );
  agents
    .command('create')
    .description('Create a key (printed once: it is stored hashed) allowed the events of the given patterns')
    .argument('<name>', 'agent name')
    .requiredOption(
      '--pattern <json...>',
      'an EventBridge pattern the key may subscribe within (JSON or @file)',
    )
    .option('--max-connections <n>', 'live connections the key may hold at once (default 10)')
    .action(
      run(async (ctx, name: string, options: { pattern: string[]; maxConnections?: string }) => {
        const patterns = options.pattern.map((p, i) => readPattern(ctx.io, p, `--pattern #${i + 1}`)!);
        const created = await (await ctx.stack()).client.request(CreatedAgent, 'POST', '/v1/agents', {
          body: {
            name,
            patterns,
            ...(options.maxConnections
              ? { maxConnections: positiveInt(options.maxConnections, '--max-connections') }
              : {}),
          },
        });
        ctx.print(created, () =>
          [agentRows([created.agent]), '', `key (shown once; store it now): ${created.key}`].join('\n'),
        );
        return EXIT.ok;
      }),
    );
  agents
    .command('list')
    .description('Every agent key (never the key itself) with its live connections')
    .action(
      run(async (ctx) => {
        const list = await (await ctx.stack()).client.request(AgentList, 'GET', '/v1/agents');
        ctx.print(list, () => agentRows(list.agents));
        return EXIT.ok;
      }),
    );
  agents
    .command('revoke')
    .description('Revoke an agent key: it connects no more, and its live connections are closed now')
    .argument('<id>', 'agent key id (see agents list)')
    .action(
      run(async (ctx, id: string) => {
        const revoked = await (await ctx.stack()).client.request(
          RevokedAgent,
          'POST',
          `/v1/agents/${encodeURIComponent(id)}/revoke`,
        );
        ctx.print(revoked, () =>
          [agentRows([revoked.agent]), `closed ${revoked.disconnected} live connection(s)`].join('\n'),
        );
        return EXIT.ok;
      }),
    );

  const liveOptions = (command: Command) =>
    command
      .option('--pattern <json>', 'only events matching this EventBridge pattern (JSON or @file)')
      .option('--count <n>', 'stop after this many events')
      .option('--since <id>', 'first the stored events after this event id, then live ones')
      .option('--key <key>', "an agent key (default: the stack's admin token)");

  type LiveCommandOptions = { pattern?: string; count?: string; since?: string; key?: string };
  /** What `tail` and `forward` stream from: the stack's live stream, with the options they share. */
  const liveSource = async (
    ctx: Context,
    options: LiveCommandOptions,
    pattern: ReturnType<typeof readPattern>,
  ) => {
    const target = await ctx.stack();
    if (!target.websocketUrl)
      throw new StackNotFoundError('the stack has no live stream (liveStream.enabled)');
    return {
      url: target.websocketUrl,
      token: options.key ?? (await target.streamToken()),
      ...(options.since ? { since: options.since } : {}),
      ...(pattern ? { pattern } : {}),
      ...(options.count ? { count: positiveInt(options.count, '--count') } : {}),
      signal: ctx.io.signal ?? new AbortController().signal,
      onStatus: (message: string) => ctx.io.err(message),
    };
  };

  liveOptions(
    program.command('tail').description('Live events, one line each (--json: the envelope), until Ctrl-C'),
  ).action(
    run(async (ctx, options: LiveCommandOptions) => {
      const pattern = readPattern(ctx.io, options.pattern);
      await streamEvents({
        ...(await liveSource(ctx, options, pattern)),
        onEvent: ({ text, envelope }) => ctx.io.out(ctx.globals.json ? text : eventLine(envelope)),
      });
      return EXIT.ok;
    }),
  );

  liveOptions(
    program
      .command('forward')
      .description(
        'POST live events to a local URL, signed like a target delivery (Standard Webhooks), until Ctrl-C',
      )
      .requiredOption('--to <url>', 'where to POST each event, e.g. http://127.0.0.1:8080/hook')
      .option('--secret <whsec>', 'signing secret (default: a new one, printed at start)'),
  ).action(
    run(async (ctx, options: LiveCommandOptions & { to: string; secret?: string }) => {
      const pattern = readPattern(ctx.io, options.pattern);
      try {
        new URL(options.to);
      } catch {
        throw new UsageError(`--to must be a URL, got ${options.to}`);
      }
      const source = await liveSource(ctx, options, pattern);
      let forwarder: ReturnType<typeof createForwarder>;
      try {
        forwarder = createForwarder(options.to, options.secret);
      } catch (error) {
        throw new UsageError(`--secret: ${(error as Error).message}`);
      }
      ctx.io.err(`forwarding to ${options.to}; verify with secret ${forwarder.secret}`);
      let failed = 0;
      await streamEvents({
        ...source,
        onEvent: async (event) => {
          const result = await forwarder.forward(event);
          if (result.status === null || result.status >= 300) failed++;
          const outcome = result.status === null ? `failed: ${result.error}` : `${result.status}`;
          if (ctx.globals.json) ctx.io.out(JSON.stringify({ id: event.envelope.id, ...result }));
          else
            ctx.io.out(
              `${eventLine(event.envelope)}  → ${outcome}${result.attempts > 1 ? ` (${result.attempts} attempts)` : ''}`,
            );
        },
      });
      return failed === 0 ? EXIT.ok : EXIT.failed;
    }),
  );

  program
    .command('openapi')
    .description('Print the OpenAPI 3.1 document of the management API')
    .action(
      run(async (ctx) => {
        ctx.io.out(JSON.stringify(openApiDocument(VERSION), null, 2));
        return EXIT.ok;
      }),
    );

  program
    .command('test-pattern')
    .description(
      'Test whether an event matches an EventBridge event pattern (like `aws events test-event-pattern`)',
    )
    .requiredOption('--pattern <json>', 'the pattern (JSON or @file)')
    .requiredOption('--event <json>', 'the event (JSON or @file)')
    .addHelpText(
      'after',
      '\nPrints true or false (exit 0); an invalid pattern prints why EventBridge would reject it (exit 2).',
    )
    .action(
      run(async (ctx, options: { pattern: string; event: string }) => {
        const pattern = readJson(ctx.io, options.pattern, '--pattern');
        const event = readObject(ctx.io, options.event, '--event');
        let compiled: ReturnType<typeof compilePattern>;
        try {
          compiled = compilePattern(pattern);
        } catch (error) {
          if (error instanceof PatternError) {
            ctx.io.err(`invalid event pattern: ${error.message}`);
            return EXIT.usage;
          }
          throw error;
        }
        ctx.io.out(compiled.matches(event) ? 'true' : 'false');
        return EXIT.ok;
      }),
    );

  program
    .command('test-transform')
    .description(
      'Apply a target’s JSONata transform to an event envelope and print the body the target would get',
    )
    .requiredOption('--transform <expression>', 'the expression itself (not JSON), or @file')
    .requiredOption('--event <json>', 'the envelope (JSON or @file)')
    .addHelpText(
      'after',
      '\nPrints the transformed JSON (exit 0). An invalid expression prints where and why (exit 2); an evaluation\n' +
        'error, an undefined result or an exceeded bound (1 s, depth, 1 MiB) prints the reason (exit 1).',
    )
    .action(
      run(async (ctx, options: { transform: string; event: string }) => {
        const expression = readText(ctx.io, options.transform, '--transform');
        const event = readObject(ctx.io, options.event, '--event');
        let compiled: CompiledTransform;
        try {
          compiled = compileTransform(expression);
        } catch (error) {
          if (error instanceof TransformError) {
            ctx.io.err(error.message);
            return EXIT.usage;
          }
          throw error;
        }
        const result = await compiled.apply(event);
        if (!result.ok) {
          ctx.io.err(result.reason);
          return EXIT.failed;
        }
        ctx.io.out(JSON.stringify(JSON.parse(result.body), null, 2));
        return EXIT.ok;
      }),
    );
  return program;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: readonly string[], io: Io = nodeIo()): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, successfully.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof StackNotFoundError || error instanceof UnreachableError) {
      io.err(`error: ${error.message}`);
      return EXIT.unreachable;
    }
    if (error instanceof ApiError) {
      io.err(`error: ${error.status} ${error.detail}`);
      // A lone error is often already the detail: print only what it adds.
      for (const e of error.errors)
        if (!error.detail.includes(`${e.path}: ${e.message}`)) io.err(`  ${e.path}: ${e.message}`);
      if (error.status === 403)
        io.err(
          '  (the caller may not call this route: attach the stack’s ManagementReaderPolicy or ManagementOperatorPolicy)',
        );
      return error.status === 400 ? EXIT.usage : error.status === 403 ? EXIT.unreachable : EXIT.failed;
    }
    io.err(`error: ${(error as Error).message}`);
    return EXIT.failed;
  }
}
