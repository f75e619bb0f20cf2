/**
 * Ordered delivery per key (a target's `ordering`): which SQS FIFO message group an event belongs to.
 *
 * SQS allows a MessageGroupId of 1-128 characters, each alphanumeric or punctuation (`!"#$%&'()*+,-./:;<=>?@[\]^_`
 * `{|}~`) — https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html. A key value
 * that fits is the group itself (readable in the console); any other (spaces, non-ASCII, too long) becomes
 * `sha256:<hex>` of it, so that equal values still share a group. Events without the key share NO_KEY_GROUP.
 */
import { createHash } from 'node:crypto';

/** The group of the events that have no value at the key. */
export const NO_KEY_GROUP = '(none)';

const GROUP_ID = /^[\x21-\x7e]{1,128}$/;

/** The value at a dot path (`subject`, `data.repository.full_name`), or undefined. */
export function valueAt(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** The FIFO message group of an envelope for an ordering key. */
export function orderingGroup(envelope: unknown, key: string): string {
  const value = valueAt(envelope, key);
  if (value === undefined || value === null || value === '') return NO_KEY_GROUP;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return GROUP_ID.test(text) ? text : `sha256:${createHash('sha256').update(text).digest('hex')}`;
}
