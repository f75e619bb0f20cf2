/**
 * A small scanner over JSON text that finds the members of the top-level object and returns their values as the
 * exact source text. Delivery uses it to forward an event's `detail` byte for byte: `JSON.parse` + `JSON.stringify`
 * would round integers beyond 2^53 (and rewrite `1.0`, `1e2`, escapes…). Pure; no dependencies.
 *
 * The scanner tracks strings (with their escapes) and nesting depth, so `"detail"` inside a string or inside a
 * nested object is never mistaken for the top-level key. It checks the structure it walks (braces, colons, commas,
 * string termination) and throws a SyntaxError on malformed text; it does not validate the grammar of numbers and
 * literals inside values — parse a slice with `JSON.parse` when its content must be checked.
 */

/** One member of the top-level object: its decoded key and the raw text of its value (`text.slice(start, end)`). */
export interface RawMember {
  readonly key: string;
  /** Offset of the key's opening quote. */
  readonly keyStart: number;
  /** Offset of the first character of the value. */
  readonly start: number;
  /** Offset just after the last character of the value. */
  readonly end: number;
}

const isWhitespace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function fail(message: string, at: number): never {
  throw new SyntaxError(`${message} at position ${at}`);
}

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && isWhitespace(text.charCodeAt(i))) i++;
  return i;
}

/** `i` is at an opening quote: returns the offset just after the closing quote. */
function skipString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x5c /* \ */) j++;
    else if (c === 0x22 /* " */) return j + 1;
    else if (c < 0x20) fail('control character in string', j);
  }
  return fail('unterminated string', i);
}

/** `i` is at the first character of a value: returns the offset just after it. */
function skipValue(text: string, i: number): number {
  const first = text.charCodeAt(i);
  if (first === 0x22) return skipString(text, i);
  if (first === 0x7b /* { */ || first === 0x5b /* [ */) {
    // Nested containers: only depth matters, strings are skipped whole so their brackets do not count.
    const closers: number[] = [];
    let j = i;
    while (j < text.length) {
      const c = text.charCodeAt(j);
      if (c === 0x22) {
        j = skipString(text, j);
        continue;
      }
      if (c === 0x7b) closers.push(0x7d);
      else if (c === 0x5b) closers.push(0x5d);
      else if (c === 0x7d || c === 0x5d) {
        if (closers.pop() !== c) fail('mismatched bracket', j);
        if (closers.length === 0) return j + 1;
      }
      j++;
    }
    return fail('unterminated container', i);
  }
  // A number or literal: up to the next delimiter.
  let j = i;
  while (j < text.length) {
    const c = text.charCodeAt(j);
    if (c === 0x2c || c === 0x7d || c === 0x5d || isWhitespace(c)) break;
    j++;
  }
  if (j === i) fail('value expected', i);
  return j;
}

/** The members of the top-level object in `text`, in source order (duplicate keys included). */
export function topLevelMembers(text: string): RawMember[] {
  const members: RawMember[] = [];
  let i = skipWhitespace(text, 0);
  if (text.charCodeAt(i) !== 0x7b) fail('object expected', i);
  i = skipWhitespace(text, i + 1);
  if (text.charCodeAt(i) === 0x7d) {
    if (skipWhitespace(text, i + 1) !== text.length) fail('unexpected text after the object', i + 1);
    return members;
  }
  for (;;) {
    if (text.charCodeAt(i) !== 0x22) fail('string key expected', i);
    const keyStart = i;
    const keyEnd = skipString(text, i);
    const rawKey = text.slice(keyStart + 1, keyEnd - 1);
    const key = rawKey.includes('\\') ? (JSON.parse(text.slice(keyStart, keyEnd)) as string) : rawKey;
    i = skipWhitespace(text, keyEnd);
    if (text.charCodeAt(i) !== 0x3a /* : */) fail('":" expected', i);
    const start = skipWhitespace(text, i + 1);
    const end = skipValue(text, start);
    members.push({ key, keyStart, start, end });
    i = skipWhitespace(text, end);
    const c = text.charCodeAt(i);
    if (c === 0x2c) {
      i = skipWhitespace(text, i + 1);
      continue;
    }
    if (c === 0x7d) {
      if (skipWhitespace(text, i + 1) !== text.length) fail('unexpected text after the object', i + 1);
      return members;
    }
    fail('"," or "}" expected', i);
  }
}

/**
 * The exact text of the value of the top-level member `key` in the JSON object `text`, or undefined when there is
 * none. With duplicate keys the last one wins, as with `JSON.parse`.
 */
export function rawJsonMember(text: string, key: string): string | undefined {
  const member = topLevelMembers(text).findLast((m) => m.key === key);
  return member && text.slice(member.start, member.end);
}

/**
 * The JSON object `objectText` without the top-level members named in `omit` and with `"<key>":<rawValue>` appended
 * for each entry of `append` — every kept member byte for byte as written.
 */
export function spliceJsonObject(
  objectText: string,
  omit: readonly string[],
  append: Readonly<Record<string, string>> = {},
): string {
  const kept = topLevelMembers(objectText)
    .filter((m) => !omit.includes(m.key) && !Object.hasOwn(append, m.key))
    .map((m) => objectText.slice(m.keyStart, m.end));
  for (const [key, raw] of Object.entries(append)) kept.push(`${JSON.stringify(key)}:${raw}`);
  return `{${kept.join(',')}}`;
}
