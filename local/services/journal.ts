/**
 * A durable append-only journal with snapshots, for the local emulators' state (SQS queues and messages, S3 object
 * metadata).
 *
 * - Every record is one JSON line `[seq, record]\n`, written with one `fs.writeSync` on a file opened for append
 *   before the call that caused it is answered: once `append` returns, the kernel has the bytes, and killing the
 *   process (even with SIGKILL) loses nothing. `fsync: true` also flushes each record to the disk (power loss).
 * - `compact(state)` writes `<name>.snapshot.json` (`{ seq, state }`, via a temporary file and a rename, so a
 *   snapshot is either the old or the new one) and then empties the journal. A crash between the two leaves
 *   records the snapshot already holds: replay skips every record whose seq is not above the snapshot's.
 * - On open, the snapshot is loaded and the journal replayed. A torn last line (the process was killed in the middle
 *   of a write) or any unreadable line stops the replay there; the file is cut back to the last good record so new
 *   records do not follow garbage.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

export interface JournalOptions {
  /** Directory of `<name>.journal` and `<name>.snapshot.json` (created when missing). */
  readonly dir: string;
  readonly name: string;
  /** fsync every record and snapshot (survives power loss, not only process death). @default false */
  readonly fsync?: boolean;
  /** Compact once the journal has grown by this many bytes since the last snapshot. @default 64 MiB */
  readonly compactBytes?: number;
}

export interface JournalReplay<S, R> {
  /** The snapshot's state, or undefined when there is none yet. */
  readonly snapshot: S | undefined;
  /** Records written after that snapshot, in order. */
  readonly records: R[];
  /** Bytes of a torn or unreadable tail that were dropped (0 normally). */
  readonly droppedBytes: number;
}

export class Journal<S, R> {
  private readonly journalPath: string;
  private readonly snapshotPath: string;
  private readonly fsync: boolean;
  private readonly compactBytes: number;
  private fd: number;
  private seq: number;
  private bytesSinceSnapshot: number;
  /** Builds the full state for a snapshot; set by the owner after replay. */
  snapshotState: (() => S) | undefined;

  private constructor(options: JournalOptions, fd: number, seq: number, bytes: number) {
    this.journalPath = path.join(options.dir, `${options.name}.journal`);
    this.snapshotPath = path.join(options.dir, `${options.name}.snapshot.json`);
    this.fsync = options.fsync ?? false;
    this.compactBytes = options.compactBytes ?? 64 * 1024 * 1024;
    this.fd = fd;
    this.seq = seq;
    this.bytesSinceSnapshot = bytes;
  }

  /** Opens (or creates) the journal and returns what to replay. */
  static open<S, R>(options: JournalOptions): { journal: Journal<S, R>; replay: JournalReplay<S, R> } {
    mkdirSync(options.dir, { recursive: true });
    const journalPath = path.join(options.dir, `${options.name}.journal`);
    const snapshotPath = path.join(options.dir, `${options.name}.snapshot.json`);
    let snapshot: S | undefined;
    let seq = 0;
    if (existsSync(snapshotPath)) {
      const parsed = JSON.parse(readFileSync(snapshotPath, 'utf8')) as { seq: number; state: S };
      snapshot = parsed.state;
      seq = parsed.seq;
    }
    const records: R[] = [];
    let goodBytes = 0;
    let droppedBytes = 0;
    if (existsSync(journalPath)) {
      const data = readFileSync(journalPath);
      let start = 0;
      // Bounded by the file: each pass consumes one line.
      while (start < data.length) {
        const end = data.indexOf(0x0a, start);
        if (end === -1) break; // torn: no newline yet
        const entry = parseLine(data.subarray(start, end));
        if (!entry) break;
        const [lineSeq, record] = entry;
        if (lineSeq > seq) {
          records.push(record as R);
          seq = lineSeq;
        }
        start = end + 1;
      }
      goodBytes = start;
      droppedBytes = data.length - start;
      if (droppedBytes > 0) truncateSync(journalPath, goodBytes);
    }
    const fd = openSync(journalPath, 'a');
    const journal = new Journal<S, R>(options, fd, seq, goodBytes);
    return { journal, replay: { snapshot, records, droppedBytes } };
  }

  /** Writes one record; durable (in the kernel, or on disk with `fsync`) when this returns. */
  append(record: R): void {
    const line = Buffer.from(`${JSON.stringify([this.seq + 1, record])}\n`);
    let written = 0;
    // writeSync may write less than asked; bounded: each pass writes at least one byte or throws.
    while (written < line.length) written += writeSomething(this.fd, line, written);
    if (this.fsync) fsyncSync(this.fd);
    this.seq++;
    this.bytesSinceSnapshot += line.length;
  }

  /**
   * Compacts when the journal has outgrown its bound. The owner calls this after applying a record to its state
   * (a snapshot taken inside `append` would miss the record it just wrote).
   */
  maybeCompact(): void {
    if (this.bytesSinceSnapshot > this.compactBytes && this.snapshotState) this.compact(this.snapshotState());
  }

  /** Snapshot of the whole state, then an empty journal. */
  compact(state: S): void {
    const tmp = `${this.snapshotPath}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      const data = Buffer.from(JSON.stringify({ seq: this.seq, state }));
      let written = 0;
      while (written < data.length) written += writeSomething(fd, data, written);
      if (this.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.snapshotPath);
    if (this.fsync) fsyncDir(path.dirname(this.snapshotPath));
    closeSync(this.fd);
    truncateSync(this.journalPath, 0);
    this.fd = openSync(this.journalPath, 'a');
    this.bytesSinceSnapshot = 0;
  }

  /** Bytes in the journal file (for tests and diagnostics). */
  size(): number {
    return statSync(this.journalPath).size;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** One writeSync of the rest of `data`; a write that makes no progress is an error, not a reason to spin. */
export function writeSomething(fd: number, data: Buffer, offset: number): number {
  const n = writeSync(fd, data, offset, data.length - offset);
  if (n <= 0) throw new Error('write made no progress');
  return n;
}

function parseLine(line: Buffer): [number, unknown] | undefined {
  try {
    const value = JSON.parse(line.toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && Number.isInteger(value[0]))
      return [value[0] as number, value[1]];
  } catch {
    // an unreadable line ends the replay
  }
  return undefined;
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported on every platform; the rename itself is atomic
  }
}
