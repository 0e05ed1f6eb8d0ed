// Replays the scenario corpus (tests/scenarios/*.json, format in tests/SCENARIOS.md) on the WASM build
// of @formata/limitr (npm/dist/wasm/node.js), under Node (`node --test`) and Bun (`bun test`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Limitr } from '../../npm/dist/wasm/node.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = `${root}/tests/scenarios`;
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

function policyOf(s) {
  if (s.policy_text !== undefined) return [s.policy_text, s.format ?? 'json'];
  if (typeof s.policy === 'string') return [readFileSync(`${root}/tests/policies/${s.policy}.json`, 'utf-8'), 'json'];
  return [JSON.stringify(s.policy), 'json'];
}

function close(actual, expected) {
  if (expected === 0) return actual === 0;
  return typeof actual === 'number' && Math.abs(actual - expected) <= 1e-9 * Math.max(Math.abs(expected), Math.abs(actual));
}

/** Subset match (SCENARIOS.md "Matching"); returns a description of the first mismatch, or null. */
function mismatch(actual, expected, path = '$') {
  if (expected === null) return actual === null || actual === undefined ? null : `${path}: expected null, got ${JSON.stringify(actual)}`;
  if (typeof expected === 'number') return close(actual, expected) ? null : `${path}: expected ${expected}, got ${JSON.stringify(actual)}`;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const m = mismatch(actual[i], expected[i], `${path}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    for (const [k, v] of Object.entries(expected)) {
      if (k === 'grants_by_topup' && path === '$') {
        for (const [topup, want] of Object.entries(v)) {
          const grants = Object.values(actual.grants ?? {}).filter((g) => g.topup === topup);
          if (want === null) {
            if (grants.length) return `${path}.grants: expected no grant from ${topup}`;
            continue;
          }
          if (grants.length !== 1) return `${path}.grants: expected one grant from ${topup}, got ${grants.length}`;
          const m = mismatch(grants[0], want, `${path}.grants<${topup}>`);
          if (m) return m;
        }
        continue;
      }
      const m = mismatch(actual[k], v, `${path}.${k}`);
      if (m) return m;
    }
    return null;
  }
  return actual === expected ? null : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

/** `saved`: hold ids saved by `reserve` steps with `"as": name`, substituted for `"$name"` args. */
async function run(p, step, clock, saved) {
  const a = Object.fromEntries(
    Object.entries(step.args ?? {}).map(([k, v]) => [k, typeof v === 'string' && v.startsWith('$') ? saved[v.slice(1)] ?? null : v]),
  );
  const n = (x) => (x === undefined ? null : x);
  switch (step.op) {
    case 'create_customer': return p.createCustomer(a.id, a.plan, a.type, a.label, a.refs, a.alt_ids, a.metadata).then(() => undefined);
    case 'create_customer_override': return p.createCustomerOverride(a.id, a.entitlement, a.fields ?? {}, a.expires_on);
    case 'remove_customer_override': return p.removeCustomerOverride(a.id, a.entitlement);
    case 'add_alt_id': return p.addAltId(a.id, a.alt);
    case 'ensure_plan_subscription': return p.ensurePlanSubscription(a.id);
    case 'ensure_customer': return p.ensureCustomer(a.id, a.plan);
    case 'remove_customer': return p.removeCustomer(a.id);
    case 'set_customer_plan': return p.setCustomerPlan(a.id, a.plan, a.reset_meters ?? false);
    case 'allow': return p.allow(a.customer, a.entitlement, a.value ?? 0, a.event_data ?? true, a.overhead, a.caps ? { caps: a.caps } : undefined);
    case 'add_customer_cap': {
      const { id, value, ...options } = a;
      return n(await p.addCustomerCap(id, value ?? 0, options));
    }
    case 'customer_cap': return n(await p.customerCap(a.id, a.cap_id));
    case 'reset_customer_cap': return p.resetCustomerCap(a.id, a.cap_id);
    case 'remove_customer_cap': return p.removeCustomerCap(a.id, a.cap_id, a.events ?? true);
    case 'ensure_included_topups': return p.ensureIncludedTopups(a.id, a.events ?? true);
    case 'cost': return n(await p.cost(a.customer, a.entitlement));
    case 'check_increment': return p.checkIncrement(a.customer, a.entitlement);
    case 'customer_margin': return n(await p.customerMargin(a.customer));
    case 'plan_margin': return p.planMargin(a.plan, a.usage ?? {}, a.scaled ?? true);
    case 'reserve': {
      const hold = await p.reserve(a.customer, a.entitlement, { value: a.value, ttl: a.ttl, quantile: a.quantile, basis: a.basis, segment: a.segment, overhead: a.overhead, context: a.event_data });
      if (step.as !== undefined && hold !== undefined) saved[step.as] = hold;
      return hold === undefined ? null : true; // the id is random-looking: true for "a hold was made"
    }
    case 'settle': return p.settle(a.customer, a.entitlement, a.hold, a.value ?? 0, a.event_data ?? true, a.overhead, { final: a.final ?? true, caps: a.caps });
    case 'release': return p.release(a.customer, a.entitlement, a.hold);
    case 'held': return n(await p.held(a.customer, a.entitlement));
    case 'observe': return p.observe(a.customer, a.entitlement, a.value ?? 0, { overhead: a.overhead, basis: a.basis, segment: a.segment, context: a.event_data });
    case 'estimate': return n(await p.estimate(a.customer, a.entitlement, { quantile: a.quantile, basis: a.basis, segment: a.segment }));
    case 'rate': return p.rate(a.customer, a.entitlement, a.smoothed ?? false);
    case 'acceleration': return p.acceleration(a.customer, a.entitlement);
    case 'projected_exhaustion': return n(await p.projectedExhaustion(a.customer, a.entitlement, a.smoothed ?? false, a.grants ?? true));
    case 'allowance': return n(await p.allowance(a.customer, a.entitlement, a.grants ?? true));
    case 'check': return p.check(a.customer, a.entitlement, a.value ?? 0, a.caps ? { caps: a.caps } : {});
    case 'check_detail': return p.check(a.customer, a.entitlement, a.value ?? 0, { detail: true });
    case 'increment': return p.increment(a.customer, a.entitlement);
    case 'decrement': return p.decrement(a.customer, a.entitlement);
    case 'set': return p.set(a.customer, a.entitlement, a.value);
    case 'value': return n(await p.value(a.customer, a.entitlement, a.percent ?? false, a.grants ?? true));
    case 'remaining': return n(await p.remaining(a.customer, a.entitlement, a.percent ?? false, a.grants ?? true));
    case 'limit': return n(await p.limit(a.customer ?? a.id, a.entitlement, a.grants ?? true));
    case 'resets': return n(await p.resets(a.customer, a.entitlement));
    case 'apply_customer_topup': return p.applyCustomerTopup(a.customer, a.topup);
    case 'remaining_credit': return n(await p.remainingCredit(a.customer, a.credit));
    case 'credit_exchange': return n(await p.creditExchange(a.from, a.to ?? 'rune', a.value ?? 1));
    case 'customer': return n(await p.customer(a.id));
    case 'advance': clock.now += step.ms; return undefined;
    case 'set_now': clock.now = step.now; return undefined;
    default: throw new Error(`unknown op ${step.op}`);
  }
}

for (const file of files) {
  const s = JSON.parse(readFileSync(`${dir}/${file}`, 'utf-8'));
  test(`wasm scenario ${s.name}`, async () => {
    const clock = { now: s.now ?? 1767225600000 };
    const options = { now: () => clock.now, ...(s.options ?? {}) };
    const [text, format] = policyOf(s);
    if (s.expect_load_error) {
      const e = await Limitr.new(text, format, options).then(() => null, (err) => err);
      assert.ok(e, 'the policy loaded but should not');
      assert.equal(e.code, s.expect_load_error.code, e.message);
      if (s.expect_load_error.paths) {
        assert.deepEqual(new Set(e.issues.map((i) => i.path)), new Set(s.expect_load_error.paths));
      }
      return;
    }
    const saved = {};
    const events = [];
    const record = (name, payload) => void events.push({ name, payload: JSON.parse(payload) });
    let p = await Limitr.new(text, format, options);
    await p.addHandler('recorder', record);
    for (const [i, step] of (s.steps ?? []).entries()) {
      const where = `step ${i} ${JSON.stringify(step)}`;
      events.length = 0;
      if (step.op === 'reload') {
        p = await Limitr.new(p.doc.stringify(step.format), step.format, options);
        await p.addHandler('recorder', record);
        continue;
      }
      let result;
      try {
        result = await run(p, step, clock, saved);
      } catch (err) {
        if (step.expect && typeof step.expect === 'object' && 'error' in step.expect) {
          assert.equal(err.code, step.expect.error, `${where}: ${err.message}`);
          continue;
        }
        throw new Error(`${where}: ${err.code}: ${err.message}`);
      }
      if ('expect' in step) {
        assert.ok(!(step.expect && typeof step.expect === 'object' && 'error' in step.expect), `${where}: expected an error, got ${JSON.stringify(result)}`);
        const m = mismatch(result, step.expect);
        assert.equal(m, null, `${where}: ${m}`);
      }
      if (step.events) {
        const m = mismatch(events.map((e) => e.name), step.events.map((e) => e.name), '$events');
        assert.equal(m, null, `${where}: ${m}`);
        for (const [k, e] of step.events.entries()) {
          if (e.payload === undefined) continue;
          const pm = mismatch(events[k].payload, e.payload, `$events[${k}].payload`);
          assert.equal(pm, null, `${where}: ${pm}`);
        }
      }
    }
  });
}
