/** What the CLI prints for people: aligned tables, short times, a progress bar. `--json` bypasses all of it. */

/** Columns aligned on their widest cell; `-` for an empty cell. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (string | number | null | undefined)[])[],
): string {
  const cells = rows.map((row) =>
    headers.map((_, i) => {
      const value = row[i];
      return value === null || value === undefined || value === '' ? '-' : String(value);
    }),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** `2026-12-01T16:59:43.857Z` → `2026-12-01 16:59:43`. */
export const shortTime = (iso: string | null | undefined): string =>
  iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-';

/** `12` → `12 s`, `125` → `2 min 5 s`, `7300` → `2 h 1 min`. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '-';
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

export interface JobProgress {
  readonly kind: string;
  readonly status: string;
  readonly scanned: number;
  readonly matched: number;
  readonly sent: number;
}

/**
 * One line: `replay  [##########----------]  50%  sent 20 of 40 matched · 100 scanned · running`. The fraction is
 * sent of matched (matched grows while a replay scans, so the bar can step back; it ends full when done).
 */
export function progressLine(job: JobProgress, width = 24): string {
  const done = job.status !== 'running';
  const fraction = job.matched === 0 ? (done ? 1 : 0) : Math.min(1, job.sent / job.matched);
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const percent = `${Math.round(fraction * 100)}%`.padStart(4);
  return `${job.kind}  ${bar} ${percent}  sent ${job.sent} of ${job.matched} matched · ${job.scanned} scanned · ${job.status}`;
}
