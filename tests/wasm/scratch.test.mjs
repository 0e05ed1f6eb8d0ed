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

// Handlers with an event filter on the WASM build: exactly the named events, with the payload text
// an unfiltered handler gets; events are taken only when the engine's counter says so, also after
// the memory grew (a view over the old buffer reads as empty); an unknown name is refused.
test('a filtered handler gets exactly its events, with the unfiltered payloads', async () => {
  const run = async (events) => {
    const p = await Limitr.new(doc, 'json', { now: () => 1767225600000 });
    const got = [];
    const seen = [];
    p.addHandlerSync('all', (k, v) => void got.push([k, v]));
    p.addHandlerSync('limit', (k, v) => void seen.push([k, v]), { events });
    p.createCustomerSync('a');
    for (let i = 0; i < 6; i++) p.allowSync('a', 'chat', 30);
    // grow the memory (many customers), then keep metering
    for (let i = 0; i < 20_000; i++) p.createCustomerSync(`c${i}`);
    p.allowSync('a', 'chat', 1);
    p.allowSync('a', 'chat', 500);
    return [got, seen];
  };
  const [all, limit] = await run(['meter-limit']);
  const want = all.filter(([k]) => k === 'meter-limit');
  assert.ok(want.length >= 2);
  assert.deepEqual(limit, want);
  const [, changed] = await run(['meter-changed']);
  assert.deepEqual(changed, all.filter(([k]) => k === 'meter-changed'));
  const p = await Limitr.new(doc);
  const err = thrown(() => p.addHandlerSync('h', () => {}, { events: ['meter-limt'] }));
  assert.ok(err instanceof LimitrError);
  assert.equal(err.code, 'INVALID_ARGUMENT');
  assert.match(err.message, /events\[0\]: unknown event "meter-limt"/);
});

test('lone surrogates are INVALID_ARGUMENT on every path, and U+FFFD stays its own id', async () => {
  const p = await Limitr.new(doc, 'json');
  await p.createCustomer('\ufffd');
  for (const id of ['\ud800', 'a\udfff', '\udc00x']) {
    for (const f of [
      () => p.createCustomerSync(id),
      () => p.allowSync(id, 'chat', 1),
      () => p.allowSync('\ufffd', id, 1),
      () => p.checkSync(id, 'chat', 1),
      () => p.valueSync(id, 'chat'),
      () => p.allowSync(id, 'chat', 1, { note: 'x' }),
    ]) {
      const e = thrown(f);
      assert.ok(e instanceof LimitrError, String(e));
      assert.equal(e.code, 'INVALID_ARGUMENT', e.message);
      assert.match(e.message, /lone surrogate/);
    }
  }
  assert.equal(p.valueSync('\ufffd', 'chat'), 0);
  assert.equal(p.allowSync('\ufffd', 'chat', 2), true);
  assert.equal(p.valueSync('\ufffd', 'chat'), 2);
});
