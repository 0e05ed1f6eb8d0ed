// The TypeScript API: errors and their codes, wrong argument types, handlers, the clock option,
// persistence through doc.stringify, JS object policies, sync twins. Run by Node and by Bun.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Limitr, LimitrError, errorCodes } from '@formata/limitr';

const ROOT = resolve(__dirname, '../../..');
const QS = readFileSync(join(ROOT, 'tests/policies/quickstart.json'), 'utf-8');
const T0 = 1767225600000; // 2026-01-01T00:00Z
const DAY = 86_400_000;

async function code(p: Promise<unknown> | (() => unknown)): Promise<LimitrError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof LimitrError, `expected a LimitrError, got ${String(err)}`);
  assert.ok(err instanceof Error);
  return err;
}

async function fresh(now = () => T0): Promise<Limitr> {
  const p = await Limitr.new(QS, 'json', { now });
  await p.createCustomer('user_starter', 'starter');
  await p.createCustomer('user_growth', 'growth');
  return p;
}

test('every error code is reachable from JS, with err.code and a message', async () => {
  const seen = new Set<string>();
  const expect = async (c: string, p: Promise<unknown>) => {
    const e = await code(p);
    assert.equal(e.code, c, e.message);
    assert.ok(e.message.length > 0 && !e.message.startsWith('{'), e.message);
    seen.add(c);
    return e;
  };
  const invalid = await expect(
    'POLICY_INVALID',
    Limitr.new({ policy: { credits: {}, plans: { pro: { entitlements: { chat: { limit: { credit: 'x', value: 1 } } } } } } }),
  );
  assert.deepEqual(invalid.issues.map((i) => i.path), ['policy.plans.pro.entitlements.chat.limit.credit']);
  assert.equal(invalid.issues[0]!.code, 'UNKNOWN_CREDIT');
  await expect('POLICY_PARSE', Limitr.new('{"policy": ', 'json'));
  await expect('POLICY_PARSE', Limitr.new('policy: [', 'yaml'));
  await expect('DOCUMENT_TOO_LARGE', Limitr.new(' '.repeat(33 * 1024 * 1024) + '{}', 'json'));
  await expect('FORMAT_UNSUPPORTED', Limitr.new(QS, 'stof' as any));
  const p = await fresh();
  await expect('FORMAT_UNSUPPORTED', Promise.resolve().then(() => p.doc.stringify('xml' as any)));
  await expect('INVALID_ARGUMENT', p.allow('', 'ai-chat-input', 1));
  // unknown references answer; the `strict` load option makes each raise its typed error
  assert.equal(await p.setCustomerPlan('user_starter', 'platinum'), false);
  assert.equal(await p.applyCustomerTopup('user_starter', 'ai-token-small'), false);
  assert.equal(await p.addCustomerCap('user_starter', 1, { credit: 'doubloons' }), undefined);
  const strict = await Limitr.new(QS, 'json', { now: () => T0, strict: true });
  await strict.createCustomer('user_starter', 'starter');
  await expect('UNKNOWN_PLAN', strict.createCustomer('x', 'platinum'));
  await expect('UNKNOWN_PLAN', strict.setCustomerPlan('user_starter', 'platinum'));
  await expect('UNKNOWN_TOPUP', strict.applyCustomerTopup('user_starter', 'ai-token-small'));
  await expect('UNKNOWN_CREDIT', strict.addCustomerCap('user_starter', 1, { credit: 'doubloons' }));
  await expect('INVALID_ARGUMENT', Limitr.new(QS, 'json', { strict: 'yes' as any }));
  // a meter restored past the safe range refuses further metering
  await p.applyCustomerTopup('user_growth', 'ai-token-small');
  const doc = p.doc.record() as any;
  // (a restored meter may hold up to 1e26 plus one amount: what calls can leave it at)
  doc.policy.customers.user_growth.meters['ai-chat-output'].value = '100000000000000000000000000';
  const big = await Limitr.new(doc, 'json', { now: () => T0 });
  await expect(
    'OVERFLOW',
    (async () => {
      for (let i = 0; i < 2; i++) await big.allow('user_growth', 'ai-chat-output', 1e20);
    })(),
  );
  // a journal directory that cannot be one (a file is in the way)
  await expect('STORAGE', Limitr.new(QS, 'json', { journal: join(ROOT, 'README.md') }));
  // Not raised by any call today: UNKNOWN_CUSTOMER (lookups answer false/undefined instead) and
  // SERIALIZE (every loaded document writes in every format). Both stay in the list for stability.
  await p.allow('user_starter', 'ai-chat-input', 1, true, undefined, { idempotencyKey: 'once' });
  await expect('IDEMPOTENCY_CONFLICT', p.allow('user_starter', 'ai-chat-input', 2, true, undefined, { idempotencyKey: 'once' }));
  assert.deepEqual(
    errorCodes().filter((c) => !seen.has(c)).sort(),
    ['SERIALIZE', 'UNKNOWN_CUSTOMER'],
  );
});

test('a failed call changes nothing and sync twins throw the same error', async () => {
  const p = await fresh();
  await p.allow('user_starter', 'ai-chat-input', 100);
  const before = await p.customer('user_starter');
  await code(p.allow('user_starter', 'ai-chat-input', NaN));
  const e = await code(() => p.allowSync('user_starter', 'ai-chat-input', Infinity));
  assert.equal(e.code, 'INVALID_ARGUMENT');
  assert.deepEqual(await p.customer('user_starter'), before);
});

test('wrong argument types are INVALID_ARGUMENT errors, never a crash', async () => {
  const p = await fresh();
  const bad: [string, () => unknown][] = [
    ['number id', () => p.allow(123 as any, 'ai-chat-input', 1)],
    ['missing customer', () => (p.allow as any)()],
    ['missing entitlement', () => (p.allow as any)('user_starter')],
    ['object amount', () => p.allow('user_starter', 'ai-chat-input', {} as any)],
    ['text amount that is no number', () => p.allow('user_starter', 'ai-chat-input', 'five')],
    ['NaN amount', () => p.allow('user_starter', 'ai-chat-input', NaN)],
    ['-Infinity amount', () => p.check('user_starter', 'ai-chat-input', -Infinity)],
    ['bad event', () => p.allow('user_starter', 'ai-chat-input', 1, 'yes' as any)],
    ['string overhead', () => p.allow('user_starter', 'ai-chat-input', 1, true, '0.1' as any)],
    ['NaN overhead', () => p.allow('user_starter', 'ai-chat-input', 1, true, NaN)],
    ['undefined id', () => p.createCustomer(undefined as any)],
    ['empty id', () => p.createCustomer('  ')],
    ['object plan', () => p.createCustomer('x', {} as any)],
    ['string percent', () => p.value('user_starter', 'ai-chat-input', 'yes' as any)],
    ['null entitlement', () => p.remaining('user_starter', null as any)],
    ['number topup', () => p.applyCustomerTopup('user_growth', 7 as any)],
    ['string resetMeters', () => p.setCustomerPlan('user_starter', 'growth', 'no' as any)],
    ['number doc', () => Limitr.new(42 as any)],
    ['null doc', () => Limitr.new(null as any)],
    ['now not a function', () => Limitr.new(QS, 'json', { now: 5 as any })],
    ['now returns a string', () => Limitr.new(QS, 'json', { now: () => 'soon' as any }).then((q) => q.limit('starter', 'ai-chat-input'))],
    ['handler not a function', () => p.addHandler('h', 'nope' as any)],
    ['number handler name', () => p.addHandler(1 as any, () => {})],
    ['check options', () => p.check('user_starter', 'ai-chat-input', 0, 'detail' as any)],
    ['refs not an array', () => p.createCustomer('x', 'starter', 'user', 'User', 'org' as any)],
    ['alts of numbers', () => p.createCustomer('x', 'starter', 'user', 'User', null, [1] as any)],
    ['metadata array', () => p.createCustomer('x', 'starter', 'user', 'User', null, null, [] as any)],
    ['override value string', () => p.createCustomerOverride('user_starter', 'ai-chat-input', '5' as any)],
    ['override bad mode', () => p.createCustomerOverride('user_starter', 'ai-chat-input', 5, null, undefined, 'loose' as any)],
    ['exchange value', () => p.creditExchange('ai-token', 'rune', '1' as any)],
  ];
  for (const [what, f] of bad) {
    const e = await code(f);
    assert.equal(e.code, 'INVALID_ARGUMENT', `${what}: ${e.message}`);
  }
  assert.equal(await p.value('user_starter', 'ai-chat-input'), 0);
});

test('a throwing handler does not undo the decision nor stop the other handlers', async () => {
  const reported: [unknown, string, string][] = [];
  const p = await Limitr.new(QS, 'json', { now: () => T0, onHandlerError: (e, h, ev) => void reported.push([e, h, ev]) });
  const order: string[] = [];
  await p.addHandler('first', (key) => void order.push(`first:${key}`));
  await p.addHandler('boom', () => {
    throw new Error('handler failed');
  });
  await p.addHandler('async-boom', async () => {
    throw new Error('async handler failed');
  });
  await p.addHandler('last', (key) => void order.push(`last:${key}`));
  await p.createCustomer('u', 'starter');
  assert.equal(await p.allow('u', 'ai-chat-input', 500000), true);
  assert.equal(await p.allow('u', 'ai-chat-input', 1), false);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(order, ['first:customer-set', 'last:customer-set', 'first:meter-changed', 'last:meter-changed', 'first:meter-limit', 'last:meter-limit']);
  assert.equal(await p.value('u', 'ai-chat-input'), 500000);
  assert.deepEqual(reported.map(([e, h, ev]) => [(e as Error).message, h, ev]).sort(), [
    ['async handler failed', 'async-boom', 'customer-set'],
    ['async handler failed', 'async-boom', 'meter-changed'],
    ['async handler failed', 'async-boom', 'meter-limit'],
    ['handler failed', 'boom', 'customer-set'],
    ['handler failed', 'boom', 'meter-changed'],
    ['handler failed', 'boom', 'meter-limit'],
  ]);
});

test('lone surrogates in ids are INVALID_ARGUMENT and name no customer', async () => {
  const p = await fresh();
  for (const id of ['\ud800', 'a\udfff', '\udc00x']) {
    for (const [what, f] of [
      ['createCustomer', () => p.createCustomerSync(id, 'starter')],
      ['allowSync', () => p.allowSync(id, 'ai-chat-input', 1)],
      ['allow', () => p.allow(id, 'ai-chat-input', 1)],
      ['allowSync entitlement', () => p.allowSync('user_starter', id, 1)],
      ['allowSync with options', () => p.allowSync(id, 'ai-chat-input', 1, true, undefined, { idempotencyKey: 'k' })],
      ['check', () => p.checkSync(id, 'ai-chat-input', 1)],
      ['value', () => p.valueSync(id, 'ai-chat-input')],
    ] as const) {
      const e = await code(f);
      assert.equal(e.code, 'INVALID_ARGUMENT', `${what}: ${e.message}`);
      assert.match(e.message, /lone surrogate/, what);
    }
  }
  // U+FFFD itself is text like any other, and a customer of that name is not reached by a surrogate
  p.createCustomerSync('\ufffd', 'starter');
  assert.equal(p.allowSync('\ufffd', 'ai-chat-input', 1), true);
  assert.equal(p.valueSync('\ufffd', 'ai-chat-input'), 1);
  assert.equal((await code(() => p.allowSync('\ud800', 'ai-chat-input', 1))).code, 'INVALID_ARGUMENT');
  assert.equal(p.valueSync('\ufffd', 'ai-chat-input'), 1);
});

test('NaN, Infinity and bigints inside host objects are INVALID_ARGUMENT naming their path', async () => {
  const policy = JSON.parse(QS) as { policy: { credits: Record<string, { price?: { value?: unknown } }> } };
  const credit = Object.keys(policy.policy.credits)[0]!;
  for (const bad of [NaN, Infinity, -Infinity]) {
    const doc = JSON.parse(QS) as typeof policy;
    (doc.policy.credits[credit] as Record<string, unknown>).bad = { deep: [1, bad] };
    const e = await code(() => Limitr.newSync(doc));
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(e.message, new RegExp(`doc\\.policy\\.credits\\.${credit}\\.bad\\.deep\\[1\\]`), e.message);
  }
  const p = await fresh();
  const before = p.doc.stringify();
  for (const [what, f, path] of [
    ['override limit', () => p.createCustomerOverrideSync('user_starter', 'ai-chat-input', { value: Infinity } as never), /fields\.value/],
    ['caps', () => p.allowSync('user_starter', 'ai-chat-input', 1, true, undefined, { caps: { [credit]: NaN } }), /caps/],
    ['event data', () => p.allowSync('user_starter', 'ai-chat-input', 1, { n: NaN }), /event\.n/],
    ['event data bigint', () => p.allowSync('user_starter', 'ai-chat-input', 1, { n: 1n }), /event\.n/],
    ['imported record', () => p.importCustomerSync({ id: 'x', meters: { a: NaN } } as never), /record\.meters\.a/],
  ] as const) {
    const e = await code(f);
    assert.equal(e.code, 'INVALID_ARGUMENT', `${what}: ${e.message}`);
    assert.match(e.message, path, what);
  }
  assert.equal(p.doc.stringify(), before);
});

test('an onHandlerError that throws does not fail the call, and later handlers still run', async () => {
  const p = await Limitr.new(QS, 'json', {
    now: () => T0,
    onHandlerError: () => {
      throw new Error('reporter failed');
    },
  });
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => void logged.push(a);
  try {
    const after: string[] = [];
    await p.addHandler('boom', () => {
      throw new Error('handler failed');
    });
    await p.addHandler('async-boom', async () => {
      throw new Error('async handler failed');
    });
    await p.addHandler('after', (key) => void after.push(key));
    p.createCustomerSync('u', 'starter');
    assert.equal(await p.allow('u', 'ai-chat-input', 500000), true);
    assert.equal(p.allowSync('u', 'ai-chat-input', 1), false);
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(after, ['customer-set', 'meter-changed', 'meter-limit']);
    assert.equal(await p.value('u', 'ai-chat-input'), 500000);
    // each failure of the reporter is logged with both errors: 3 events x 2 failing handlers
    const both = logged.filter((a) => a.some((x) => x instanceof Error && x.message === 'reporter failed'));
    assert.equal(both.length, 6, JSON.stringify(logged.map((a) => String(a[0]))));
    assert.ok(both.every((a) => a.some((x) => x instanceof Error && /handler failed/.test(x.message))));
  } finally {
    console.error = original;
  }
});

test('by default a handler error goes to console.error', async () => {
  const p = await fresh();
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => void logged.push(a);
  try {
    await p.addHandler('boom', () => {
      throw new Error('nope');
    });
    assert.equal(await p.allow('user_starter', 'ai-chat-input', 10), true);
  } finally {
    console.error = original;
  }
  assert.equal(logged.length, 1);
  assert.match(String(logged[0]![0]), /handler `boom` failed on event `meter-changed`/);
});

test('handlers get (key, JSON text); removeHandler and clearHandlers stop delivery', async () => {
  const p = await fresh();
  const got: [string, any][] = [];
  await p.addHandler('h', (key: string, value: unknown) => void got.push([key, JSON.parse(value as string)]));
  await p.allow('user_starter', 'ai-chat-input', 1000, { model: 'sonnet' });
  assert.equal(got.length, 1);
  assert.equal(got[0]![0], 'meter-changed');
  assert.equal(got[0]![1].customer.id, 'user_starter');
  assert.equal(got[0]![1].remaining, 499000);
  assert.deepEqual(got[0]![1].event_data, { model: 'sonnet' });
  await p.allow('user_starter', 'ai-chat-input', 1000, false); // no events for this call
  assert.equal(got.length, 1);
  assert.equal(await p.removeHandler('h'), true);
  assert.equal(await p.removeHandler('h'), false);
  await p.allow('user_starter', 'ai-chat-input', 1000);
  assert.equal(got.length, 1);
  await p.addHandler('a', () => void got.push(['a', null]));
  await p.addHandler('b', () => void got.push(['b', null]));
  await p.removeHandler('a');
  await p.allow('user_starter', 'ai-chat-input', 1);
  assert.deepEqual(got.slice(1).map((g) => g[0]), ['b']);
  await p.clearHandlers();
  await p.allow('user_starter', 'ai-chat-input', 1);
  assert.equal(got.length, 2);
  assert.equal(await p.value('user_starter', 'ai-chat-input'), 3002);
});

test('the now option moves a daily reset', async () => {
  let now = T0 + 5_000;
  const p = await fresh(() => now);
  assert.equal(await p.allow('user_starter', 'ai-chat-input', 500000), true);
  assert.equal(await p.allow('user_starter', 'ai-chat-input', 1), false);
  assert.equal(await p.resets('user_starter', 'ai-chat-input'), T0 + 5_000 + DAY);
  const detail = await p.check('user_starter', 'ai-chat-input', 1, { detail: true });
  assert.deepEqual(detail, { allowed: false, reason: 'limit', remaining: 0, resets: T0 + 5_000 + DAY, retry_after: null });
  now += DAY; // the boundary itself still belongs to the old period
  assert.equal(await p.allow('user_starter', 'ai-chat-input', 1), false);
  now += 1;
  assert.equal(await p.allow('user_starter', 'ai-chat-input', 1), true);
  assert.equal(await p.remaining('user_starter', 'ai-chat-input'), 499999);
  assert.equal(await p.resets('user_starter', 'ai-chat-input'), T0 + 5_000 + 2 * DAY);
});

test('without a now option the system clock is used', async () => {
  const p = await Limitr.new(QS, 'json');
  const before = Date.now();
  await p.createCustomer('u', 'starter');
  const started = (await p.customer('u'))!.meters['ai-chat-input']!.started;
  assert.ok(started >= before && started <= Date.now() + 1, `${started}`);
});

for (const format of ['json', 'yaml', 'toml'] as const) {
  test(`doc.stringify('${format}') loads back with the same customers`, async () => {
    const p = await fresh();
    await p.allow('user_starter', 'ai-chat-input', 120000);
    await p.allow('user_starter', 'ai-chat-output', 120000 / 2.2);
    await p.applyCustomerTopup('user_growth', 'ai-token-small');
    await p.allow('user_growth', 'ai-chat-input', 900000);
    const text = p.doc.stringify(format);
    assert.equal(typeof text, 'string');
    const q = await Limitr.new(text, format, { now: () => T0 });
    assert.deepEqual(await q.customers(), await p.customers());
    assert.deepEqual(Object.keys(await q.customers()).sort(), ['user_growth', 'user_starter']);
    assert.equal(await q.value('user_starter', 'ai-chat-output'), 54545);
    assert.equal(await q.remainingCredit('user_growth', 'ai-token'), await p.remainingCredit('user_growth', 'ai-token'));
    assert.equal(await q.limit('user_growth', 'ai-chat-input'), await p.limit('user_growth', 'ai-chat-input'));
    assert.deepEqual(q.doc.record(), p.doc.record());
  });
}

test('a JS object policy loads like its text; record() is a plain object', async () => {
  const obj = JSON.parse(QS);
  const p = await Limitr.new(obj);
  assert.equal(await p.limit('starter', 'ai-chat-input'), 500000);
  const r = p.doc.record();
  assert.equal(Object.getPrototypeOf(r), Object.prototype);
  assert.deepEqual(r.policy.plans, obj.policy.plans);
  assert.deepEqual(await p.lint(), []);
});

test('sync twins and async calls share state; reads answer undefined when there is no answer', async () => {
  const p = Limitr.newSync(QS, 'json', { now: () => T0 });
  assert.ok(p.createCustomerSync('a', 'growth').meters['ai-chat-input']);
  assert.equal(p.ensureCustomerSync('a'), false);
  assert.equal(await p.ensureCustomer('b'), true);
  assert.equal((await p.customer('b'))!.plan, 'starter'); // the default plan
  assert.equal(p.allowSync('a', 'ai-chat-input', 10), true);
  assert.equal(await p.value('a', 'ai-chat-input'), 10);
  assert.equal(p.setSync('a', 'ai-chat-input', 50), true);
  assert.equal(await p.value('a', 'ai-chat-input'), 50);
  assert.equal(p.incrementSync('a', 'ai-chat-input'), true);
  assert.equal(await p.decrement('a', 'ai-chat-input'), true);
  assert.equal(p.valueSync('a', 'ai-chat-input'), 50);
  assert.equal(p.checkSync('a', 'ai-chat-input', 1), true);
  assert.equal(await p.check('a', 'ai-chat-input', 1e9), true); // soft limit
  assert.equal(await p.customer('nobody'), undefined);
  assert.equal(await p.value('nobody', 'ai-chat-input'), undefined);
  assert.equal(await p.allow('nobody', 'ai-chat-input', 1), false);
  assert.equal(await p.value('a', 'ai-chat-access', true), undefined);
  assert.equal(await p.creditExchange('ai-token'), 1.25);
  assert.equal(await p.creditExchange('claude-sonnet-4-input', 'ai-token', 250000), 1);
  assert.equal(await p.creditExchange('nope'), undefined);
  assert.equal(await p.setCustomerPlan('a', 'starter', true), true);
  assert.equal(await p.value('a', 'ai-chat-input'), 0);
  assert.equal(await p.removeCustomer('a'), true);
  assert.equal(p.removeCustomerSync('a'), false);
  assert.deepEqual(Object.keys(p.customersSync()), ['b']);
});

test('every call returns a Promise, even when it fails', async () => {
  const p = await fresh();
  const r = p.allow('', 'x', 1);
  assert.ok(r instanceof Promise);
  await assert.rejects(r, LimitrError);
  const q = Limitr.new('{', 'json');
  assert.ok(q instanceof Promise);
  await assert.rejects(q, { code: 'POLICY_PARSE' });
});

const SIZES = {
  policy: {
    credits: { mb: { stof_units: 'MB' }, sec: { stof_units: 's' } },
    plans: {
      paid: {
        default: true,
        entitlements: {
          usage: { limit: { credit: 'mb', value: '2GB' } },
          time: { limit: { credit: 'sec', value: '1hr' } },
        },
      },
    },
  },
};

test('amounts written with units are read in the unit of the credit', async () => {
  const p = await Limitr.new(SIZES, 'json', { now: () => T0 });
  await p.createCustomer('c');
  assert.equal(await p.allow('c', 'usage', '500MB'), true);
  assert.equal(await p.allow('c', 'usage', '1GB'), true);
  assert.equal(await p.value('c', 'usage'), 1500);
  assert.equal(await p.check('c', 'usage', '1GB'), false);
  assert.equal(p.allowSync('c', 'usage', '-3MB'), true);
  assert.equal(p.allowSync('c', 'usage', '10MiB', { note: 'x' }, 0.1), true);
  assert.equal(await p.value('c', 'usage'), 1507.48576);
  assert.equal(await p.set('c', 'time', '1.5min'), true);
  assert.equal(await p.value('c', 'time'), 90);
  const hold = await p.reserve('c', 'time', { value: '1min' });
  assert.ok(hold !== undefined);
  assert.equal(await p.held('c', 'time'), 60);
  assert.equal(await p.settle('c', 'time', hold, '30s'), true);
  assert.equal(await p.value('c', 'time'), 120);
  assert.equal(await p.observe('c', 'time', '2min'), true);
  assert.equal((await p.check('c', 'usage', '1MB', { detail: true })).allowed, true);
});

test('a bad or mismatched unit is INVALID_ARGUMENT and meters nothing', async () => {
  const p = await Limitr.new(SIZES, 'json', { now: () => T0 });
  await p.createCustomer('c');
  for (const bad of ['3 parsecs', '5s']) {
    assert.equal((await code(p.allow('c', 'usage', bad))).code, 'INVALID_ARGUMENT');
    assert.equal((await code(() => p.allowSync('c', 'usage', bad))).code, 'INVALID_ARGUMENT');
    assert.equal((await code(p.reserve('c', 'usage', { value: bad }))).code, 'INVALID_ARGUMENT');
  }
  assert.equal(await p.value('c', 'usage'), 0);
  assert.equal(await p.held('c', 'usage'), 0);
});
