/**
 * A correctly signed sample GitHub `pull_request.opened` webhook (payload from @octokit/webhooks-examples), as a
 * request for tests and as a ready-to-paste `curl` for `npm start`.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { REPO_ROOT } from '../lib/bundling';

interface ExampleGroup {
  readonly name: string;
  readonly examples: readonly Record<string, unknown>[];
}

/** An example payload of a GitHub event (and action), from @octokit/webhooks-examples. */
export function githubExample(event: string, action?: string): Record<string, unknown> {
  const groups = createRequire(import.meta.url)('@octokit/webhooks-examples') as readonly ExampleGroup[];
  const group = groups.find((g) => g.name === event);
  const example = group?.examples.find((e) => action === undefined || e.action === action);
  if (!example)
    throw new Error(`no @octokit/webhooks-examples payload for ${event}${action ? `.${action}` : ''}`);
  return example;
}

export interface SignedRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** GitHub's headers for `body`, signed with `secret` (`X-Hub-Signature-256`). */
export function signGithubWebhook(
  secret: string,
  event: string,
  body: string,
  deliveryId: string = randomUUID(),
): SignedRequest {
  const signature = createHmac('sha256', secret).update(body).digest('hex');
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/local',
      'x-github-event': event,
      'x-github-delivery': deliveryId,
      'x-github-hook-id': '1',
      'x-hub-signature-256': `sha256=${signature}`,
    },
  };
}

export function samplePullRequestOpened(secret: string, deliveryId?: string): SignedRequest {
  return signGithubWebhook(
    secret,
    'pull_request',
    JSON.stringify(githubExample('pull_request', 'opened')),
    deliveryId,
  );
}

const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/** Writes the sample body to a temp file and returns a `curl` that posts it with valid headers. */
export function sampleCurl(webhookUrl: string, secret: string): { command: string; bodyFile: string } {
  const sample = samplePullRequestOpened(secret);
  // One file, rewritten at each start (nothing piles up in the system's temporary folder).
  const dir = path.join(REPO_ROOT, 'node_modules', '.cache', 'event-router', 'samples');
  mkdirSync(dir, { recursive: true });
  const bodyFile = path.join(dir, 'github-pull_request.opened.json');
  writeFileSync(bodyFile, sample.body);
  const headers = Object.entries(sample.headers)
    .map(([name, value]) => `-H ${shellQuote(`${name}: ${value}`)}`)
    .join(' \\\n  ');
  return {
    bodyFile,
    command: `curl -i -X POST ${shellQuote(webhookUrl)} \\\n  ${headers} \\\n  --data-binary @${shellQuote(bodyFile)}`,
  };
}
