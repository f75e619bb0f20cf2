/**
 * `event-router <command> [options]`. Commands live in COMMANDS; each returns its exit code:
 * 0 success, 1 command-specific failure, 2 usage or input error.
 */
import { readFileSync } from 'node:fs';
import { compilePattern, PatternError } from '../core/pattern';
import { type CompiledTransform, compileTransform, TransformError } from '../core/transform';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Reads a file (`-` = stdin). */
  readFile(path: string): string;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[], io: Io): number | Promise<number>;
}

/** Usage or input problem: printed to stderr, exit 2. */
export class UsageError extends Error {}

const nodeIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  readFile: (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
};

/** Parses `--name value` / `--name=value` options; rejects unknown names, repeats and stray arguments. */
export function parseOptions(args: readonly string[], names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    if (!names.includes(name)) throw new UsageError(`unknown option --${name}`);
    if (out.has(name)) throw new UsageError(`--${name} given twice`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = args[i + 1];
      i++;
    }
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    out.set(name, value);
  }
  return out;
}

/** A text option: the value itself, or `@file` (`@-` = stdin). */
export function readTextOption(options: Map<string, string>, name: string, io: Io): string {
  const raw = options.get(name);
  if (raw === undefined) throw new UsageError(`--${name} is required`);
  if (!raw.startsWith('@')) return raw;
  try {
    return io.readFile(raw.slice(1));
  } catch (error) {
    throw new UsageError(`--${name}: cannot read ${raw.slice(1)}: ${(error as Error).message}`);
  }
}

/** A JSON option: inline JSON, or `@file` (`@-` = stdin). */
export function readJsonOption(options: Map<string, string>, name: string, io: Io): unknown {
  const text = readTextOption(options, name, io);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--${name} is not valid JSON: ${(error as Error).message}`);
  }
}

const testPattern: Command = {
  name: 'test-pattern',
  summary:
    'Test whether an event matches an EventBridge event pattern (like `aws events test-event-pattern`).',
  usage: [
    'event-router test-pattern --pattern <json|@file> --event <json|@file>',
    '',
    '  Prints true or false (exit 0). An invalid pattern prints the reason EventBridge would reject it',
    '  (exit 2). @- reads stdin. Matching follows EventBridge: see docs/patterns.md.',
  ].join('\n'),
  run(args, io) {
    const options = parseOptions(args, ['pattern', 'event']);
    const pattern = readJsonOption(options, 'pattern', io);
    const event = readJsonOption(options, 'event', io);
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      throw new UsageError('--event must be a JSON object');
    }
    let compiled: ReturnType<typeof compilePattern>;
    try {
      compiled = compilePattern(pattern);
    } catch (error) {
      if (error instanceof PatternError) {
        io.err(`invalid event pattern: ${error.message}`);
        return 2;
      }
      throw error;
    }
    io.out(compiled.matches(event) ? 'true' : 'false');
    return 0;
  },
};

const testTransform: Command = {
  name: 'test-transform',
  summary: 'Apply a target’s JSONata transform to an event envelope and print the body the target would get.',
  usage: [
    'event-router test-transform --transform <expression|@file> --event <json|@file>',
    '',
    '  Prints the transformed JSON (exit 0). An invalid expression prints where and why (exit 2); an',
    '  evaluation error, a result that is undefined, or a bound exceeded (1 s, depth, 1 MiB) prints the reason',
    '  (exit 1). --transform is the expression itself, not JSON; @- reads stdin. See core/transform.ts.',
  ].join('\n'),
  async run(args, io) {
    const options = parseOptions(args, ['transform', 'event']);
    const expression = readTextOption(options, 'transform', io);
    // Parsed like the delivery function parses the envelope, so integers beyond 2^53 round the same way.
    const event = readJsonOption(options, 'event', io);
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      throw new UsageError('--event must be a JSON object');
    }
    let compiled: CompiledTransform;
    try {
      compiled = compileTransform(expression);
    } catch (error) {
      if (error instanceof TransformError) {
        io.err(error.message);
        return 2;
      }
      throw error;
    }
    const result = await compiled.apply(event);
    if (!result.ok) {
      io.err(result.reason);
      return 1;
    }
    io.out(JSON.stringify(JSON.parse(result.body), null, 2));
    return 0;
  },
};

export const COMMANDS: readonly Command[] = [testPattern, testTransform];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: event-router <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `event-router <command> --help` for a command’s options.',
  ].join('\n');
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: readonly string[], io: Io = nodeIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    if (topic !== undefined) io.out(topic.usage);
    else if (name === undefined) io.err(help());
    else io.out(help());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.err(`event-router: unknown command ${JSON.stringify(name)}\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`event-router ${command.name}: ${error.message}\n\n${command.usage}`);
      return 2;
    }
    throw error;
  }
}
