/**
 * Builds the preset deflate dictionary of the stored envelope (lambdas/shared/codec.ts, format 2) and prints the
 * module that holds it: `npx tsx bench/make-codec-dictionary.ts > lambdas/shared/codec-dictionary.ts`.
 *
 * Run once: the dictionary is part of the stored format (an envelope stored with it inflates only with the same
 * bytes), so the committed module is frozen — test/unit/codec.test.ts pins its digest — and a different dictionary
 * would be a new format byte, the old one kept readable.
 *
 * What goes in: the structure of the payloads this router mostly stores, never their values. GitHub webhooks from
 * @octokit/webhooks-examples as skeletons (every key in order; URLs as templates with placeholder owners and
 * repositories; other strings, numbers and times blanked), the top-level fields of Stripe's common event objects
 * (from the stripe package's type declarations), and the envelope's own head. No example's names, ids or texts, so
 * the dictionary helps any repository's payloads as much as the examples' (the bench's reference payload is one of
 * them). Deflate looks back at most 32 KB and finds nearby matches cheaper, so the most common structure goes last.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Bytes of dictionary: deflate's cost per call grows with it (it hashes the whole dictionary first) while the gain
 * flattens — for the reference payload 8 KB and 32 KB differ by 2 % in size, and the CPU nearly doubles.
 */
const DICTIONARY_BYTES = 16 * 1024;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as { name: string; examples: Json[] }[];

/** Keys whose string values are a small vocabulary worth keeping (states, kinds). */
const ENUM_KEYS = new Set([
  'action',
  'type',
  'state',
  'status',
  'conclusion',
  'visibility',
  'author_association',
  'user_view_type',
  'merge_state_status',
  'active_lock_reason',
  'role',
  'permission',
  'event',
]);

function urlTemplate(url: string): string {
  return url
    .replace(/^(https:\/\/api\.github\.com\/repos\/)[^/{]+\/[^/{]+/, '$1OWNER/REPO')
    .replace(/^(https:\/\/api\.github\.com\/(?:users|orgs)\/)[^/{]+/, '$1OWNER')
    .replace(/^(https:\/\/github\.com\/)[^/{]+(?:\/[^/{]+)?/, '$1OWNER/REPO')
    .replace(/^(https:\/\/avatars\.githubusercontent\.com\/u\/)\d+\?v=\d+/, '$10?v=4')
    .replace(/\/[0-9a-f]{40}\b/g, '/SHA')
    .replace(/\/\d+(?=\/|$|\{|\?)/g, '/0');
}

/** Key lists of the objects already in the dictionary: one copy of each shape is enough for deflate. */
const shapes = new Set<string>();

/**
 * A payload's structure: keys kept in order, one element per array, values blanked or templated, and an object whose
 * shape is already in the dictionary (a user, a repository) written as `{}`.
 */
function skeleton(value: Json, key = ''): Json {
  if (Array.isArray(value)) return value.slice(0, 1).map((v) => skeleton(v, key));
  if (value !== null && typeof value === 'object') {
    const shape = Object.keys(value).join(',');
    if (Object.keys(value).length > 3 && shapes.has(shape)) return {};
    shapes.add(shape);
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) out[k] = skeleton(v, k);
    return out;
  }
  if (typeof value === 'number') return 0;
  if (typeof value !== 'string') return value;
  if (/^https?:\/\//.test(value)) return urlTemplate(value);
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(value)) return '2000-01-01T00:00:00Z';
  return ENUM_KEYS.has(key) && value.length <= 24 ? value : '';
}

function github(name: string, action?: string): string {
  const group = examples.find((g) => g.name === name);
  const example = group?.examples.find(
    (e) => action === undefined || (e as { action?: string }).action === action,
  );
  if (!example) throw new Error(`no example ${name}.${action}`);
  return JSON.stringify(skeleton(example));
}

/** Top-level fields of a Stripe object, from its type declaration: `{"id":"","object":"<kind>",…}`. */
function stripeObject(file: string, kind: string): string {
  // The package exports no package.json; its main module sits in cjs/.
  const stripeRoot = path.join(path.dirname(require.resolve('stripe')), '..');
  const text = readFileSync(path.join(stripeRoot, 'esm', 'resources', file), 'utf8');
  const start = text.indexOf('export interface ');
  const end = text.indexOf('\n}', start);
  const fields: string[] = [];
  for (const m of text.slice(start, end).matchAll(/^ {4}(\w+)\??: ([^;]+);/gm)) {
    const [, name, type] = m;
    if (name === 'object') fields.push(`"object":"${kind}"`);
    else
      fields.push(
        `"${name}":${/\| null$/.test(type!) ? 'null' : /^number/.test(type!) ? '0' : /^boolean/.test(type!) ? 'false' : /^Stripe\.Metadata|^Metadata/.test(type!) ? '{}' : '""'}`,
      );
  }
  return `{"id":"evt_","object":"event","api_version":"","created":0,"data":{"object":{${fields.join(',')}}},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":""}`;
}

// Most valuable first: skeletons are built in this order (so the first holds each shared shape in full), then laid
// out in reverse, the most valuable last and nearest to the data; what passes DICTIONARY_BYTES is cut from the front.
const byValue = [
  // The envelope's own head (core/contracts.ts), right before its `data`.
  '{"id":"","source":"","provider":"github","type":"","deliveryId":"","providerTime":null,"receivedAt":"2000-01-01T00:00:00.000Z","subject":"","headers":{"user-agent":"GitHub-Hookshot/","x-github-event":"","x-github-hook-id":"","x-github-hook-installation-target-id":"","x-github-hook-installation-target-type":"repository"},"data":',
  github('pull_request', 'closed'),
  stripeObject('PaymentIntents.d.ts', 'payment_intent'),
  stripeObject('Invoices.d.ts', 'invoice'),
  github('issues', 'opened'),
  github('push'),
  github('issue_comment', 'created'),
  github('check_run', 'completed'),
  github('workflow_run', 'completed'),
  github('release', 'published'),
  stripeObject('Charges.d.ts', 'charge'),
  stripeObject('Customers.d.ts', 'customer'),
  stripeObject('Subscriptions.d.ts', 'subscription'),
];
const dictionary = [...byValue].reverse().join('').slice(-DICTIONARY_BYTES);
if (process.env.VERBOSE) for (const p of byValue) process.stderr.write(`${p.length} ${p.slice(0, 60)}\n`);

process.stdout.write(`/**
 * The preset deflate dictionary of stored envelopes, format 2 (codec.ts): GitHub and Stripe payload structure,
 * no values. Generated by bench/make-codec-dictionary.ts and frozen — envelopes stored with it inflate only with these
 * exact bytes (test/unit/codec.test.ts pins the digest). A new dictionary is a new format byte, this one kept.
 */
export const DICTIONARY_V1 = ${JSON.stringify(dictionary)};
`);
