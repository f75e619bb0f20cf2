/**
 * Statistics every suite reports the same way:
 * - a tail percentile is p99 only when it rests on at least 1,000 samples, p95 otherwise (a p99 of 125 samples is
 *   the second-worst sample, not a percentile);
 * - a figure compared with a floor is measured in rounds that each time both, back to back, and the ratio is the
 *   median of the per-round ratios: a slow moment of a shared 2-core machine lands in both halves of a round.
 */

/** The nearest-rank percentile of sorted samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** Samples needed before a p99 is reported. */
export const P99_MIN_SAMPLES = 1_000;

/** The tail percentile the sample count allows: p99 from 1,000 samples, else p95. */
export function tail(samples: readonly number[]): { p: 95 | 99; value: number; samples: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const p = sorted.length >= P99_MIN_SAMPLES ? 99 : 95;
  return { p, value: percentile(sorted, p), samples: sorted.length };
}

/** One round of a paired measurement: the figure and its floor, measured back to back. */
export interface PairedRound {
  readonly value: number;
  readonly floor: number;
}

/** Medians of a paired measurement, and the median of the per-round ratios. */
export function pairedSummary(rounds: readonly PairedRound[]): {
  value: number;
  floor: number;
  ratio: number;
  rounds: number;
} {
  return {
    value: median(rounds.map((r) => r.value)),
    floor: median(rounds.map((r) => r.floor)),
    ratio: median(rounds.map((r) => r.value / r.floor)),
    rounds: rounds.length,
  };
}

export const round = (n: number, digits = 1) => Number(n.toFixed(digits));
