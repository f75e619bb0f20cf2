/**
 * The checksums S3 supports for data integrity — CRC-64/NVME (its default), CRC-32, CRC-32C, SHA-1, SHA-256 —
 * each as the base64 of its big-endian digest, the form of the `x-amz-checksum-<algorithm>` headers
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
 */
import { createHash } from 'node:crypto';

export const CHECKSUM_ALGORITHMS = ['CRC64NVME', 'CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** Digest sizes in bytes (a header value of another length is malformed). */
export const CHECKSUM_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = {
  CRC64NVME: 8,
  CRC32: 4,
  CRC32C: 4,
  SHA1: 20,
  SHA256: 32,
};

export function checksumHeader(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

export function parseChecksumAlgorithm(value: string): ChecksumAlgorithm | undefined {
  const upper = value.toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(upper)
    ? (upper as ChecksumAlgorithm)
    : undefined;
}

/** Reflected CRC-32 table for a (reflected) polynomial. */
function crc32Table(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? poly ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32 (ISO-HDLC, as zlib) and CRC-32C (Castagnoli). */
const CRC32_TABLE = crc32Table(0xedb88320);
const CRC32C_TABLE = crc32Table(0x82f63b78);

function crc32With(table: Uint32Array, data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** CRC-64/NVME: reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all ones. */
const CRC64_TABLE = (() => {
  const poly = 0x9a6c9329ac4bc9b5n;
  const table = new BigUint64Array(256);
  for (let n = 0n; n < 256n; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1n ? poly ^ (c >> 1n) : c >> 1n;
    table[Number(n)] = c;
  }
  return table;
})();

/** Same table split into 32-bit halves: the inner loop stays on numbers (BigInt per byte is slow). */
const CRC64_HI = new Uint32Array(256);
const CRC64_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  CRC64_HI[i] = Number(CRC64_TABLE[i]! >> 32n);
  CRC64_LO[i] = Number(CRC64_TABLE[i]! & 0xffffffffn);
}

function crc64nvme(data: Uint8Array): Buffer {
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    const index = (lo ^ data[i]!) & 0xff;
    // (crc >> 8) ^ table[index], on the two halves
    const shiftedLo = ((lo >>> 8) | ((hi & 0xff) << 24)) >>> 0;
    const shiftedHi = hi >>> 8;
    lo = (shiftedLo ^ CRC64_LO[index]!) >>> 0;
    hi = (shiftedHi ^ CRC64_HI[index]!) >>> 0;
  }
  const out = Buffer.alloc(8);
  out.writeUInt32BE((hi ^ 0xffffffff) >>> 0, 0);
  out.writeUInt32BE((lo ^ 0xffffffff) >>> 0, 4);
  return out;
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** The base64 checksum of `data` with `algorithm`. */
export function checksum(algorithm: ChecksumAlgorithm, data: Uint8Array): string {
  switch (algorithm) {
    case 'CRC32':
      return uint32(crc32With(CRC32_TABLE, data)).toString('base64');
    case 'CRC32C':
      return uint32(crc32With(CRC32C_TABLE, data)).toString('base64');
    case 'CRC64NVME':
      return crc64nvme(data).toString('base64');
    case 'SHA1':
      return createHash('sha1').update(data).digest('base64');
    case 'SHA256':
      return createHash('sha256').update(data).digest('base64');
  }
}

/** Whether a header value is a well-formed digest for the algorithm (base64 of the right length). */
export function isWellFormedChecksum(algorithm: ChecksumAlgorithm, value: string): boolean {
  return (
    /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === CHECKSUM_BYTES[algorithm]
  );
}
