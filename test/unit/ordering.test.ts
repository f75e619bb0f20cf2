/**
 * Ordered delivery: the message group of an event (core/ordering.ts), the config's `ordering`, and the sender that
 * puts published events on the ordered targets' FIFO queues (lambdas/shared/ordered.ts) and its place in publishing
 * (lambdas/shared/publish.ts: FIFO queues first, then the bus).
 */
import { describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { NO_KEY_GROUP, orderingGroup } from '../../core/ordering';
import type { SerializedEvent } from '../../lambdas/shared/event-store';
import { orderedSender } from '../../lambdas/shared/ordered';
import { publishAll } from '../../lambdas/shared/publish';

describe('orderingGroup', () => {
  it('is the value at the key when SQS accepts it as a group id', () => {
    expect(orderingGroup({ subject: 'acme/api' }, 'subject')).toBe('acme/api');
    expect(orderingGroup({ data: { repository: { full_name: 'a/b' } } }, 'data.repository.full_name')).toBe(
      'a/b',
    );
    expect(orderingGroup({ data: { number: 42 } }, 'data.number')).toBe('42');
  });

  it('hashes a value SQS would refuse (space, non-ASCII, over 128 characters), equal values to equal groups', () => {
    for (const value of ['two words', 'café', 'x'.repeat(129)]) {
      const group = orderingGroup({ subject: value }, 'subject');
      expect(group).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(orderingGroup({ subject: value }, 'subject')).toBe(group);
    }
    expect(orderingGroup({ subject: 'two words' }, 'subject')).not.toBe(
      orderingGroup({ subject: 'two  words' }, 'subject'),
    );
    expect(orderingGroup({ subject: 'x'.repeat(128) }, 'subject')).toBe('x'.repeat(128));
  });

  it('puts events without the key in one group', () => {
    expect(orderingGroup({}, 'subject')).toBe(NO_KEY_GROUP);
    expect(orderingGroup({ subject: '' }, 'subject')).toBe(NO_KEY_GROUP);
    expect(orderingGroup({ data: 'text' }, 'data.repository')).toBe(NO_KEY_GROUP);
  });
});

describe('config: ordering', () => {
  const target = (ordering: unknown) => ({
    sources: [{ name: 'github', provider: 'github', secret: { secretName: 's' } }],
    targets: [{ name: 't', kind: 'http', url: 'https://example.com/', filter: { source: ['x'] }, ordering }],
  });

  it('defaults the key to subject', () => {
    expect(parseRouterConfig(target({})).targets[0]!.ordering).toEqual({ key: 'subject' });
  });

  it('refuses a key that is not a dot path, naming the field', () => {
    expect(() => parseRouterConfig(target({ key: 'data..x' }))).toThrow(
      /targets\[0\]\.ordering\.key: must be a dot path into the envelope/,
    );
  });
});

const event = (id: string, subject: string, source = 'github'): SerializedEvent => {
  const envelope = { id, source, type: 'issues.opened', subject, receivedAt: '2026-12-01T12:00:00.000Z' };
  return { envelope, json: JSON.stringify(envelope) } as unknown as SerializedEvent;
};

/** An SQS stand-in: records sends, fails those whose group is in `failGroups`. */
function fakeSqs(failGroups: Set<string> = new Set()) {
  const sent: { queueUrl: string; group: string; dedup: string; body: string }[] = [];
  const sqs = {
    async send(command: { constructor: { name: string }; input: Record<string, string> }) {
      if (command.constructor.name === 'GetQueueUrlCommand')
        return { QueueUrl: `https://sqs.eu-west-1.amazonaws.com/123456789012/${command.input.QueueName}` };
      if (failGroups.has(command.input.MessageGroupId!))
        throw Object.assign(new Error('slow down'), { name: 'Throttling' });
      sent.push({
        queueUrl: command.input.QueueUrl!,
        group: command.input.MessageGroupId!,
        dedup: command.input.MessageDeduplicationId!,
        body: command.input.MessageBody!,
      });
      return {};
    },
  };
  return { sqs: sqs as never, sent };
}

describe('orderedSender', () => {
  const targets = [
    { name: 'by-subject', filter: { source: ['webhook.github'] }, key: 'subject' },
    { name: 'stripe-only', filter: { source: ['webhook.stripe'] }, key: 'subject' },
  ];

  it('is absent without ordered targets', () => {
    expect(
      orderedSender({ targets: [], queuePrefix: undefined, sqs: fakeSqs().sqs, region: 'eu-west-1' }),
    ).toBe(undefined);
  });

  it("sends each event to the matching targets' FIFO queues, grouped by key, deduplicated by event id", async () => {
    const { sqs, sent } = fakeSqs();
    const sender = orderedSender({ targets, queuePrefix: 'Router', sqs, region: 'eu-west-1' })!;
    const notSent = await sender.send([event('E1', 'acme/a'), event('E2', 'acme/b')]);
    expect(notSent.size).toBe(0);
    expect(sent.map((s) => [s.queueUrl.split('/').pop(), s.group, s.dedup])).toEqual([
      ['Router-by-subject.fifo', 'acme/a', 'E1'],
      ['Router-by-subject.fifo', 'acme/b', 'E2'],
    ]);
    // The bus event EventBridge would have written, with the account of the queue.
    const body = JSON.parse(sent[0]!.body);
    expect(body).toMatchObject({
      source: 'webhook.github',
      'detail-type': 'issues.opened',
      account: '123456789012',
    });
    expect(body.detail.id).toBe('E1');
  });

  it('holds the events behind a failed send of the same group, but not other groups', async () => {
    const { sqs, sent } = fakeSqs(new Set(['acme/a']));
    const sender = orderedSender({ targets, queuePrefix: 'Router', sqs, region: 'eu-west-1' })!;
    const notSent = await sender.send([event('E1', 'acme/a'), event('E2', 'acme/b'), event('E3', 'acme/a')]);
    expect([...notSent.keys()]).toEqual(['E1', 'E3']);
    expect(notSent.get('E1')).toMatch(/ordered target by-subject: Throttling: slow down/);
    expect(notSent.get('E3')).toMatch(/waits behind E1/);
    expect(sent.map((s) => s.dedup)).toEqual(['E2']);
  });
});

describe('publishAll with ordered targets', () => {
  const targets = [{ name: 'by-subject', filter: { source: ['webhook.github'] }, key: 'subject' }];
  const bus = () => {
    const put: string[] = [];
    const client = {
      async send(command: { input: { Entries: { Detail: string }[] } }) {
        for (const e of command.input.Entries) put.push(JSON.parse(e.Detail).id);
        return { Entries: command.input.Entries.map((_, i) => ({ EventId: `b${i}` })) };
      },
    };
    return { client: client as never, put };
  };

  it('puts on the bus only what reached the FIFO queues; the rest fails, transient, for the sweeper', async () => {
    const { sqs } = fakeSqs(new Set(['acme/a']));
    const eventBridge = bus();
    const ordered = orderedSender({ targets, queuePrefix: 'Router', sqs, region: 'eu-west-1' })!;
    const outcome = await publishAll({ eventBridge: eventBridge.client, busName: 'b', ordered }, [
      event('E1', 'acme/a'),
      event('E2', 'acme/b'),
    ]);
    expect(eventBridge.put).toEqual(['E2']);
    expect(outcome.published.map((e) => e.envelope.id)).toEqual(['E2']);
    expect(outcome.failed.map((f) => [f.event.envelope.id, f.transient])).toEqual([['E1', true]]);
  });
});
