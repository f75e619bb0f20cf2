/**
 * `wildcard` operands: `*` matches zero or more characters; `\*` is a literal asterisk and `\\` a literal
 * backslash; any other backslash escape is invalid, and two consecutive (unescaped) `*` are rejected.
 */

/** A parsed wildcard: the literal text between stars. `segments.length - 1` is the number of stars. */
export interface Wildcard {
  readonly segments: readonly string[];
}

/** Parses a wildcard operand, or returns the reason EventBridge rejects it. */
export function parseWildcard(text: string): Wildcard | string {
  const segments: string[] = [];
  let current = '';
  let previousWasStar = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') {
      const next = text[i + 1];
      if (next !== '*' && next !== '\\') {
        return `invalid escape at position ${i}: a backslash must be followed by * or \\`;
      }
      current += next;
      i++;
      previousWasStar = false;
    } else if (ch === '*') {
      if (previousWasStar) return `consecutive wildcard characters (**) at position ${i - 1} are not allowed`;
      segments.push(current);
      current = '';
      previousWasStar = true;
    } else {
      current += ch;
      previousWasStar = false;
    }
  }
  segments.push(current);
  return { segments };
}

/** Whether `value` matches the wildcard (case-sensitive, whole string). */
export function wildcardMatches(w: Wildcard, value: string): boolean {
  const segs = w.segments;
  const first = segs[0] as string;
  if (segs.length === 1) return value === first;
  const last = segs[segs.length - 1] as string;
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  let pos = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < segs.length - 1; i++) {
    const seg = segs[i] as string;
    if (seg === '') continue;
    const at = value.indexOf(seg, pos);
    if (at < 0 || at + seg.length > end) return false;
    pos = at + seg.length;
  }
  return true;
}

/** Escapes literal text for use inside a wildcard operand. */
export function escapeWildcard(text: string): string {
  return text.replace(/[\\*]/g, (c) => `\\${c}`);
}
