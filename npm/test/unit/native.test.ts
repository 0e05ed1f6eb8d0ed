// The addon's raw hot-loop callbacks (`allowPlain`, `checkPlain`, bindings/node/src/fast.rs):
// same answers as the napi-rs `allow`/`check`, same error mapping, no crash on bad arguments.
// Run by Node and by Bun (both load the same napi addon).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const require_ = createRequire(__filename);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const addon: any = require_(join(ROOT, 'npm/native/index.js'));
const QS = readFileSync(join(ROOT, 'tests/policies/quickstart.json'), 'utf-8');

function thrown(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    const err = e as { code: string; message: string };
    assert.ok(e instanceof Error, 'an Error object');
    return { code: err.code, message: JSON.parse(err.message).message };
  }
  assert.fail('expected a throw');
}

test('allowPlain and checkPlain answer like allow and check and meter the same state', () => {
  const h = addon.load(QS, 'json');
  addon.setNow(h, 1767225600000);
  addon.createCustomer(h, 'u', 'starter', null);
  // starter: hard 500,000 input tokens a day
  assert.equal(addon.allowPlain(h, 'u', 'ai-chat-input', 200000, false), true);
  assert.equal(addon.allow(h, 'u', 'ai-chat-input', 200000, false), true);
  assert.equal(addon.value(h, 'u', 'ai-chat-input', false, true), 400000);
  assert.equal(addon.checkPlain(h, 'u', 'ai-chat-input', 100000), true);
  assert.equal(addon.checkPlain(h, 'u', 'ai-chat-input', 100001), false);
  assert.equal(addon.check(h, 'u', 'ai-chat-input', 100001), false);
  assert.equal(addon.allowPlain(h, 'u', 'ai-chat-input', 100001, false), false);
  assert.equal(addon.allowPlain(h, 'u', 'ai-chat-input', 100000, true), true);
  assert.equal(addon.value(h, 'u', 'ai-chat-input', false, true), 500000);
  // int units truncate per call, as the full path does
  addon.createCustomer(h, 'v', 'starter', null);
  assert.equal(addon.allowPlain(h, 'v', 'ai-chat-input', 2.9, false), true);
  assert.equal(addon.value(h, 'v', 'ai-chat-input', false, true), 2);
  // unknown customer or entitlement: false, no error
  assert.equal(addon.allowPlain(h, 'nobody', 'ai-chat-input', 1, false), false);
  assert.equal(addon.checkPlain(h, 'u', 'nothing', 1), false);
  addon.free(h);
});

test('bad arguments to the raw callbacks are INVALID_ARGUMENT errors naming the argument', () => {
  const h = addon.load(QS, 'json');
  addon.createCustomer(h, 'u', 'starter', null);
  const cases: [() => unknown, string][] = [
    [() => addon.allowPlain(h, 5, 'ai-chat-input', 1, true), 'customer'],
    [() => addon.allowPlain(h, 'u', null, 1, true), 'entitlement'],
    [() => addon.allowPlain(h, 'u', 'ai-chat-input', '1', true), 'value'],
    [() => addon.allowPlain(h, 'u', 'ai-chat-input', NaN, true), 'value'],
    [() => addon.allowPlain(h, 'u', 'ai-chat-input', Infinity, true), 'value'],
    [() => addon.allowPlain(h, 'u', 'ai-chat-input', 1, 'yes'), 'events'],
    [() => addon.allowPlain(h, 'u', 'ai-chat-input'), 'value'],
    [() => addon.allowPlain('h', 'u', 'ai-chat-input', 1, true), 'handle'],
    [() => addon.allowPlain(h, '', 'ai-chat-input', 1, true), 'customer'],
    [() => addon.allowPlain(h, 'u', 'ai-chat-input', 1e21, true), 'value'],
    [() => addon.checkPlain(h, 'u', 'ai-chat-input', {}), 'value'],
    [() => addon.checkPlain(h, 'u', 'ai-chat-input'), 'value'],
    [() => addon.checkPlain(h, [], 'ai-chat-input', 1), 'customer'],
  ];
  for (const [f, arg] of cases) {
    const e = thrown(f);
    assert.equal(e.code, 'INVALID_ARGUMENT', `${f}: ${e.message}`);
    assert.ok(e.message.includes(arg), `${f}: "${e.message}" names ${arg}`);
  }
  // nothing was metered by the refused calls
  assert.equal(addon.value(h, 'u', 'ai-chat-input', false, true), 0);
  // a long id (past the inline buffer) works too
  const long = 'x'.repeat(300);
  addon.createCustomer(h, long, 'starter', null);
  assert.equal(addon.allowPlain(h, long, 'ai-chat-input', 3, false), true);
  assert.equal(addon.value(h, long, 'ai-chat-input', false, true), 3);
  addon.free(h);
  assert.equal(thrown(() => addon.allowPlain(h, 'u', 'ai-chat-input', 1, true)).code, 'INVALID_ARGUMENT');
  assert.equal(thrown(() => addon.checkPlain(h, 'u', 'ai-chat-input', 1)).code, 'INVALID_ARGUMENT');
});
