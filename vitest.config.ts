import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // CDK synth with esbuild bundling is CPU-heavy; two workers match the 2-core CI machine.
    pool: 'forks',
    maxWorkers: 2,
    allowOnly: false,
    // SDK v3 warns on every client in Node 20 that later releases need Node 22; the product targets 22+.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
