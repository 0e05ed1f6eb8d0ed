// Operations per second of `allow` on the WASM build in Node (or Bun): the package face's sync twin
// (`allowSync`) and awaited `allow`, on one warm customer and round-robin over 100 customers.
// Target (issue 5): ≥ 2M sync allow/s. `just bench-wasm` runs it.
import { Limitr } from '../../npm/dist/wasm/node.js';

const runtime = typeof Bun !== 'undefined' ? `Bun ${Bun.version}` : `Node ${process.versions.node}`;
const doc = {
  policy: {
    credits: { tok: { stof_units: 'int' } },
    plans: { free: { default: true, entitlements: { chat: { limit: { credit: 'tok', value: 1e15, resets: true, reset_inc: '30days' } } } } },
  },
};
const N_SYNC = 2_000_000;
const N_ASYNC = 1_000_000;

function rate(n, ms) {
  return `${(n / (ms / 1000) / 1e6).toFixed(2)}M/s (${((ms * 1e6) / n).toFixed(0)} ns/op)`;
}

function syncRun(policy, ids) {
  const t = performance.now();
  let ok = 0;
  for (let i = 0; i < N_SYNC; i++) if (policy.allowSync(ids[i % ids.length], 'chat', 1)) ok++;
  if (ok !== N_SYNC) throw new Error('denied');
  return performance.now() - t;
}

async function asyncRun(policy, ids) {
  const t = performance.now();
  let ok = 0;
  for (let i = 0; i < N_ASYNC; i++) if (await policy.allow(ids[i % ids.length], 'chat', 1)) ok++;
  if (ok !== N_ASYNC) throw new Error('denied');
  return performance.now() - t;
}

for (const [label, count] of [['1 customer', 1], ['100 customers', 100]]) {
  const policy = await Limitr.new(doc, 'json');
  const ids = Array.from({ length: count }, (_, i) => `user_${i}`);
  for (const id of ids) policy.createCustomerSync(id);
  syncRun(policy, ids); // warm up
  const s = syncRun(policy, ids);
  const a = await asyncRun(policy, ids);
  console.log(`wasm ${runtime}, ${label}: sync allow ${rate(N_SYNC, s)}; await allow ${rate(N_ASYNC, a)}`);
}

// Handlers on the quick start's warm customer (growth plan, `ai-chat-input`): no handler, one
// listening to `meter-limit` only (target ≥ 0.8× no handler), a no-op one receiving every event
// (target ≥ 0.2×). Each run meters a fresh customer, 400k calls inside its 700k daily limit.
{
  const { readFileSync } = await import('node:fs');
  const qs = readFileSync(new URL('../policies/quickstart.json', import.meta.url), 'utf-8');
  const n = 400_000;
  const run = (policy, id) => {
    policy.createCustomerSync(id, 'growth');
    const t = performance.now();
    let ok = 0;
    for (let i = 0; i < n; i++) if (policy.allowSync(id, 'ai-chat-input', 1)) ok++;
    if (ok !== n) throw new Error('denied');
    return performance.now() - t;
  };
  let base;
  for (const [label, setup] of [
    ['no handler', () => {}],
    ['handler on meter-limit', (p) => p.addHandlerSync('alerts', () => {}, { events: ['meter-limit'] })],
    ['no-op handler, all events', (p) => p.addHandlerSync('noop', () => {})],
  ]) {
    const p = await Limitr.new(qs, 'json');
    setup(p);
    run(p, 'jit');
    const ms = Math.min(run(p, 'a'), run(p, 'b'), run(p, 'c'));
    base ??= ms;
    const ratio = ms === base ? '' : ` = ${(base / ms).toFixed(2)}× no handler`;
    console.log(`wasm ${runtime}, quick start warm, ${label}: sync allow ${rate(n, ms)}${ratio}`);
  }
}
