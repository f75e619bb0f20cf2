/**
 * IP address parsing for `cidr` and for exact values that are IP literals, following Event Ruler: an address is
 * an IPv4 dotted quad (decimal octets) or an IPv6 literal made of hex digits and colons (no zone id, no embedded
 * dotted quad). Addresses are compared as fixed-width upper-case hex strings (8 digits for IPv4, 32 for IPv6).
 */

const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Whether a string has the shape Event Ruler treats as an IP literal (it may still be invalid). */
export function looksLikeIp(text: string): boolean {
  return IPV4_SHAPE.test(text) || IPV6_SHAPE.test(text);
}

/** Parses an IP literal to its hex form, or returns undefined when it is not a valid address. */
export function ipToHex(text: string): string | undefined {
  if (IPV4_SHAPE.test(text)) return ipv4ToHex(text);
  if (IPV6_SHAPE.test(text)) return ipv6ToHex(text);
  return undefined;
}

function ipv4ToHex(text: string): string | undefined {
  let hex = '';
  for (const part of text.split('.')) {
    if (part.length > 3 && !/^0+[0-9]{1,3}$/.test(part)) return undefined;
    const octet = Number.parseInt(part, 10);
    if (octet > 255) return undefined;
    hex += octet.toString(16).toUpperCase().padStart(2, '0');
  }
  return hex;
}

function ipv6ToHex(text: string): string | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (chunk: string): string[] | undefined => {
    if (chunk === '') return [];
    const groups = chunk.split(':');
    return groups.every((g) => HEX_GROUP.test(g)) ? groups : undefined;
  };
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  let groups: string[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  return groups.map((g) => g.toUpperCase().padStart(4, '0')).join('');
}

/** An inclusive address range in hex form; both ends have the same width. */
export interface IpRange {
  readonly low: string;
  readonly high: string;
}

/**
 * Parses `address/bits` into a range, or returns the reason EventBridge (Event Ruler) rejects it. Note the
 * documented-by-code quirk: IPv4 masks must be < 32 and IPv6 masks < 128 (a single-host CIDR is rejected; use
 * the plain address as an exact value instead).
 */
export function parseCidr(text: string): IpRange | string {
  const parts = text.split('/');
  if (parts.length !== 2) return `malformed CIDR "${text}": exactly one "/" required`;
  const [address = '', maskText = ''] = parts;
  if (!/^[+-]?[0-9]+$/.test(maskText)) return `malformed CIDR "${text}": mask bits must be an integer`;
  const bits = Number.parseInt(maskText, 10);
  if (bits < 0) return `malformed CIDR "${text}": mask bits must not be negative`;
  if (!looksLikeIp(address)) return `nonstandard IP address "${address}"`;
  const hex = ipToHex(address);
  if (hex === undefined) return `invalid IP address "${address}"`;
  const width = hex.length * 4;
  if (width === 32 && bits > 31) return `IPv4 mask bits must be < 32 (got ${bits})`;
  if (width === 128 && bits > 127) return `IPv6 mask bits must be < 128 (got ${bits})`;
  const value = BigInt(`0x${hex}`);
  const hostBits = BigInt(width - bits);
  const hostMask = (1n << hostBits) - 1n;
  const low = value & ~hostMask;
  const high = low | hostMask;
  const toHex = (n: bigint) => n.toString(16).toUpperCase().padStart(hex.length, '0');
  return { low: toHex(low), high: toHex(high) };
}

/** Whether a hex address lies in the range (same address family only). */
export function inRange(hex: string, range: IpRange): boolean {
  return hex.length === range.low.length && hex >= range.low && hex <= range.high;
}
