/**
 * A function's runtime config: `runtime.json` in its code directory (LAMBDA_TASK_ROOT on Lambda and locally), written
 * from the plan at synth (lib/bundling.ts). Read once, at init.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseRuntime } from '../../core/runtime-config';

export function readRuntime<T>(check: (value: unknown) => value is T): T {
  const file = path.join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'runtime.json');
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the function's runtime config ${file}: ${(error as Error).message}`);
  }
  return parseRuntime(file, raw, check);
}
