/**
 * The client SDK as published (`npm run build:client`): one ESM file for browsers and Node, with no AWS SDK and no
 * Node built-in (the WebSocket is the platform's, or one passed in).
 */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('client SDK bundle', () => {
  it('bundles for a neutral platform without the AWS SDK or Node built-ins', async () => {
    const result = await build({
      entryPoints: ['client/index.ts'],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((i) => i.includes('node_modules'))).toEqual([]);
    const text = result.outputFiles[0]?.text ?? '';
    expect(text).not.toMatch(/@aws-sdk|from ["']node:|require\(/);
    expect(text).toMatch(/export\s*\{[^}]*connectLive/);
  });
});
