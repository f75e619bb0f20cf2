/** A JSON event pattern as EventBridge takes it: an object whose leaves are arrays of match values. */
export type EventPattern = { [key: string]: unknown };

/** Thrown when EventBridge would reject a pattern. `path` is a JSON path into the pattern, e.g. `detail.state[0]`. */
export class PatternError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'PatternError';
  }
}

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** Appends an object key to a JSON path: `detail` + `state` → `detail.state`; odd keys are quoted. */
export function childPath(parent: string, key: string): string {
  const step = PLAIN_KEY.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (parent === '$') return step.startsWith('[') ? `$${step}` : step;
  return step.startsWith('[') ? `${parent}${step}` : `${parent}.${step}`;
}

/** Appends an array index to a JSON path. */
export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}
