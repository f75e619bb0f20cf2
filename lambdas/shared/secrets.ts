import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Seconds a fetched secret is reused before it is fetched again (rotation takes effect within this time). */
export const SECRET_CACHE_SECONDS = 300;

export type SecretReader = (secretId: string) => Promise<string[]>;

/**
 * Parses a secret value: one secret, or a JSON array of secrets that are all active (rotation: new first, old
 * kept until every sender has switched).
 */
export function parseSecretValue(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (
        Array.isArray(parsed) &&
        parsed.length > 0 &&
        parsed.every((s) => typeof s === 'string' && s !== '')
      ) {
        return parsed as string[];
      }
    } catch {
      // Not JSON: a secret that happens to start with "[" is used as it is.
    }
  }
  if (trimmed === '') throw new Error('secret value is empty');
  return [trimmed];
}

/**
 * Secret reader backed by Secrets Manager: each secret is fetched once per SECRET_CACHE_SECONDS, concurrent reads of
 * one secret share one fetch, and a failed fetch is not cached. `client` is usually a lazyClient (../clients): the
 * Secrets Manager client and its command load with the first read, not at init.
 */
export function createSecretReader(
  client: Pick<SecretsManagerClient, 'send'>,
  now: () => number = Date.now,
): SecretReader {
  const cache = new Map<string, { readonly until: number; readonly value: Promise<string[]> }>();
  return (secretId) => {
    const cached = cache.get(secretId);
    if (cached && cached.until > now()) return cached.value;
    const value = (async () => {
      const { GetSecretValueCommand } = await import('./aws/secrets-manager');
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (typeof out.SecretString !== 'string') throw new Error('secret has no string value');
      return parseSecretValue(out.SecretString);
    })();
    const entry = { until: now() + SECRET_CACHE_SECONDS * 1000, value };
    cache.set(secretId, entry);
    value.catch(() => {
      if (cache.get(secretId) === entry) cache.delete(secretId);
    });
    return value;
  };
}
