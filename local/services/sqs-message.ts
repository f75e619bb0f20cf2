/**
 * What SQS checks on a message before it accepts it, and the digests it answers with.
 *
 * - Body: at least one character; only #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF, else
 *   InvalidMessageContents (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
 * - Message attributes: at most 10; name of A-Z a-z 0-9 _ - . up to 256 characters, not starting with `AWS.` or
 *   `Amazon.`, no leading/trailing/double period; type String, Number or Binary with an optional `.label`; a
 *   non-empty value of that type. Name, type and value count towards the message size
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html).
 * - Size: body + attributes ≤ the queue's MaximumMessageSize (at most 1 MiB = 1,048,576 bytes, the 2025 limit;
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
 * - MD5OfMessageAttributes: attributes sorted by name; for each, the 4-byte big-endian length and UTF-8 bytes of the
 *   name, then of the data type, then transport byte 1 (String/Number) + length-prefixed UTF-8 value, or 2 (Binary)
 *   + length-prefixed bytes; MD5 of the whole, hex ("Calculating the MD5 message digest for message attributes",
 *   sqs-message-metadata.html above).
 */
import { createHash } from 'node:crypto';
import { invalidValue, SqsError } from './sqs-errors';

/** A message attribute as the JSON protocol carries it (binary values base64). */
export interface WireAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

export type WireAttributes = Record<string, WireAttribute>;

export const MAX_MESSAGE_BYTES = 1_048_576;

/** Characters SQS accepts in bodies and string attribute values (XML 1.0 Char). */
export function hasOnlyValidCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c <= 0xd7ff) continue;
    if (c === 0x9 || c === 0xa || c === 0xd) continue;
    if (c >= 0xe000 && c <= 0xfffd) continue;
    // A surrogate pair encodes #x10000–#x10FFFF; a lone surrogate is no character at all.
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    return false;
  }
  return true;
}

export function validateBody(body: unknown): string {
  if (body === undefined || body === null || body === '') throw missing('MessageBody');
  if (typeof body !== 'string') throw invalidValue('The message body must be a string.');
  if (!hasOnlyValidCharacters(body))
    throw new SqsError(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    );
  return body;
}

function missing(name: string): SqsError {
  return new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
}

const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\..+)?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Validates user message attributes (or, with `system`, the AWSTraceHeader system attribute) and returns them in a
 * normalised wire form (only DataType and the one value of its kind).
 */
export function validateAttributes(input: unknown, system = false): WireAttributes | undefined {
  if (input === undefined || input === null) return undefined;
  if (typeof input !== 'object' || Array.isArray(input))
    throw invalidValue('Message attributes must be a map.');
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length === 0) return undefined;
  const kind = system ? 'system' : 'user';
  if (!system && entries.length > 10)
    throw invalidValue(`Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`);
  const out: WireAttributes = {};
  for (const [name, raw] of entries) {
    if (system) {
      if (name !== 'AWSTraceHeader')
        throw invalidValue(`Message system attribute name '${name}' is invalid.`);
    } else if (
      !ATTRIBUTE_NAME.test(name) ||
      /^(aws|amazon)\./i.test(name) ||
      name.startsWith('.') ||
      name.endsWith('.') ||
      name.includes('..')
    ) {
      throw invalidValue(`Message (${kind}) attribute name '${name}' is invalid.`);
    }
    const value = (raw ?? {}) as Record<string, unknown>;
    const dataType = value.DataType;
    if (typeof dataType !== 'string' || dataType === '')
      throw invalidValue(
        `The message (${kind}) attribute '${name}' must contain a non-empty attribute type.`,
      );
    const match = DATA_TYPE.exec(dataType);
    if (!match || dataType.length > 256 || !hasOnlyValidCharacters(dataType))
      throw invalidValue(
        `The type of message (${kind}) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
      );
    if (system && dataType !== 'String')
      throw invalidValue(`The type of message (system) attribute '${name}' must be String.`);
    const base = match[1]!;
    if (base === 'Binary') {
      const binary = value.BinaryValue;
      if (typeof binary !== 'string' || binary === '' || !BASE64.test(binary))
        throw invalidValue(
          `The message (${kind}) attribute '${name}' must contain a non-empty value of type 'Binary'.`,
        );
      out[name] = { DataType: dataType, BinaryValue: binary };
      continue;
    }
    const text = value.StringValue;
    if (typeof text !== 'string' || text === '')
      throw invalidValue(
        `The message (${kind}) attribute '${name}' must contain a non-empty value of type '${base}'.`,
      );
    if (!hasOnlyValidCharacters(text))
      throw new SqsError(
        'InvalidMessageContents',
        `Message (${kind}) attribute '${name}' contains invalid characters.`,
      );
    if (base === 'Number' && !isSqsNumber(text))
      throw invalidValue(`Can't cast the value of message (${kind}) attribute '${name}' to a number.`);
    out[name] = { DataType: dataType, StringValue: text };
  }
  return out;
}

/** Number attributes: up to 38 digits of precision, between 10^-128 and 10^+126 (sqs-message-metadata.html). */
function isSqsNumber(text: string): boolean {
  const m = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE][+-]?\d+)?$/.exec(text.trim());
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return false;
  const significant = `${m[1]}${m[2] ?? ''}`.replace(/^0+/, '').replace(/0+$/, '');
  if (significant.length > 38) return false;
  const magnitude = Math.abs(Number(text));
  return magnitude === 0 || (magnitude >= 1e-128 && magnitude <= 1e126);
}

function attributeValueBytes(value: WireAttribute): number {
  return value.BinaryValue !== undefined
    ? Buffer.from(value.BinaryValue, 'base64').length
    : Buffer.byteLength(value.StringValue ?? '');
}

/** Bytes a message counts against MaximumMessageSize: body plus every attribute's name, type and value. */
export function messageSize(body: string, attributes: WireAttributes | undefined): number {
  let size = Buffer.byteLength(body);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType) + attributeValueBytes(value);
  }
  return size;
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

function lengthPrefixed(bytes: Buffer): Buffer[] {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return [length, bytes];
}

/** MD5OfMessageAttributes / MD5OfMessageSystemAttributes as SQS computes them (see the file comment). */
export function md5OfAttributes(attributes: WireAttributes): string {
  const parts: Buffer[] = [];
  for (const name of Object.keys(attributes).sort()) {
    const value = attributes[name]!;
    parts.push(...lengthPrefixed(Buffer.from(name, 'utf8')));
    parts.push(...lengthPrefixed(Buffer.from(value.DataType, 'utf8')));
    if (value.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]), ...lengthPrefixed(Buffer.from(value.BinaryValue, 'base64')));
    } else {
      parts.push(Buffer.from([1]), ...lengthPrefixed(Buffer.from(value.StringValue ?? '', 'utf8')));
    }
  }
  return createHash('md5').update(Buffer.concat(parts)).digest('hex');
}

/** Which of a message's attributes a ReceiveMessage asked for (`All`, `.*`, `prefix.*` or exact names). */
export function selectAttributes(
  attributes: WireAttributes | undefined,
  requested: readonly string[] | undefined,
): WireAttributes | undefined {
  if (!attributes || !requested || requested.length === 0) return undefined;
  const out: WireAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    const wanted = requested.some(
      (r) => r === 'All' || r === '.*' || r === name || (r.endsWith('.*') && name.startsWith(r.slice(0, -1))),
    );
    if (wanted) out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
