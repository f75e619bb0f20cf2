/** One measured figure in bench/results.json. */
export interface BenchFigure {
  /** Stable dotted name, e.g. `pattern.simple.matches_per_second`. */
  name: string;
  value: number;
  unit: string;
  /** The floor this figure is compared with, measured in the same run (same unit). */
  floor?: number;
  /** value / floor. */
  ratio?: number;
  /** The goal from the issue, in the same unit, and whether higher or lower is better. */
  goal?: { value: number; better: 'higher' | 'lower' };
  /** Short note: what was measured and how. */
  note?: string;
}

/** A benchmark suite: `bench/<name>.bench.ts` exporting `run`. Each suite bounds its own loops in count and time. */
export interface BenchSuite {
  name: string;
  run(): Promise<BenchFigure[]>;
}
