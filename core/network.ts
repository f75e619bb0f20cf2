/**
 * Which addresses a delivery may reach: the SSRF guard shared by config validation (synth, `hostProblem`) and the
 * delivery HTTP client (run time, every resolved address goes through `classifyAddress`). Pure: the addresses are
 * parsed here rather than with `node:net`, so the same rules run in the CDK app, the Lambda and the tests.
 *
 * Why it matters here: a target URL is configuration, but its host resolves at delivery time. Without the guard a
 * target (or a DNS answer for it) could point the delivery function at the Lambda Runtime API on 127.0.0.1:9001
 * (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), at EC2/ECS credential endpoints when the local
 * stack runs on an instance (169.254.169.254, fd00:ec2::254 —
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html; 169.254.170.2 —
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html) or at anything in a VPC, and
 * the response excerpt would be logged.
 *
 * Ranges follow the IANA special-purpose registries (RFC 6890):
 * https://www.iana.org/assignments/iana-ipv4-special-registry/ and
 * https://www.iana.org/assignments/iana-ipv6-special-registry/ — an address is `public` exactly when the registry
 * says "Globally Reachable: True" or it lies in ordinary global unicast space (IPv4 outside the registry, IPv6
 * 2000::/3, https://www.iana.org/assignments/ipv6-address-space/). IPv6 addresses that embed an IPv4 address
 * (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96, 6to4 2002::/16) are classified by the embedded address when
 * that is not public, because connecting to them reaches (or may be translated to) the embedded IPv4 host.
 */

/**
 * The closed set of address classes. Everything except `public` is refused unless the target allows private
 * networks.
 * - `public`: globally reachable unicast.
 * - `unspecified`: 0.0.0.0/8 "this network" (RFC 1122 §3.2.1.3) and :: (RFC 4291 §2.5.2). Connecting to
 *   0.0.0.0 reaches the local host on Linux, so it is as dangerous as loopback.
 * - `loopback`: 127.0.0.0/8 (RFC 1122 §3.2.1.3), ::1 (RFC 4291 §2.5.3).
 * - `private`: RFC 1918 10/8, 172.16/12, 192.168/16; unique local fc00::/7 (RFC 4193); the deprecated site-local
 *   fec0::/10 (RFC 3879); local-use NAT64 64:ff9b:1::/48 (RFC 8215).
 * - `cgnat`: shared address space 100.64.0.0/10 (RFC 6598), used inside carrier and cloud networks.
 * - `link-local`: 169.254.0.0/16 (RFC 3927, includes instance metadata), fe80::/10 (RFC 4291 §2.5.6).
 * - `multicast`: 224.0.0.0/4 (RFC 5771), ff00::/8 (RFC 4291 §2.7).
 * - `documentation`: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 (RFC 5737), 2001:db8::/32 (RFC 3849),
 *   3fff::/20 (RFC 9637). Never routed: a target there is a copy-paste mistake.
 * - `benchmarking`: 198.18.0.0/15 (RFC 2544), 2001:2::/48 (RFC 5180).
 * - `reserved`: everything else that is not globally reachable — 240.0.0.0/4 (RFC 1112 §4), the limited broadcast
 *   255.255.255.255 (RFC 919), IETF protocol assignments 192.0.0.0/24 and 2001::/23 (RFC 6890, Teredo included),
 *   the deprecated 6to4 relay anycast 192.88.99.0/24 (RFC 7526), discard-only 100::/64 (RFC 6666), the deprecated
 *   IPv4-compatible ::/96 (RFC 4291 §2.5.5.1) and all IPv6 space IANA has not allocated.
 */
export const ADDRESS_CLASSES = [
  'public',
  'unspecified',
  'loopback',
  'private',
  'cgnat',
  'link-local',
  'multicast',
  'documentation',
  'benchmarking',
  'reserved',
] as const;
export type AddressClass = (typeof ADDRESS_CLASSES)[number];

/** `classifyAddress`'s answer for text that is not an IP address (a distinct value, not an exception). */
export const INVALID_ADDRESS = 'invalid';

// ---------------------------------------------------------------------------------------------------------------
// Parsing. Strict on purpose: only canonical dotted-decimal IPv4 (no octal, hex, short or leading-zero forms, which
// inet_aton and WHATWG URL read differently) and RFC 4291 §2.2 IPv6 text, optionally with a zone id (RFC 4007 §11).
// DNS answers and WHATWG-normalised URL hosts are always in these forms; anything else is refused, not guessed at.

function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  const percent = text.indexOf('%');
  let address = text;
  if (percent !== -1) {
    // The zone only says which interface a scoped address is on; it does not change the class.
    if (!/^[^\s%/[\]]+$/.test(text.slice(percent + 1))) return undefined;
    address = text.slice(0, percent);
  }
  if (!/^[0-9A-Fa-f:.]+$/.test(address)) return undefined;
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string, last: boolean): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes('.')) {
        // Dotted IPv4 in the last 32 bits (RFC 4291 §2.2 form 3), only at the very end of the address.
        if (!last) return undefined;
        const v4 = parseIPv4(part);
        if (v4 === undefined) return undefined;
        out.push(Math.floor(v4 / 0x10000), v4 % 0x10000);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(part)) {
        out.push(Number.parseInt(part, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1] ?? '', true) : [];
  if (!head || !tail) return undefined;
  const count = head.length + tail.length;
  // "::" stands for one or more zero groups, so with it there are at most 7 written groups; without it exactly 8.
  if (halves.length === 2 ? count > 7 : count !== 8) return undefined;
  const all = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  return all.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}

// ---------------------------------------------------------------------------------------------------------------
// Range tables, most specific first (the first match wins, so the registry's "globally reachable" exceptions come
// before their enclosing block).

interface Classified {
  readonly cls: AddressClass;
  /** A short note for messages, e.g. "instance metadata". */
  readonly note?: string;
}

interface V4Range extends Classified {
  readonly base: number;
  readonly bits: number;
}

const v4 = (cidr: string, cls: AddressClass, note?: string): V4Range => {
  const [base, bits] = cidr.split('/');
  const parsed = parseIPv4(base ?? '');
  if (parsed === undefined) throw new Error(`bad IPv4 range ${cidr}`);
  return { base: parsed, bits: Number(bits), cls, ...(note ? { note } : {}) };
};

const V4_RANGES: readonly V4Range[] = [
  v4('0.0.0.0/8', 'unspecified'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'cgnat'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.169.254/32', 'link-local', 'instance metadata'),
  v4('169.254.170.2/32', 'link-local', 'ECS task metadata and credentials'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  // PCP anycast (RFC 7723) and TURN anycast (RFC 8155): the registry's globally reachable exceptions.
  v4('192.0.0.9/32', 'public'),
  v4('192.0.0.10/32', 'public'),
  v4('192.0.0.0/24', 'reserved'),
  v4('192.0.2.0/24', 'documentation'),
  v4('192.88.99.0/24', 'reserved', '6to4 relay anycast'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'benchmarking'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('224.0.0.0/4', 'multicast'),
  v4('255.255.255.255/32', 'reserved', 'limited broadcast'),
  v4('240.0.0.0/4', 'reserved'),
];

function classifyIPv4(value: number): Classified {
  for (const range of V4_RANGES) {
    const size = 2 ** (32 - range.bits);
    if (Math.floor(value / size) === Math.floor(range.base / size)) return range;
  }
  return { cls: 'public' };
}

/** How an IPv6 range embeds an IPv4 address, and what a public embedded address makes of the whole. */
type Embedding = { readonly shift: bigint; readonly kind: string; readonly ifPublic: AddressClass };

interface V6Range extends Partial<Classified> {
  readonly base: bigint;
  readonly bits: bigint;
  readonly embeds?: Embedding;
}

const v6 = (cidr: string, cls: AddressClass | Embedding, note?: string): V6Range => {
  const [base, bits] = cidr.split('/');
  const parsed = parseIPv6(base ?? '');
  if (parsed === undefined) throw new Error(`bad IPv6 range ${cidr}`);
  return {
    base: parsed,
    bits: BigInt(bits ?? '128'),
    ...(typeof cls === 'string' ? { cls } : { embeds: cls }),
    ...(note ? { note } : {}),
  };
};

const V6_RANGES: readonly V6Range[] = [
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  // ::ffff:a.b.c.d is how dual-stack sockets name IPv4 peers: connecting to it connects to a.b.c.d (RFC 4291 §2.5.5.2).
  v6('::ffff:0:0/96', { shift: 0n, kind: 'IPv4-mapped', ifPublic: 'public' }),
  // Deprecated IPv4-compatible addresses (RFC 4291 §2.5.5.1): no legitimate target, but name the embedded host.
  v6('::/96', { shift: 0n, kind: 'IPv4-compatible', ifPublic: 'reserved' }),
  // Well-known NAT64 prefix (RFC 6052): DNS64 — including Route 53 Resolver's in IPv6-only VPC subnets — hands out
  // 64:ff9b::a.b.c.d for IPv4-only names, and the NAT64 gateway connects to a.b.c.d.
  v6('64:ff9b::/96', { shift: 0n, kind: 'NAT64', ifPublic: 'public' }),
  v6('64:ff9b:1::/48', 'private', 'local-use NAT64'),
  // The rest of ::/8 (e.g. the SIIT form ::ffff:0:a.b.c.d of RFC 2765) is reserved by the IETF.
  v6('::/8', 'reserved'),
  v6('100::/64', 'reserved', 'discard-only'),
  // The registry's globally reachable exceptions inside 2001::/23 (anycast services, AMT, AS112, ORCHIDv2, DET).
  v6('2001:1::1/128', 'public'),
  v6('2001:1::2/128', 'public'),
  v6('2001:1::3/128', 'public'),
  v6('2001:3::/32', 'public'),
  v6('2001:4:112::/48', 'public'),
  v6('2001:20::/28', 'public'),
  v6('2001:30::/28', 'public'),
  v6('2001:2::/48', 'benchmarking'),
  v6('2001:db8::/32', 'documentation'),
  v6('2001::/23', 'reserved'),
  // 6to4 (RFC 3056): 2002:AABB:CCDD::/48 belongs to the IPv4 host AA.BB.CC.DD (bits 16-47).
  v6('2002::/16', { shift: 80n, kind: '6to4', ifPublic: 'public' }),
  v6('3fff::/20', 'documentation'),
  v6('2000::/3', 'public'),
  v6('fd00:ec2::254/128', 'private', 'instance metadata'),
  v6('fc00::/7', 'private'),
  v6('fec0::/10', 'private', 'deprecated site-local'),
  v6('fe80::/10', 'link-local'),
  v6('ff00::/8', 'multicast'),
  // Everything else (::/0 minus the above) is unallocated or reserved by the IETF.
  v6('::/0', 'reserved'),
];

const formatIPv4 = (value: number): string =>
  [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');

function classifyIPv6(value: bigint): Classified {
  for (const range of V6_RANGES) {
    if (value >> (128n - range.bits) !== range.base >> (128n - range.bits)) continue;
    if (!range.embeds) return { cls: range.cls ?? 'reserved', ...(range.note ? { note: range.note } : {}) };
    const embedded = Number((value >> range.embeds.shift) & 0xffffffffn);
    const inner = classifyIPv4(embedded);
    const note = `${range.embeds.kind} ${formatIPv4(embedded)}${inner.note ? `, ${inner.note}` : ''}`;
    return { cls: inner.cls === 'public' ? range.embeds.ifPublic : inner.cls, note };
  }
  return { cls: 'reserved' };
}

function classify(ip: string): Classified | undefined {
  if (ip.includes(':')) {
    const value = parseIPv6(ip);
    return value === undefined ? undefined : classifyIPv6(value);
  }
  const value = parseIPv4(ip);
  return value === undefined ? undefined : classifyIPv4(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Public API

/**
 * The class of an IP address given as text: canonical dotted-decimal IPv4 or RFC 4291 IPv6 (a zone id such as
 * `fe80::1%eth0` is allowed and ignored). Returns `'invalid'` for anything else — including brackets, CIDR
 * suffixes, hostnames and non-canonical IPv4 such as `0x7f.1` or `010.0.0.1` — rather than throwing, so callers
 * must decide what invalid means (both callers here refuse it).
 */
export function classifyAddress(ip: string): AddressClass | typeof INVALID_ADDRESS {
  return classify(ip)?.cls ?? INVALID_ADDRESS;
}

/** True only for a valid address of class `public`. */
export function isPublicAddress(ip: string): boolean {
  return classifyAddress(ip) === 'public';
}

const ARTICLE: Record<Exclude<AddressClass, 'public'>, string> = {
  unspecified: 'an unspecified',
  loopback: 'a loopback',
  private: 'a private',
  cgnat: 'a shared (CGNAT)',
  'link-local': 'a link-local',
  multicast: 'a multicast',
  documentation: 'a documentation',
  benchmarking: 'a benchmarking',
  reserved: 'a reserved',
};

/**
 * Why an address may not be reached without `allowPrivateNetwork`, or undefined if it is public. For example
 * `169.254.169.254 is a link-local address (instance metadata)`.
 */
export function addressProblem(ip: string): string | undefined {
  const found = classify(ip);
  if (!found) return `${ip} is not a valid IP address`;
  if (found.cls === 'public') return undefined;
  return `${ip} is ${ARTICLE[found.cls]} address${found.note ? ` (${found.note})` : ''}`;
}

export interface HostPolicy {
  /** Allow plain http (otherwise only https). */
  readonly allowInsecure?: boolean;
  /** Allow non-public addresses and names that can only mean one (localhost, single-label, private-use TLDs). */
  readonly allowPrivateNetwork?: boolean;
}

/** Special-use names that only resolve inside a private network; the delivery would fail or reach an internal host. */
const PRIVATE_SUFFIXES: readonly [suffix: string, why: string][] = [
  ['.local', 'a multicast DNS name (RFC 6762)'],
  ['.internal', 'a private-use name (.internal, reserved by ICANN for private networks)'],
  ['.home.arpa', 'a home network name (RFC 8375)'],
];

/**
 * Checks a target URL at synth time; returns why it is refused, or undefined.
 * - the scheme must be https, or http when `allowInsecure` (any other scheme is refused);
 * - no credentials in the URL (`user:password@`): they would be stored in plain text in the template and logs;
 * - a literal IP host must be public unless `allowPrivateNetwork`. The host is read after WHATWG URL parsing, which
 *   normalises `2130706433`, `0x7f.1` and `[::ffff:127.0.0.1]` to their canonical forms, so those are caught too;
 * - names that can only mean a non-public host — `localhost` and `*.localhost` (RFC 6761 §6.3), single-label names
 *   (resolved through the resolver's search domains) and `.local`, `.internal`, `.home.arpa` — are refused unless
 *   `allowPrivateNetwork`.
 * Other names are accepted here; their addresses are checked on every delivery, when they are resolved.
 */
export function hostProblem(url: URL | string, options: HostPolicy = {}): string | undefined {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return `${String(url)} is not a valid URL`;
  }
  if (parsed.protocol === 'http:') {
    if (!options.allowInsecure) return 'http is not allowed: use https, or set allowInsecure to allow it';
  } else if (parsed.protocol !== 'https:') {
    return `scheme ${parsed.protocol.replace(/:$/, '')} is not allowed: use https`;
  }
  if (parsed.username || parsed.password) {
    return 'the URL must not contain credentials (user:password@): they would be stored in the template and logs';
  }
  const host = parsed.hostname.toLowerCase();
  if (!host) return 'the URL has no host';
  if (options.allowPrivateNetwork) return undefined;
  const suffix = '; set allowPrivateNetwork to allow it';
  const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (literal !== host || parseIPv4(literal) !== undefined) {
    const problem = addressProblem(literal);
    return problem ? problem + suffix : undefined;
  }
  // One trailing dot only marks the name as fully qualified.
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name === 'localhost' || name.endsWith('.localhost')) {
    return `${host} is a localhost name (RFC 6761): it resolves to the delivery function's own machine${suffix}`;
  }
  if (!name.includes('.')) {
    return `${host} is a single-label name: it resolves through the local search domains to an internal host${suffix}`;
  }
  for (const [end, why] of PRIVATE_SUFFIXES) {
    if (name.endsWith(end)) return `${host} is ${why}: it only resolves inside a private network${suffix}`;
  }
  return undefined;
}
