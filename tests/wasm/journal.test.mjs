// The WASM build has no filesystem: a journal option is refused with an error that says so, and
// the other load options still work. Node (`node --test`) and Bun (`bun test`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Limitr } from '../../npm/dist/wasm/node.js';

const doc = {
  policy: {
    credits: { tok: { stof_units: 'int' } },
    plans: { free: { default: true, entitlements: { chat: { limit: { credit: 'tok', value: 100 } } } } },
  },
};

test('the WASM build refuses a journal, naming why', async () => {
  await assert.rejects(Limitr.new(doc, 'json', { journal: './limitr-state' }), (e) => {
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(e.message, /^journal: durable state needs a filesystem/);
    return true;
  });
  await assert.rejects(Limitr.new(doc, 'json', { sync: 'os' }), (e) => e.code === 'INVALID_ARGUMENT');
});

test('maxDocumentBytes applies on the WASM build', async () => {
  const text = JSON.stringify(doc);
  await assert.rejects(Limitr.new(text, 'json', { maxDocumentBytes: 10 }), (e) => e.code === 'DOCUMENT_TOO_LARGE');
  const p = await Limitr.new(text, 'json', { maxDocumentBytes: text.length });
  await p.createCustomer('ada');
  assert.equal(await p.allow('ada', 'chat', 60), true);
});
