import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
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

/** Secret reader backed by Secrets Manager through Powertools' cached provider. */
export function createSecretReader(client: SecretsManagerClient): SecretReader {
  const provider = new SecretsProvider({ awsSdkV3Client: client });
  return async (secretId) => {
    const value = await provider.get(secretId, { maxAge: SECRET_CACHE_SECONDS });
    if (typeof value !== 'string') throw new Error('secret has no string value');
    return parseSecretValue(value);
  };
}
