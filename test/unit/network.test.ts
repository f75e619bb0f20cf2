import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADDRESS_CLASSES,
  type AddressClass,
  addressProblem,
  classifyAddress,
  hostProblem,
  isPublicAddress,
} from '../../core/network';

// For every range: the first and last address inside, and the addresses just outside on both sides.
const IPV4: [string, AddressClass][] = [
  ['0.0.0.0', 'unspecified'],
  ['0.255.255.255', 'unspecified'],
  ['1.0.0.0', 'public'],
  ['9.255.255.255', 'public'],
  ['10.0.0.0', 'private'],
  ['10.255.255.255', 'private'],
  ['11.0.0.0', 'public'],
  ['100.63.255.255', 'public'],
  ['100.64.0.0', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['100.128.0.0', 'public'],
  ['126.255.255.255', 'public'],
  ['127.0.0.0', 'loopback'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.255', 'loopback'],
  ['128.0.0.0', 'public'],
  ['169.253.255.255', 'public'],
  ['169.254.0.0', 'link-local'],
  ['169.254.169.254', 'link-local'],
  ['169.254.170.2', 'link-local'],
  ['169.254.255.255', 'link-local'],
  ['169.255.0.0', 'public'],
  ['172.15.255.255', 'public'],
  ['172.16.0.0', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.0', 'public'],
  ['191.255.255.255', 'public'],
  ['192.0.0.0', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['192.0.0.9', 'public'],
  ['192.0.0.10', 'public'],
  ['192.0.0.11', 'reserved'],
  ['192.0.0.255', 'reserved'],
  ['192.0.1.255', 'public'],
  ['192.0.2.0', 'documentation'],
  ['192.0.2.255', 'documentation'],
  ['192.0.3.0', 'public'],
  ['192.88.98.255', 'public'],
  ['192.88.99.0', 'reserved'],
  ['192.88.99.255', 'reserved'],
  ['192.88.100.0', 'public'],
  ['192.167.255.255', 'public'],
  ['192.168.0.0', 'private'],
  ['192.168.255.255', 'private'],
  ['192.169.0.0', 'public'],
  ['198.17.255.255', 'public'],
  ['198.18.0.0', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['198.20.0.0', 'public'],
  ['198.51.99.255', 'public'],
  ['198.51.100.0', 'documentation'],
  ['198.51.100.255', 'documentation'],
  ['198.51.101.0', 'public'],
  ['203.0.112.255', 'public'],
  ['203.0.113.0', 'documentation'],
  ['203.0.113.255', 'documentation'],
  ['203.0.114.0', 'public'],
  ['223.255.255.255', 'public'],
  ['224.0.0.0', 'multicast'],
  ['239.255.255.255', 'multicast'],
  ['240.0.0.0', 'reserved'],
  ['255.255.255.254', 'reserved'],
  ['255.255.255.255', 'reserved'],
  ['8.8.8.8', 'public'],
  ['52.94.76.1', 'public'],
];

const IPV6: [string, AddressClass][] = [
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  // IPv4-mapped ::ffff:0:0/96, both notations.
  ['::fffe:ffff:ffff', 'reserved'],
  ['::ffff:0:0', 'unspecified'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:a00:1', 'private'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:8.8.8.8', 'public'],
  ['::ffff:ffff:ffff', 'reserved'],
  ['::1:0:0:0', 'reserved'],
  // SIIT ::ffff:0:0:0/96 is not mapped: it is reserved.
  ['::ffff:0:8.8.8.8', 'reserved'],
  // IPv4-compatible ::/96: the embedded class when not public, else reserved.
  ['::2', 'unspecified'],
  ['::a00:1', 'private'],
  ['::127.0.0.1', 'loopback'],
  ['::8.8.8.8', 'reserved'],
  ['::1:0:0', 'reserved'],
  ['ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  // NAT64 64:ff9b::/96 by the embedded address; local-use 64:ff9b:1::/48 private.
  ['64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['64:ff9b::', 'unspecified'],
  ['64:ff9b::10.0.0.1', 'private'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::a9fe:a9fe', 'link-local'],
  ['64:ff9b::8.8.8.8', 'public'],
  ['64:ff9b::ffff:ffff', 'reserved'],
  ['64:ff9b::1:0:0', 'reserved'],
  ['64:ff9b:1::', 'private'],
  ['64:ff9b:1:ffff:ffff:ffff:ffff:ffff', 'private'],
  ['64:ff9b:2::', 'reserved'],
  ['100::', 'reserved'],
  ['100::ffff:ffff:ffff:ffff', 'reserved'],
  ['1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  // Global unicast 2000::/3 and its special blocks.
  ['2000::', 'public'],
  ['2001::', 'reserved'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
  ['2001:1::1', 'public'],
  ['2001:1::3', 'public'],
  ['2001:1::4', 'reserved'],
  ['2001:1:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['2001:2::', 'benchmarking'],
  ['2001:2:0:ffff:ffff:ffff:ffff:ffff', 'benchmarking'],
  ['2001:2:1::', 'reserved'],
  ['2001:3::', 'public'],
  ['2001:3:ffff:ffff:ffff:ffff:ffff:ffff', 'public'],
  ['2001:10::', 'reserved'],
  ['2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['2001:200::', 'public'],
  ['2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', 'public'],
  ['2001:db8::', 'documentation'],
  ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'documentation'],
  ['2001:db9::', 'public'],
  ['2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'public'],
  // 6to4 2002::/16 by the embedded address (bits 16-47).
  ['2002::', 'unspecified'],
  ['2002:a00:1::', 'private'],
  ['2002:7f00:1::1', 'loopback'],
  ['2002:a9fe:a9fe::', 'link-local'],
  ['2002:808:808::1', 'public'],
  ['2003::', 'public'],
  ['2606:4700:4700::1111', 'public'],
  ['2a05:d018::1', 'public'],
  ['3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'public'],
  ['3fff::', 'documentation'],
  ['3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff', 'documentation'],
  ['3fff:1000::', 'public'],
  ['3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'public'],
  ['4000::', 'reserved'],
  ['5f00::1', 'reserved'],
  ['fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['fc00::', 'private'],
  ['fd00:ec2::254', 'private'],
  ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'private'],
  ['fe00::', 'reserved'],
  ['fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['fe80::', 'link-local'],
  ['FE80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['fe80::1%25', 'link-local'],
  ['febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'link-local'],
  ['fec0::', 'private'],
  ['feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'private'],
  ['ff00::', 'multicast'],
  ['ff02::1', 'multicast'],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'multicast'],
  // Other valid notations.
  ['::1:2:3:4:5:6:7', 'reserved'],
  ['1:2:3:4:5:6:7::', 'reserved'],
  ['2001:db8:1:2:3:4:1.2.3.4', 'documentation'],
];

const MALFORMED = [
  '',
  ' ',
  'localhost',
  'example.com',
  '1.2.3',
  '1.2.3.4.5',
  '1.2.3.4.',
  '256.0.0.1',
  '1.2.3.-1',
  '01.2.3.4',
  '1.2.3.04',
  '0x7f.0.0.1',
  '0177.0.0.1',
  '127.1',
  '2130706433',
  ' 1.2.3.4',
  '1.2.3.4 ',
  '1.2.3.4%eth0',
  '[::1]',
  '::1/128',
  '10.0.0.0/8',
  ':',
  ':::',
  '1::2::3',
  ':1::',
  '1::2:',
  ':1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7::8',
  '12345::',
  'g::1',
  '::ffff:1.2.3',
  '::ffff:1.2.3.256',
  '1.2.3.4::',
  '1.2.3.4::1',
  '::1.2.3.4:1',
  'fe80::1%',
  'fe80::1%eth 0',
  'fe80::1%a%b',
];

describe('classifyAddress', () => {
  it.each(IPV4)('IPv4 %s is %s', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });
  it.each(IPV6)('IPv6 %s is %s', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });
  it.each(MALFORMED.map((text) => [text]))('%j is invalid', (text) => {
    expect(classifyAddress(text)).toBe('invalid');
    expect(isPublicAddress(text)).toBe(false);
  });
  it('only answers members of the documented set (or invalid)', () => {
    const answers = new Set([...IPV4, ...IPV6].map(([ip]) => classifyAddress(ip)));
    for (const answer of answers) expect(ADDRESS_CLASSES).toContain(answer);
    expect(isPublicAddress('8.8.8.8')).toBe(true);
    expect(isPublicAddress('10.0.0.1')).toBe(false);
  });

  const dotted = (v: number) => [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
  it('classifies an IPv4-mapped address exactly as the IPv4 address, in both notations', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
        const cls = classifyAddress(dotted(v));
        expect(cls).not.toBe('invalid');
        expect(classifyAddress(`::ffff:${dotted(v)}`)).toBe(cls);
        expect(classifyAddress(`::ffff:${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}`)).toBe(cls);
        // NAT64 and 6to4 never make a non-public IPv4 address public.
        if (cls !== 'public') {
          expect(classifyAddress(`64:ff9b::${dotted(v)}`)).toBe(cls);
          expect(classifyAddress(`2002:${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}::1`)).toBe(
            cls,
          );
        }
      }),
    );
  });
  it('gives the same class to the full and the WHATWG-compressed form of any IPv6 address', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (groups) => {
        const full = groups.map((g) => g.toString(16)).join(':');
        const compressed = new URL(`http://[${full}]/`).hostname.slice(1, -1);
        const cls = classifyAddress(full);
        expect(cls).not.toBe('invalid');
        expect(classifyAddress(compressed)).toBe(cls);
        expect(classifyAddress(full.toUpperCase())).toBe(cls);
      }),
    );
  });
});

describe('addressProblem', () => {
  it('names the class and what the address is known for', () => {
    expect(addressProblem('169.254.169.254')).toBe(
      '169.254.169.254 is a link-local address (instance metadata)',
    );
    expect(addressProblem('fd00:ec2::254')).toBe('fd00:ec2::254 is a private address (instance metadata)');
    expect(addressProblem('::ffff:a00:1')).toBe('::ffff:a00:1 is a private address (IPv4-mapped 10.0.0.1)');
    expect(addressProblem('64:ff9b::a9fe:a9fe')).toBe(
      '64:ff9b::a9fe:a9fe is a link-local address (NAT64 169.254.169.254, instance metadata)',
    );
    expect(addressProblem('100.64.0.1')).toBe('100.64.0.1 is a shared (CGNAT) address');
    expect(addressProblem('nope')).toBe('nope is not a valid IP address');
    expect(addressProblem('8.8.8.8')).toBeUndefined();
  });
});

describe('hostProblem', () => {
  const secure = {};
  const insecure = { allowInsecure: true };
  const open = { allowPrivateNetwork: true };

  it('accepts https to public names and addresses', () => {
    expect(hostProblem('https://hooks.example.com/path?q=1', secure)).toBeUndefined();
    expect(hostProblem(new URL('https://hooks.example.com:8443/'), secure)).toBeUndefined();
    expect(hostProblem('https://example.com./', secure)).toBeUndefined();
    expect(hostProblem('https://8.8.8.8/', secure)).toBeUndefined();
    expect(hostProblem('https://[2606:4700:4700::1111]/', secure)).toBeUndefined();
    expect(hostProblem('https://[::ffff:8.8.8.8]/', secure)).toBeUndefined();
  });
  it('refuses http unless allowInsecure, and any other scheme always', () => {
    expect(hostProblem('http://hooks.example.com/', secure)).toMatch(/^http is not allowed.*allowInsecure/);
    expect(hostProblem('http://hooks.example.com/', insecure)).toBeUndefined();
    for (const url of [
      'ftp://example.com/',
      'file:///etc/passwd',
      'gopher://example.com/',
      'ws://example.com/',
    ]) {
      expect(hostProblem(url, { allowInsecure: true, allowPrivateNetwork: true })).toMatch(
        /^scheme \w+ is not allowed/,
      );
    }
  });
  it('refuses credentials in the URL, even with every allowance', () => {
    const all = { allowInsecure: true, allowPrivateNetwork: true };
    expect(hostProblem('https://user:pass@example.com/', all)).toMatch(/credentials/);
    expect(hostProblem('https://user@example.com/', all)).toMatch(/credentials/);
    expect(hostProblem('https://:pass@example.com/', all)).toMatch(/credentials/);
  });
  it('refuses a string that is not a URL', () => {
    expect(hostProblem('not a url', secure)).toBe('not a url is not a valid URL');
  });
  it('refuses the instance metadata address with a message that says how to allow it', () => {
    expect(hostProblem('https://169.254.169.254/latest/meta-data/', secure)).toBe(
      '169.254.169.254 is a link-local address (instance metadata); set allowPrivateNetwork to allow it',
    );
    expect(hostProblem('https://169.254.169.254/', open)).toBeUndefined();
  });
  it.each([
    ['http://2130706433/', '127.0.0.1 is a loopback address'],
    ['http://0x7f.1/', '127.0.0.1 is a loopback address'],
    ['http://0177.0.0.1/', '127.0.0.1 is a loopback address'],
    ['http://127.1/', '127.0.0.1 is a loopback address'],
    ['http://0/', '0.0.0.0 is an unspecified address'],
    ['http://0xa9fea9fe/', '169.254.169.254 is a link-local address (instance metadata)'],
    ['http://[::1]/', '::1 is a loopback address'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1 is a loopback address (IPv4-mapped 127.0.0.1)'],
    ['http://[fc00::1]/', 'fc00::1 is a private address'],
    ['http://[fe80::1]/', 'fe80::1 is a link-local address'],
    ['http://[64:ff9b::10.0.0.1]/', '64:ff9b::a00:1 is a private address (NAT64 10.0.0.1)'],
    ['http://10.1.2.3:8080/', '10.1.2.3 is a private address'],
    ['http://100.100.100.200/', '100.100.100.200 is a shared (CGNAT) address'],
    ['http://224.0.0.1/', '224.0.0.1 is a multicast address'],
    ['http://255.255.255.255/', '255.255.255.255 is a reserved address (limited broadcast)'],
  ])('normalises and refuses %s', (url, reason) => {
    expect(hostProblem(url, insecure)).toBe(`${reason}; set allowPrivateNetwork to allow it`);
    expect(hostProblem(url, { allowInsecure: true, allowPrivateNetwork: true })).toBeUndefined();
  });
  it.each([
    ['https://localhost/', /^localhost is a localhost name \(RFC 6761\)/],
    ['https://LOCALHOST./', /^localhost\. is a localhost name/],
    ['https://foo.localhost/', /^foo\.localhost is a localhost name/],
    ['https://intranet/', /^intranet is a single-label name/],
    ['https://intranet./', /^intranet\. is a single-label name/],
    ['https://printer.local/', /multicast DNS/],
    ['https://ip-10-0-0-1.ec2.internal/', /private-use name/],
    ['https://nas.home.arpa/', /home network/],
  ])('refuses the name in %s unless allowPrivateNetwork', (url, reason) => {
    expect(hostProblem(url, secure)).toMatch(reason);
    expect(hostProblem(url, secure)).toMatch(/; set allowPrivateNetwork to allow it$/);
    expect(hostProblem(url, open)).toBeUndefined();
  });
  it('does not mistake names that merely contain those words', () => {
    expect(hostProblem('https://localhost.example.com/', secure)).toBeUndefined();
    expect(hostProblem('https://mylocalhost.com/', secure)).toBeUndefined();
    expect(hostProblem('https://internal.example.com/', secure)).toBeUndefined();
    expect(hostProblem('https://10.0.0.1.nip.io/', secure)).toBeUndefined();
  });
});
