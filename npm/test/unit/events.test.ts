// Handlers that listen to some events only: exactly the events they name, with the payload text an
// unfiltered handler gets; the same text for two handlers; a call's events in commit order; an
// unknown name refused. Run by Node and by Bun (and by the WASM tests through their backend).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Limitr, LimitrError } from '@formata/limitr';

const ROOT = resolve(__dirname, '../../..');
const QS = readFileSync(join(ROOT, 'tests/policies/quickstart.json'), 'utf-8');
const T0 = 1767225600000;
const DAY = 86_400_000;

type Seen = [string, string][];

/** Hard-limit usage of the quick start: in-limit calls, a denial, a reset, a plan change. */
async function run(filters: (string[] | null)[]): Promise<Seen[]> {
  let now = T0;
  const p = await Limitr.new(QS, 'json', { now: () => now });
  const seen: Seen[] = filters.map(() => []);
  filters.forEach((events, i) => {
    const sink = (key: string, value: string) => void seen[i]!.push([key, value]);
    if (events === null) p.addHandlerSync(`h${i}`, sink);
    else p.addHandlerSync(`h${i}`, sink, { events });
  });
  p.createCustomerSync('u', 'starter');
  for (const v of [120_000, 95_000, 300_000, 200_000]) p.allowSync('u', 'ai-chat-input', v);
  now += DAY + 1;
  p.allowSync('u', 'ai-chat-input', 600_000);
  await p.allow('u', 'ai-chat-input', 1);
  p.setCustomerPlanSync('u', 'growth');
  return seen;
}

test('a filtered handler receives exactly the events it names, with the unfiltered payloads', async () => {
  const [all] = await run([null]);
  const names = all!.map(([k]) => k);
  for (const k of ['meter-changed', 'meter-limit', 'meter-reset', 'customer-set']) assert.ok(names.includes(k), k);
  for (const filter of [['meter-limit'], ['meter-limit', 'meter-reset'], ['customer-set'], ['meter-overage']]) {
    const want = all!.filter(([k]) => filter.includes(k));
    const [alone] = await run([filter]);
    assert.deepEqual(alone, want, `alone ${filter}`);
    const [, beside] = await run([null, filter]);
    assert.deepEqual(beside, want, `beside ${filter}`);
  }
});

test('two handlers get the same payload text; a call’s events arrive in commit order', async () => {
  const [a, b] = await run([null, null]);
  assert.deepEqual(a, b);
  const names = a!.map(([k]) => k);
  const reset = names.indexOf('meter-reset');
  assert.equal(names[reset + 1], 'meter-limit'); // the new period, then the denial that opened it
  const values = a!.filter(([k]) => k === 'meter-changed').map(([, v]) => JSON.parse(v).meter.value);
  assert.deepEqual(values, [120000, 215000, 415000, 1]);
});

test('an unknown event name is INVALID_ARGUMENT naming it, and adds nothing', async () => {
  const p = await Limitr.new(QS);
  p.createCustomerSync('u', 'starter');
  let err: unknown;
  try {
    p.addHandlerSync('h', () => {}, { events: ['meter-limit', 'meter-limt'] });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof LimitrError);
  assert.equal(err.code, 'INVALID_ARGUMENT');
  assert.match(err.message, /events\[1\]: unknown event "meter-limt"/);
  const got: string[] = [];
  p.addHandlerSync('ok', (k) => void got.push(k), { events: ['meter-changed'] });
  assert.throws(() => p.addHandlerSync('bad', () => {}, { events: 'meter-limit' as any }), /events/);
  p.allowSync('u', 'ai-chat-input', 1);
  assert.deepEqual(got, ['meter-changed']);
  assert.equal(p.removeHandlerSync('ok'), true);
  p.allowSync('u', 'ai-chat-input', 1);
  assert.deepEqual(got, ['meter-changed']);
});

test('a throwing filtered handler does not undo the call', async () => {
  const p = await Limitr.new(QS, 'json', { onHandlerError: () => {} });
  p.createCustomerSync('u', 'starter');
  const got: string[] = [];
  p.addHandlerSync('boom', () => {
    throw new Error('boom');
  }, { events: ['meter-limit'] });
  p.addHandlerSync('rec', (k) => void got.push(k), { events: ['meter-limit'] });
  assert.equal(p.allowSync('u', 'ai-chat-input', 600_000), false);
  assert.equal(p.allowSync('u', 'ai-chat-input', 10), true);
  assert.equal(p.valueSync('u', 'ai-chat-input'), 10);
  assert.deepEqual(got, ['meter-limit']);
});
