/** Reads a required environment variable; throws at module init (fail fast) when it is missing or empty. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`Missing required environment variable ${name}`);
  return value;
}

export function requirePositiveIntEnv(name: string): number {
  const value = Number(requireEnv(name));
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`Environment variable ${name} must be a positive integer`);
  return value;
}
