import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type E2E, MATCH_ALL, startE2E } from '../harness';
import { github, providerSources, secretEnv } from '../providers';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E(
    {
      sources: providerSources(),
      targets: [{ name: 'all', kind: 'http', url: 'http://127.0.0.1:9/x', filter: MATCH_ALL }],
    },
    { secretEnv: secretEnv() },
  );
});
afterAll(async () => e2e?.stop());
it('probe', async () => {
  const bad = await e2e.post(
    'github',
    github(Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])),
  );
  console.log('invalid utf8 json', bad.status, bad.text);
  const big = await e2e.post(
    'github',
    github(
      `{"action":"opened","big":123456789012345678901234567890,"id":9007199254740993,"__proto__":{"x":1},"repository":{"full_name":"o/r"}}`,
    ),
  );
  console.log('big', big.status);
  const d = await e2e.waitForDelivery(big.json!.id!);
  console.log('delivered', d.body);
  const large = await e2e.post(
    'github',
    github(`{"action":"opened","big":123456789012345678901234567890,"pad":"${'x'.repeat(120000)}"}`),
  );
  console.log('large', large.status);
  const items = await e2e.events();
  const it2 = items.find((i) => i.id === large.json!.id)!;
  console.log(it2.envelope);
  const d2 = await e2e.waitForDelivery(large.json!.id!);
  console.log('delivered large', d2.body.slice(0, 300), d2.body.includes('123456789012345678901234567890'));
  expect(1).toBe(1);
});
