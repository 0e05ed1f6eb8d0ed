// Spend caps, call-scoped caps, reservations (partial settle), estimates, trends and margins through
// the TypeScript face. Run by Node and by Bun.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Limitr, LimitrError } from '@formata/limitr';

const T0 = 1767225600000;
const DOC = {
  policy: {
    credits: { ai_credit: { price: { amount: 0.4 } } },
    plans: { p: { default: true, entitlements: { ai: { limit: { credit: 'ai_credit', value: 1000 } } } } },
  },
};

async function fresh(): Promise<{ p: Limitr; events: [string, any][] }> {
  const p = await Limitr.new(DOC, 'json', { now: () => T0 });
  const events: [string, any][] = [];
  await p.addHandler('rec', (key, value) => void events.push([key, JSON.parse(value)]));
  await p.createCustomer('c');
  events.length = 0;
  return { p, events };
}

async function rejects(f: () => unknown, code: string): Promise<void> {
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof LimitrError, `expected ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
}

test('a standing cap denies through a JS handler with cap-limit, then reset and remove', async () => {
  const { p, events } = await fresh();
  const cap = await p.addCustomerCap('c', 1, { cap_id: 'budget', credit: 'rune' });
  assert.equal(cap?.id, 'budget');
  assert.equal(cap?.value, 1);
  assert.equal(await p.addCustomerCap('c', 1, { cap_id: 'budget' }), undefined, 'a taken id');
  assert.equal(await p.addCustomerCap('nobody', 1), undefined);
  assert.equal(await p.allow('c', 'ai', 2), true); // 0.80 runes
  assert.equal((await p.customerCap('c', 'budget'))?.meter_value, 0.8);
  events.length = 0;
  assert.equal(await p.allow('c', 'ai', 1), false); // 1.20 > 1
  assert.ok(events.some(([k]) => k === 'cap-limit'), `events: ${events.map(([k]) => k)}`);
  assert.equal(p.checkSync('c', 'ai', 1, { detail: true }).reason, 'cap');
  assert.equal(await p.resetCustomerCap('c', 'budget'), true);
  assert.equal(p.customerCapSync('c', 'budget')?.meter_value, 0);
  assert.equal(await p.allow('c', 'ai', 1), true);
  assert.equal(await p.removeCustomerCap('c', 'budget'), true);
  assert.equal(await p.removeCustomerCap('c', 'budget'), false);
  assert.equal(await p.customerCap('c', 'budget'), undefined);
  assert.equal(await p.addCustomerCap('c', 1, { credit: 'dollars-of-nowhere' }), undefined, 'an unknown credit answers');
  await rejects(() => p.addCustomerCap('c', 1, { scope: 'ai' } as any), 'INVALID_ARGUMENT');
});

test('call-scoped caps: allow(…, { caps }) denies a call costing more, stores nothing', async () => {
  const { p, events } = await fresh();
  assert.equal(await p.allow('c', 'ai', 3, true, undefined, { caps: { rune: 1.0 } }), false); // $1.20
  assert.deepEqual(events.map(([k]) => k), ['cap-limit']);
  assert.equal(p.allowSync('c', 'ai', 2, false, undefined, { caps: { rune: 1.0 } }), true); // $0.80
  assert.equal(await p.value('c', 'ai'), 2);
  assert.equal(await p.allow('c', 'ai', 2, true, undefined, { caps: { rune: 1.0 } }), true, 'starts at 0 each call');
  assert.deepEqual((await p.customer('c'))?.caps ?? {}, {});
  await rejects(() => p.allow('c', 'ai', 1, true, undefined, { caps: { rune: 'one' as any } }), 'INVALID_ARGUMENT');
  await rejects(() => p.allow('c', 'ai', 1, true, undefined, 'caps' as any), 'INVALID_ARGUMENT');
});

test('reserve, partial settle (final: false), final settle, release, held', async () => {
  const { p, events } = await fresh();
  const hold = await p.reserve('c', 'ai', { value: 100 });
  assert.equal(typeof hold, 'string');
  assert.equal(await p.held('c', 'ai'), 100);
  assert.equal(await p.check('c', 'ai', 950), false, 'the hold counts against the hard limit');
  assert.equal(await p.settle('c', 'ai', hold!, 30, true, undefined, { final: false }), true);
  assert.equal(await p.held('c', 'ai'), 70, 'the rest of the hold is kept');
  assert.equal(await p.value('c', 'ai'), 30);
  assert.ok(events.some(([k]) => k === 'meter-changed'));
  assert.equal(p.settleSync('c', 'ai', hold!, 50), true);
  assert.equal(await p.held('c', 'ai'), 0);
  assert.equal(await p.value('c', 'ai'), 80);
  assert.equal(await p.reserve('c', 'ai', { value: 5000 }), undefined, 'no room under the hard limit');
  const h2 = p.reserveSync('c', 'ai', { value: 10, ttl: 60_000 });
  assert.equal(await p.release('c', 'ai', h2!), true);
  assert.equal(await p.release('c', 'ai', h2!), false);
  await rejects(() => p.settle('c', 'ai', hold!, 1, true, undefined, { final: 'no' as any }), 'INVALID_ARGUMENT');
});

test('estimates, trends, margins and check detail retry_after', async () => {
  const { p } = await fresh();
  assert.equal(await p.estimate('c', 'ai'), undefined);
  assert.equal(await p.observe('c', 'ai', 40, { overhead: 0.01 }), true);
  const e = await p.estimate('c', 'ai', { quantile: 0.5 });
  assert.equal(e?.samples, 1);
  assert.equal(typeof e?.value, 'number');
  assert.equal(await p.rate('c', 'ai'), 0);
  assert.equal(await p.acceleration('c', 'ai'), 0);
  assert.equal(await p.projectedExhaustion('c', 'ai'), undefined);
  assert.equal(await p.allowance('c', 'ai'), 1000);
  const m = await p.customerMargin('c');
  assert.equal(typeof m?.revenue, 'number');
  assert.equal(await p.customerMargin('nobody'), undefined);
  const pm = await p.planMargin('p', { ai: 1500 });
  assert.equal(pm.revenue, 200); // 500 past the limit at $0.40
  assert.deepEqual(Object.keys(pm.entitlements), ['ai']);
  await rejects(() => p.planMargin('nope', {}), 'UNKNOWN_PLAN');
  const d = await p.check('c', 'ai', 1, { detail: true });
  assert.ok('retry_after' in d);
  assert.equal(d.retry_after, null);
});
