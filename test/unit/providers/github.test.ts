import { createHmac } from 'node:crypto';
import examples from '@octokit/webhooks-examples';
import { verify as octokitVerify, sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { githubAdapter } from '../../../lambdas/ingest/providers/github';
import { expectEnvelopeReady, expectRejected, request, sourceFor, verify } from './helpers';

const SECRET = "It's a Secret to Everybody";
const source = sourceFor('github');

function example(name: string, action?: string): Record<string, unknown> {
  const definition = examples.find((d) => d.name === name);
  const found = definition?.examples.find(
    (e) => action === undefined || (e as { action?: string }).action === action,
  );
  if (!found) throw new Error(`no example ${name}.${action}`);
  return found as unknown as Record<string, unknown>;
}

const ghRequest = (
  body: string,
  signature: string,
  event = 'push',
  delivery = '72d3162e-cc78-11e3-81ab-4c9367dc0958',
) =>
  request({ 'X-Hub-Signature-256': signature, 'X-GitHub-Event': event, 'X-GitHub-Delivery': delivery }, body);

describe('github verify', () => {
  it('accepts the GitHub docs vector', () => {
    const signature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(verify('github', ghRequest('Hello, World!', signature), [SECRET])).toEqual({ ok: true });
    // Upper-case hex spells the same bytes.
    expect(
      verify('github', ghRequest('Hello, World!', `sha256=${signature.slice(7).toUpperCase()}`), [SECRET]).ok,
    ).toBe(true);
  });

  it('accepts what @octokit/webhooks-methods signs, for realistic payloads', async () => {
    const body = JSON.stringify(example('pull_request', 'opened'));
    const signature = await sign('oracle-secret', body);
    expect(await octokitVerify('oracle-secret', body, signature)).toBe(true);
    expect(verify('github', ghRequest(body, signature, 'pull_request'), ['oracle-secret'])).toEqual({
      ok: true,
    });
  });

  it('rejects what the oracle rejects: tampered body, wrong secret', async () => {
    const body = JSON.stringify(example('push'));
    const signature = await sign('oracle-secret', body);
    const tampered = body.replace('Codertocat', 'Codertocats');
    expect(await octokitVerify('oracle-secret', tampered, signature)).toBe(false);
    expectRejected(verify('github', ghRequest(tampered, signature), ['oracle-secret']), ['oracle-secret']);
    expect(await octokitVerify('other-secret', body, signature)).toBe(false);
    expectRejected(verify('github', ghRequest(body, signature), ['other-secret']), ['other-secret']);
  });

  it('hashes the raw bytes, not a re-encoded string', () => {
    const bytes = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"a":"<invalid utf-8>"}
    const signature = `sha256=${createHmac('sha256', SECRET).update(bytes).digest('hex')}`;
    expect(verify('github', { ...ghRequest('', signature), body: bytes }, [SECRET]).ok).toBe(true);
    // The same text re-encoded as UTF-8 (U+FFFD replacements) is different bytes and fails.
    const reencoded = Buffer.from(bytes.toString('utf8'), 'utf8');
    expectRejected(verify('github', { ...ghRequest('', signature), body: reencoded }, [SECRET]));
  });

  it('accepts any of several rotated secrets', async () => {
    const body = '{"zen":"Keep it logically awesome."}';
    const signature = await sign('new-secret', body);
    expect(verify('github', ghRequest(body, signature, 'ping'), ['old-secret', 'new-secret']).ok).toBe(true);
    expect(verify('github', ghRequest(body, signature, 'ping'), ['new-secret', 'old-secret']).ok).toBe(true);
    expectRejected(verify('github', ghRequest(body, signature, 'ping'), ['old-secret', 'older-secret']));
  });

  it('rejects when no usable secret is configured', async () => {
    const signature = await sign('x', 'body');
    expectRejected(verify('github', ghRequest('body', signature), []));
    expectRejected(verify('github', ghRequest('body', signature), ['']));
  });

  it('rejects a comma-joined header even when one value is valid', async () => {
    const body = '{}';
    const signature = await sign(SECRET, body);
    const reason = expectRejected(verify('github', ghRequest(body, `${signature}, ${signature}`), [SECRET]));
    expect(reason).toMatch(/several/);
  });

  it('rejects the legacy sha1 header alone', () => {
    const body = '{}';
    const sha1 = `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`;
    expectRejected(verify('github', request({ 'x-hub-signature': sha1 }, body), [SECRET]));
    expectRejected(verify('github', ghRequest(body, sha1), [SECRET]));
  });
});

describe('github normalise', () => {
  it('types pull_request.opened from a real payload and keeps the delivery id', () => {
    const payload = example('pull_request', 'opened');
    const result = githubAdapter.normalise(ghRequest('', '', 'pull_request', 'd-1'), payload, source);
    expect(result).toEqual({
      type: 'pull_request.opened',
      deliveryId: 'd-1',
      providerTime: null,
      subject: 'Codertocat/Hello-World',
    });
    expectEnvelopeReady(result);
  });

  it('types events without action by the header alone (push, ping)', () => {
    expect(githubAdapter.normalise(ghRequest('', '', 'push'), example('push'), source).type).toBe('push');
    const ping = githubAdapter.normalise(ghRequest('', '', 'ping'), example('ping'), source);
    expect(ping.type).toBe('ping');
    expect(ping.subject).toBe('Octocoders/Hello-World');
  });

  it('falls back to the organization, then the installation account, for the subject', () => {
    const org = githubAdapter.normalise(
      ghRequest('', '', 'organization'),
      example('organization', 'member_added'),
      source,
    );
    expect(org).toMatchObject({ type: 'organization.member_added', subject: 'Octocoders' });
    const inst = githubAdapter.normalise(
      ghRequest('', '', 'installation'),
      example('installation', 'deleted'),
      source,
    );
    expect(inst).toMatchObject({ type: 'installation.deleted', subject: 'octocat' });
  });

  it('normalises every published example into an envelope-ready result', () => {
    let count = 0;
    for (const definition of examples) {
      for (const payload of definition.examples) {
        const result = githubAdapter.normalise(ghRequest('', '', definition.name), payload, source);
        expectEnvelopeReady(result);
        const action = (payload as { action?: unknown }).action;
        expect(result.type).toBe(
          typeof action === 'string' ? `${definition.name}.${action}` : definition.name,
        );
        count++;
      }
    }
    expect(count).toBeGreaterThan(100);
  });

  it('ignores non-string actions and odd bodies', () => {
    const req = ghRequest('', '', 'issues');
    expect(githubAdapter.normalise(req, { action: 42 }, source).type).toBe('issues');
    expect(githubAdapter.normalise(req, null, source)).toMatchObject({ type: 'issues', subject: null });
    expect(githubAdapter.normalise(req, ['a'], source).type).toBe('issues');
    const proto = JSON.parse(
      '{"__proto__":{"full_name":"evil"},"repository":{"__proto__":{"full_name":"x"}}}',
    );
    expect(githubAdapter.normalise(req, proto, source).subject).toBeNull();
    expect(githubAdapter.normalise(request({}, ''), {}, source)).toMatchObject({
      type: 'unknown',
      deliveryId: null,
    });
  });
});
