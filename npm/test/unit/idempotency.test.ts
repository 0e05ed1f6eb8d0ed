// Idempotency keys through the npm package: on every mutating call, a retry with the same key
// answers the first answer, changes nothing and fires no event; the same key with other arguments
// is IDEMPOTENCY_CONFLICT; a misspelt option is refused. Run by Node and by Bun.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Limitr, LimitrError } from '@formata/limitr';

const ROOT = resolve(__dirname, '../../..');
const QS = readFileSync(join(ROOT, 'tests/policies/quickstart.json'), 'utf-8');
const T0 = 1767225600000;

async function engine(): Promise<{ p: Limitr; events: string[] }> {
  const p = await Limitr.new(QS, 'json', { now: () => T0 });
  const events: string[] = [];
  p.addHandler('log', (key) => {
    events.push(key);
  });
  await p.createCustomer('u', 'starter');
  await p.createCustomer('g', 'growth');
  events.length = 0;
  return { p, events };
}

async function conflict(call: Promise<unknown>): Promise<void> {
  await assert.rejects(call, (e: unknown) => {
    assert.ok(e instanceof LimitrError, String(e));
    assert.equal(e.code, 'IDEMPOTENCY_CONFLICT', e.message);
    return true;
  });
}

test('allow, increment, decrement and set: a retry changes nothing and fires nothing', async () => {
  const { p, events } = await engine();
  const k = { idempotencyKey: 'req-1' };
  assert.equal(await p.allow('u', 'ai-chat-input', 100, true, undefined, k), true);
  const fired = events.length;
  assert.ok(fired > 0);
  assert.equal(await p.allow('u', 'ai-chat-input', 100, true, undefined, k), true);
  assert.equal(await p.value('u', 'ai-chat-input'), 100);
  assert.equal(events.length, fired, 'a retry fires no event');
  await conflict(p.allow('u', 'ai-chat-input', 101, true, undefined, k));
  await conflict(p.allow('u', 'ai-chat-output', 100, true, undefined, k));
  // a denial is an answer too: its retry is denied again, even after room was made
  assert.equal(await p.allow('u', 'ai-chat-input', 500000, true, undefined, { idempotencyKey: 'big' }), false);
  await p.set('u', 'ai-chat-input', 0, true, { idempotencyKey: 'reset' });
  assert.equal(await p.allow('u', 'ai-chat-input', 500000, true, undefined, { idempotencyKey: 'big' }), false);
  assert.equal(await p.value('u', 'ai-chat-input'), 0);
  // the sync twins take the same options
  assert.equal(p.incrementSync('u', 'ai-chat-input', true, { idempotencyKey: 'inc' }), true);
  assert.equal(p.incrementSync('u', 'ai-chat-input', true, { idempotencyKey: 'inc' }), true);
  assert.equal(await p.value('u', 'ai-chat-input'), 1);
  assert.equal(await p.decrement('u', 'ai-chat-input', true, { idempotencyKey: 'dec' }), true);
  assert.equal(await p.decrement('u', 'ai-chat-input', true, { idempotencyKey: 'dec' }), true);
  assert.equal(await p.value('u', 'ai-chat-input'), 0);
  assert.equal(await p.set('u', 'ai-chat-input', 40, true, { idempotencyKey: 'set' }), true);
  await p.allow('u', 'ai-chat-input', 10);
  assert.equal(await p.set('u', 'ai-chat-input', 40, true, { idempotencyKey: 'set' }), true);
  assert.equal(await p.value('u', 'ai-chat-input'), 50, 'the retried set did not move the meter back');
  await conflict(p.set('u', 'ai-chat-input', 41, true, { idempotencyKey: 'set' }));
  // keys are per customer: another customer's `req-1` is its own
  assert.equal(await p.allow('g', 'ai-chat-input', 7, true, undefined, k), true);
  assert.equal(await p.value('g', 'ai-chat-input'), 7);
});

test('reserve, settle and release: retries hold, meter and drop once', async () => {
  const { p } = await engine();
  const hold = await p.reserve('u', 'ai-chat-input', { value: 1000, idempotencyKey: 'r1' });
  assert.ok(hold);
  assert.equal(await p.reserve('u', 'ai-chat-input', { value: 1000, idempotencyKey: 'r1' }), hold);
  assert.equal(await p.held('u', 'ai-chat-input'), 1000);
  await conflict(p.reserve('u', 'ai-chat-input', { value: 999, idempotencyKey: 'r1' }));
  assert.equal(await p.settle('u', 'ai-chat-input', hold!, 800, true, undefined, { idempotencyKey: 's1' }), true);
  assert.equal(await p.settle('u', 'ai-chat-input', hold!, 800, true, undefined, { idempotencyKey: 's1' }), true);
  assert.equal(await p.value('u', 'ai-chat-input'), 800);
  await conflict(p.settle('u', 'ai-chat-input', hold!, 801, true, undefined, { idempotencyKey: 's1' }));
  const h2 = p.reserveSync('u', 'ai-chat-input', { value: 10, idempotencyKey: 'r2' })!;
  assert.equal(await p.release('u', 'ai-chat-input', h2, { idempotencyKey: 'x1' }), true);
  assert.equal(await p.release('u', 'ai-chat-input', h2, { idempotencyKey: 'x1' }), true, 'the first answer');
  assert.equal(await p.release('u', 'ai-chat-input', h2), false, 'without a key: the hold is gone');
  assert.equal(await p.held('u', 'ai-chat-input'), 0);
});

test('applyCustomerTopup and createCustomer: a retry grants and creates once', async () => {
  const { p, events } = await engine();
  assert.equal(await p.applyCustomerTopup('g', 'ai-token-small', { idempotencyKey: 't1' }), true);
  assert.equal(await p.applyCustomerTopup('g', 'ai-token-small', { idempotencyKey: 't1' }), true);
  assert.equal(Object.keys((await p.customer('g'))!.grants).length, 1);
  const first = await p.createCustomer('n', 'growth', undefined, undefined, null, null, null, { idempotencyKey: 'c1' });
  await p.allow('n', 'ai-chat-input', 5);
  events.length = 0;
  const again = await p.createCustomer('n', 'growth', undefined, undefined, null, null, null, { idempotencyKey: 'c1' });
  assert.deepEqual(again, first, 'the first answer, not the current record');
  assert.deepEqual(events, []);
  await conflict(p.createCustomer('n', 'starter', undefined, undefined, null, null, null, { idempotencyKey: 'c1' }));
  assert.equal((await p.customer('n'))!.plan, 'growth');
});

test('options are checked where they enter', async () => {
  const { p } = await engine();
  const bad = async (call: () => unknown, field: string) => {
    await assert.rejects(Promise.resolve().then(call), (e: unknown) => {
      assert.ok(e instanceof LimitrError, String(e));
      assert.equal(e.code, 'INVALID_ARGUMENT', e.message);
      assert.ok(e.message.includes(field), e.message);
      return true;
    });
  };
  await bad(() => p.allowSync('u', 'ai-chat-input', 1, true, undefined, { idempotencykey: 'k' } as any), 'idempotencykey');
  await bad(() => p.incrementSync('u', 'ai-chat-input', true, { idempotencyKey: 7 } as any), 'idempotencyKey');
  await bad(() => p.allowSync('u', 'ai-chat-input', 1, true, undefined, { idempotencyKey: '' }), 'idempotency_key');
  await bad(() => p.releaseSync('u', 'ai-chat-input', 'h', { idempotencyKey: 'x'.repeat(300) }), 'idempotency_key');
  await bad(() => p.reserveSync('u', 'ai-chat-input', { value: 1, idem: 'k' } as any), 'idem');
  await bad(() => p.settleSync('u', 'ai-chat-input', 'h', 1, true, undefined, { finale: false } as any), 'finale');
  assert.equal(await p.value('u', 'ai-chat-input'), 0, 'a rejected call changes nothing');
});

test('keys survive a restart of a journaled engine', async () => {
  const state = mkdtempSync(join(tmpdir(), 'limitr-keys-'));
  try {
    const first = await Limitr.new(QS, 'json', { journal: state, now: () => T0 });
    await first.createCustomer('u', 'starter');
    assert.equal(await first.allow('u', 'ai-chat-input', 300, true, undefined, { idempotencyKey: 'k' }), true);
    first.close();
    const again = await Limitr.new(QS, 'json', { journal: state, now: () => T0 });
    assert.equal(await again.allow('u', 'ai-chat-input', 300, true, undefined, { idempotencyKey: 'k' }), true);
    assert.equal(await again.value('u', 'ai-chat-input'), 300);
    await conflict(again.allow('u', 'ai-chat-input', 1, true, undefined, { idempotencyKey: 'k' }));
    again.close();
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('a key answers its retries until idempotencyTtlMs has passed, then it is a new call', async () => {
  let now = T0;
  const p = await Limitr.new(QS, 'json', { now: () => now, idempotencyTtlMs: 1000 });
  await p.createCustomer('u', 'starter');
  await p.allow('u', 'ai-chat-input', 10, true, undefined, { idempotencyKey: 'k' });
  now += 999;
  await p.allow('u', 'ai-chat-input', 10, true, undefined, { idempotencyKey: 'k' });
  assert.equal(await p.value('u', 'ai-chat-input'), 10, 'within the TTL: a retry');
  now += 1;
  await p.allow('u', 'ai-chat-input', 10, true, undefined, { idempotencyKey: 'k' });
  assert.equal(await p.value('u', 'ai-chat-input'), 20, 'past the TTL: the key expired');
  await assert.rejects(Limitr.new(QS, 'json', { idempotencyTtlMs: -1 }), /idempotencyTtlMs/);
});
