// The ESM entry exports the same API.
import test from 'node:test';
import assert from 'node:assert';
import leakscope, { expectNoLeak, hunt, findLeaks, summary } from 'leakscope';

test('ESM named and default exports', async () => {
  for (const f of [expectNoLeak, hunt, findLeaks, summary]) assert.strictEqual(typeof f, 'function');
  assert.strictEqual(leakscope.expectNoLeak, expectNoLeak);
  const report = await expectNoLeak(() => JSON.stringify({ a: [1, 2, 3] }), { iterations: 200 });
  assert.ok(Array.isArray(report.findings));
});
