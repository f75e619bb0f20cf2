/** Secrets Manager, loaded with `import()` on the first secret read (then cached): see ../secrets. */
export { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
