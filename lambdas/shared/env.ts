import type { z } from 'zod';

/** Reads a required environment variable; throws at module init (fail fast) when it is missing or empty. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`Missing required environment variable ${name}`);
  return value;
}

/** Reads and validates a JSON environment variable with a zod schema. */
export function requireJsonEnv<T extends z.ZodType>(name: string, schema: T): z.infer<T> {
  const raw = requireEnv(name);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`Environment variable ${name} is not valid JSON`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new Error(`Environment variable ${name} is invalid: ${result.error.message}`);
  return result.data;
}

export function requirePositiveIntEnv(name: string): number {
  const value = Number(requireEnv(name));
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`Environment variable ${name} must be a positive integer`);
  return value;
}
