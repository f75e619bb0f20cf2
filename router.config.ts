/**
 * Example router config: one GitHub source and one HTTP target that wants pull request events.
 * Edit this file to add sources and targets; `cdk deploy` and `npm start` both read it.
 */
import { defineRouterConfig } from './core/config';

export default defineRouterConfig({
  sources: [
    {
      name: 'github',
      provider: 'github',
      // Secrets Manager secret holding the webhook secret you set in GitHub (create it before deploying).
      secret: { secretName: 'event-router/github-webhook-secret' },
      maxBodyBytes: 4 * 1024 * 1024,
    },
  ],
  targets: [
    {
      name: 'pr-agent',
      kind: 'http',
      url: 'https://agent.example.com/webhooks',
      filter: { source: ['webhook.github'], 'detail-type': [{ prefix: 'pull_request.' }] },
      retry: { maxAttempts: 5 },
      batchSize: 10,
      concurrency: 5,
    },
  ],
});
