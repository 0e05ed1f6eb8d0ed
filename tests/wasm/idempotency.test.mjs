// Idempotency keys on the WASM build: the same face and core as native, so a retry with a key
// answers its first answer and changes nothing; the same key with other arguments is
// IDEMPOTENCY_CONFLICT. Node (`node --test`) and Bun (`bun test`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Limitr } from '../../npm/dist/wasm/node.js';

const doc = {
  policy: {
    credits: { tok: { stof_units: 'int' } },
    plans: {
      free: {
        default: true,
        entitlements: { chat: { limit: { credit: 'tok', value: 100, increment: 2 } } },
        topups: { more: { credit: 'tok', value: 10 } },
      },
    },
  },
};

test('keyed retries change nothing on the WASM build', async () => {
  const p = await Limitr.new(doc, 'json', { now: () => 1767225600000 });
  const events = [];
  p.addHandler('log', (key) => events.push(key));
  await p.createCustomer('ada', undefined, undefined, undefined, null, null, null, { idempotencyKey: 'c' });
  assert.equal(await p.allow('ada', 'chat', 60, true, undefined, { idempotencyKey: 'a' }), true);
  const fired = events.length;
  assert.equal(await p.allow('ada', 'chat', 60, true, undefined, { idempotencyKey: 'a' }), true);
  assert.equal(events.length, fired);
  assert.equal(await p.increment('ada', 'chat', true, { idempotencyKey: 'i' }), true);
  assert.equal(await p.increment('ada', 'chat', true, { idempotencyKey: 'i' }), true);
  assert.equal(await p.set('ada', 'chat', 70, true, { idempotencyKey: 's' }), true);
  assert.equal(await p.set('ada', 'chat', 70, true, { idempotencyKey: 's' }), true);
  assert.equal(await p.value('ada', 'chat'), 70);
  const hold = await p.reserve('ada', 'chat', { value: 5, idempotencyKey: 'r' });
  assert.equal(await p.reserve('ada', 'chat', { value: 5, idempotencyKey: 'r' }), hold);
  assert.equal(await p.held('ada', 'chat'), 5);
  assert.equal(await p.settle('ada', 'chat', hold, 4, true, undefined, { idempotencyKey: 'st' }), true);
  assert.equal(await p.settle('ada', 'chat', hold, 4, true, undefined, { idempotencyKey: 'st' }), true);
  assert.equal(await p.value('ada', 'chat'), 74);
  const h2 = await p.reserve('ada', 'chat', { value: 1 });
  assert.equal(await p.release('ada', 'chat', h2, { idempotencyKey: 'x' }), true);
  assert.equal(await p.release('ada', 'chat', h2, { idempotencyKey: 'x' }), true);
  await assert.rejects(p.allow('ada', 'chat', 1, true, undefined, { idempotencyKey: 'a' }), (e) => e.code === 'IDEMPOTENCY_CONFLICT');
  await assert.rejects(p.allow('ada', 'chat', 1, true, undefined, { idempotencyKey: '' }), (e) => e.code === 'INVALID_ARGUMENT');
  assert.equal(await p.value('ada', 'chat'), 74);
});
