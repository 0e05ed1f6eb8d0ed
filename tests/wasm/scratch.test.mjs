// The WASM build's scratch-buffer calls (`allowScratch`/`checkScratch`, used by `allow` without
// options and `check` for ASCII ids that fit): same answers and errors as the generated calls, and
// the generated calls still serve long or non-ASCII text. Node (`node --test`) and Bun (`bun test`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Limitr, LimitrError } from '../../npm/dist/wasm/node.js';

const doc = {
  policy: {
    credits: { tok: { stof_units: 'int' } },
    plans: { free: { default: true, entitlements: { chat: { limit: { credit: 'tok', value: 100 } } } } },
  },
};

function thrown(f) {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail('expected a throw');
}

test('ids through the scratch buffer and through the generated glue meter the same meters', async () => {
  const p = await Limitr.new(doc, 'json');
  const ids = ['ascii_user', 'üser-ünïcode', 'x'.repeat(600), '用户', ''.padEnd(511, 'y')];
  for (const id of ids) {
    await p.createCustomer(id);
    assert.equal(p.allowSync(id, 'chat', 40), true, id.slice(0, 20));
    assert.equal(p.checkSync(id, 'chat', 60), true);
    assert.equal(p.checkSync(id, 'chat', 61), false);
    assert.equal(p.allowSync(id, 'chat', 61), false);
    assert.equal(p.allowSync(id, 'chat', 2.9), true); // int units: 2
    assert.equal(p.valueSync(id, 'chat'), 42, id.slice(0, 20));
  }
  // one id's meter is its own: the scratch buffer does not leak one call's text into the next
  assert.equal(p.allowSync('ascii_user', 'chat', 58), true);
  assert.equal(p.valueSync('ascii_user', 'chat'), 100);
  assert.equal(p.valueSync('üser-ünïcode', 'chat'), 42);
  assert.equal(p.allowSync('nobody', 'chat', 1), false);
  assert.equal(p.allowSync('ascii_user', 'nothing', 1), false);
});

test('the scratch calls keep working after linear memory grows', async () => {
  const p = await Limitr.new(doc, 'json');
  await p.createCustomer('first');
  assert.equal(p.allowSync('first', 'chat', 5), true);
  // thousands of customers grow the instance's memory (detaching the old buffer)
  for (let i = 0; i < 20000; i++) p.createCustomerSync(`filler_${i}_${'z'.repeat(40)}`);
  assert.equal(p.allowSync('first', 'chat', 6), true);
  assert.equal(p.checkSync('filler_19999_' + 'z'.repeat(40), 'chat', 100), true);
  assert.equal(p.allowSync('filler_19999_' + 'z'.repeat(40), 'chat', 7), true);
  assert.equal(p.valueSync('first', 'chat'), 11);
  assert.equal(p.valueSync('filler_19999_' + 'z'.repeat(40), 'chat'), 7);
});

test('errors from the scratch calls are the same LimitrErrors, and change nothing', async () => {
  const p = await Limitr.new(doc, 'json');
  await p.createCustomer('u');
  for (const f of [
    () => p.allowSync('u', 'chat', NaN),
    () => p.allowSync('u', 'chat', Infinity),
    () => p.allowSync('u', 'chat', 1e21),
    () => p.allowSync('', 'chat', 1),
    () => p.checkSync('u', 'chat', NaN),
    () => p.checkSync('', 'chat', 1),
  ]) {
    const e = thrown(f);
    assert.ok(e instanceof LimitrError, String(e));
    assert.equal(e.code, 'INVALID_ARGUMENT', e.message);
  }
  assert.equal(p.valueSync('u', 'chat'), 0);
  // after an error the next call answers normally (no stale error)
  assert.equal(p.allowSync('u', 'chat', 1), true);
  assert.equal(await p.allow('u', 'chat', 1), true);
  assert.equal(p.valueSync('u', 'chat'), 2);
});
