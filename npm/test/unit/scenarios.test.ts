// Replays the scenario corpus (tests/scenarios/*.json, format in tests/SCENARIOS.md) through the
// package's async API. Run by Node (`node --import tsx --test`) and by Bun (`bun test`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Limitr, LimitrError } from '@formata/limitr';

const ROOT = resolve(__dirname, '../../..');
const DIR = join(ROOT, 'tests/scenarios');
const DEFAULT_NOW = 1767225600000;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Step {
  op: string;
  args?: Record<string, any>;
  expect?: Json;
  events?: { name: string; payload?: Json }[];
  ms?: number;
  now?: number;
  as?: string;
  format?: string;
}
interface Scenario {
  name: string;
  policy?: string | object;
  format?: string;
  policy_text?: string;
  now?: number;
  options?: { strict?: boolean };
  steps?: Step[];
  expect_load_error?: { code: string; paths?: string[] };
}

function close(a: number, b: number): boolean {
  if (b === 0) return a === 0;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/** `expected` is a subset of `actual` (SCENARIOS.md "Matching"); returns the path of a mismatch. */
function mismatch(actual: any, expected: Json, path = '$'): string | undefined {
  if (expected === null) return actual === null || actual === undefined ? undefined : `${path}: expected null, got ${JSON.stringify(actual)}`;
  if (typeof expected === 'number') return typeof actual === 'number' && close(actual, expected) ? undefined : `${path}: expected ${expected}, got ${JSON.stringify(actual)}`;
  if (typeof expected !== 'object') return actual === expected ? undefined : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const m = mismatch(actual[i], expected[i]!, `${path}[${i}]`);
      if (m) return m;
    }
    return undefined;
  }
  if (actual === null || typeof actual !== 'object') return `${path}: expected an object, got ${JSON.stringify(actual)}`;
  for (const [k, v] of Object.entries(expected)) {
    if (k === 'grants_by_topup' && path === '$') {
      for (const [topup, g] of Object.entries(v as Record<string, Json>)) {
        const grant = Object.values(actual.grants ?? {}).find((x: any) => x.topup === topup);
        const m = g === null ? (grant === undefined ? undefined : `${path}.grants: a grant of ${topup} remains`) : mismatch(grant, g, `${path}.grants<${topup}>`);
        if (m) return m;
      }
      continue;
    }
    const m = mismatch(actual[k], v, `${path}.${k}`);
    if (m) return m;
  }
  return undefined;
}

class Clock {
  constructor(public ms: number) {}
  now = () => this.ms;
}

async function load(s: Scenario, clock: Clock): Promise<Limitr> {
  const options = { now: clock.now, ...(s.options ?? {}) };
  if (s.policy_text !== undefined) return Limitr.new(s.policy_text, (s.format ?? 'json') as any, options);
  if (typeof s.policy === 'string') {
    const text = readFileSync(join(ROOT, 'tests/policies', `${s.policy}.json`), 'utf-8');
    return Limitr.new(text, 'json', options);
  }
  return Limitr.new(s.policy as object, 'json', options); // a JS object policy
}

/** `saved`: hold ids saved by `reserve` steps with `"as": name` (used as `"$name"` in later args). */
async function call(p: Limitr, op: string, a: Record<string, any>, saved: Record<string, string>, saveAs?: string): Promise<unknown> {
  switch (op) {
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
      return p.addCustomerCap(id, value ?? 0, options);
    }
    case 'customer_cap': return p.customerCap(a.id, a.cap_id);
    case 'reset_customer_cap': return p.resetCustomerCap(a.id, a.cap_id);
    case 'remove_customer_cap': return p.removeCustomerCap(a.id, a.cap_id, a.events ?? true);
    case 'ensure_included_topups': return p.ensureIncludedTopups(a.id, a.events ?? true);
    case 'cost': return p.cost(a.customer, a.entitlement);
    case 'check_increment': return p.checkIncrement(a.customer, a.entitlement);
    case 'customer_margin': return p.customerMargin(a.customer);
    case 'plan_margin': return p.planMargin(a.plan, a.usage ?? {}, a.scaled ?? true);
    case 'reserve': {
      const hold = await p.reserve(a.customer, a.entitlement, { value: a.value, ttl: a.ttl, quantile: a.quantile, basis: a.basis, segment: a.segment, overhead: a.overhead, context: a.event_data });
      if (saveAs !== undefined && hold !== undefined) saved[saveAs] = hold;
      return hold === undefined ? null : true; // the id is random-looking: true for "a hold was made"
    }
    case 'settle': return p.settle(a.customer, a.entitlement, a.hold, a.value ?? 0, a.event_data ?? true, a.overhead, { final: a.final ?? true, caps: a.caps });
    case 'release': return p.release(a.customer, a.entitlement, a.hold);
    case 'held': return p.held(a.customer, a.entitlement);
    case 'observe': return p.observe(a.customer, a.entitlement, a.value ?? 0, { overhead: a.overhead, basis: a.basis, segment: a.segment, context: a.event_data });
    case 'estimate': return p.estimate(a.customer, a.entitlement, { quantile: a.quantile, basis: a.basis, segment: a.segment });
    case 'rate': return p.rate(a.customer, a.entitlement, a.smoothed ?? false);
    case 'acceleration': return p.acceleration(a.customer, a.entitlement);
    case 'projected_exhaustion': return p.projectedExhaustion(a.customer, a.entitlement, a.smoothed ?? false, a.grants ?? true);
    case 'allowance': return p.allowance(a.customer, a.entitlement, a.grants ?? true);
    case 'check': return p.check(a.customer, a.entitlement, a.value ?? 0, a.caps ? { caps: a.caps } : {});
    case 'check_detail': return p.check(a.customer, a.entitlement, a.value ?? 0, { detail: true });
    case 'increment': return p.increment(a.customer, a.entitlement);
    case 'decrement': return p.decrement(a.customer, a.entitlement);
    case 'set': return p.set(a.customer, a.entitlement, a.value);
    case 'value': return p.value(a.customer, a.entitlement, a.percent ?? false, a.grants ?? true);
    case 'remaining': return p.remaining(a.customer, a.entitlement, a.percent ?? false, a.grants ?? true);
    case 'limit': return p.limit(a.customer ?? a.id, a.entitlement, a.grants ?? true);
    case 'resets': return p.resets(a.customer, a.entitlement);
    case 'apply_customer_topup': return p.applyCustomerTopup(a.customer, a.topup);
    case 'remaining_credit': return p.remainingCredit(a.customer, a.credit);
    case 'credit_exchange': return p.creditExchange(a.from, a.to ?? 'rune', a.value ?? 1);
    case 'customer': return p.customer(a.id);
    default: throw new Error(`unknown op ${op}`);
  }
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

test('the corpus is there', () => assert.ok(files.length >= 50, `${files.length} scenarios`));

for (const file of files) {
  const s = JSON.parse(readFileSync(join(DIR, file), 'utf-8')) as Scenario;
  test(`scenario ${s.name}`, async () => {
    const clock = new Clock(s.now ?? DEFAULT_NOW);
    if (s.expect_load_error) {
      const err = await load(s, clock).then(() => undefined, (e) => e);
      assert.ok(err instanceof LimitrError, `expected ${s.expect_load_error.code}, loaded`);
      assert.equal(err.code, s.expect_load_error.code, err.message);
      if (s.expect_load_error.paths) {
        const paths = [...new Set(err.issues.filter((i: any) => (i.severity ?? 'error') === 'error').map((i: any) => i.path))].sort();
        assert.deepEqual(paths, [...new Set(s.expect_load_error.paths)].sort());
      }
      return;
    }
    let policy = await load(s, clock);
    const saved: Record<string, string> = {};
    let events: { name: string; payload: unknown }[] = [];
    const recorder = (key: string, value: string) => void events.push({ name: key, payload: JSON.parse(value) });
    await policy.addHandler('recorder', recorder);
    for (const [i, step] of (s.steps ?? []).entries()) {
      const where = `${s.name} step ${i} (${step.op})`;
      events = [];
      if (step.op === 'advance') { clock.ms += step.ms!; continue; }
      if (step.op === 'set_now') { clock.ms = step.now!; continue; }
      if (step.op === 'reload') {
        const text = policy.doc.stringify(step.format as any);
        policy = await Limitr.new(text, step.format as any, { now: clock.now, ...(s.options ?? {}) });
        await policy.addHandler('recorder', recorder);
        continue;
      }
      const expectError = step.expect !== null && typeof step.expect === 'object' && !Array.isArray(step.expect) && 'error' in step.expect && Object.keys(step.expect).length === 1;
      let result: unknown;
      try {
        const args = Object.fromEntries(
          Object.entries(step.args ?? {}).map(([k, v]) => [k, typeof v === 'string' && v.startsWith('$') ? saved[v.slice(1)] ?? null : v]),
        );
        result = await call(policy, step.op, args, saved, step.as);
      } catch (e) {
        if (expectError && e instanceof LimitrError) {
          assert.equal(e.code, (step.expect as any).error, `${where}: ${e.message}`);
          result = undefined;
        } else throw new Error(`${where}: ${(e as Error).message}`);
      }
      if (expectError && result !== undefined) assert.fail(`${where}: expected error ${(step.expect as any).error}, got ${JSON.stringify(result)}`);
      if (!expectError && step.expect !== undefined) {
        const m = mismatch(result === undefined ? null : result, step.expect);
        assert.equal(m, undefined, `${where}: ${m}`);
      }
      if (step.events) {
        assert.deepEqual(events.map((e) => e.name), step.events.map((e) => e.name), `${where}: event names`);
        step.events.forEach((e, j) => {
          if (e.payload === undefined) return;
          const m = mismatch(events[j]!.payload, e.payload);
          assert.equal(m, undefined, `${where}: event ${j} (${e.name}): ${m}`);
        });
      }
    }
  });
}
