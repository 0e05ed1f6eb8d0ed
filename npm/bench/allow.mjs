// Operations per second of `allow` through the package (sync twin and awaited), on one warm
// customer and round-robin over 100k customers. A plain script: `just bench-node` runs it under Node
// and Bun. Targets (issue 3): ≥ 3M sync and ≥ 1.5M awaited allow/s, on the warm customer (the
// binding's per-call cost); over 100k customers each call also waits for one memory load (the
// customer is out of cache; README "Measured").
import { loadavg } from 'node:os';
import { Limitr } from '../dist/esm/index.mjs';

const runtime = typeof Bun !== 'undefined' ? `Bun ${Bun.version}` : `Node ${process.versions.node}`;
const doc = {
  policy: {
    credits: { tok: { stof_units: 'int' } },
    plans: {
      free: {
        default: true,
        entitlements: { chat: { limit: { credit: 'tok', value: 1e15, resets: true, reset_inc: '30days' } } },
      },
    },
  },
};

const N_SYNC = 2_000_000;
const N_ASYNC = 1_000_000;
const CUSTOMERS = 100_000;

function rate(n, ms) {
  return `${(n / (ms / 1000) / 1e6).toFixed(2)}M/s (${((ms * 1e6) / n).toFixed(0)} ns/op)`;
}

function syncRun(policy, ids) {
  const m = ids.length;
  const t = performance.now();
  let ok = 0;
  for (let i = 0; i < N_SYNC; i++) if (policy.allowSync(ids[i % m], 'chat', 1)) ok++;
  const ms = performance.now() - t;
  if (ok !== N_SYNC) throw new Error('denied');
  return ms;
}

async function asyncRun(policy, ids) {
  const m = ids.length;
  const t = performance.now();
  let ok = 0;
  for (let i = 0; i < N_ASYNC; i++) if (await policy.allow(ids[i % m], 'chat', 1)) ok++;
  const ms = performance.now() - t;
  if (ok !== N_ASYNC) throw new Error('denied');
  return ms;
}

const policy = await Limitr.new(doc, 'json');
const warm = ['warm'];
policy.createCustomerSync('warm');
const many = Array.from({ length: CUSTOMERS }, (_, i) => `user_${i}`);
for (const id of many) policy.createCustomerSync(id);

// warm-up (JIT)
syncRun(policy, warm);
await asyncRun(policy, warm);

const best = (f) => async (...a) => Math.min(await f(...a), await f(...a), await f(...a));
console.log(`${runtime} (load average ${loadavg()[0].toFixed(2)} on this machine: other work inflates ns/op)`);
console.log(`  sync    allowSync, warm customer:     ${rate(N_SYNC, await best(syncRun)(policy, warm))}`);
console.log(`  sync    allowSync, 100k customers:    ${rate(N_SYNC, await best(syncRun)(policy, many))}`);
console.log(`  awaited allow,     warm customer:     ${rate(N_ASYNC, await best(asyncRun)(policy, warm))}`);
console.log(`  awaited allow,     100k customers:    ${rate(N_ASYNC, await best(asyncRun)(policy, many))}`);

// Handlers on the quick start's warm customer (growth plan, `ai-chat-input`): no handler, one
// listening to `meter-limit` only (target ≥ 0.8× the handlerless figure: such a call builds no
// event), one no-op receiving every event (a `meter-changed` payload per call; target ≥ 0.3×). Each
// run meters a fresh customer, 400k calls inside its 700k daily limit.
const { readFileSync } = await import('node:fs');
const qs = readFileSync(new URL('../../tests/policies/quickstart.json', import.meta.url), 'utf-8');
const N_QS = 400_000;
function qsRun(policy, id) {
  policy.createCustomerSync(id, 'growth');
  const t = performance.now();
  let ok = 0;
  for (let i = 0; i < N_QS; i++) if (policy.allowSync(id, 'ai-chat-input', 1)) ok++;
  const ms = performance.now() - t;
  if (ok !== N_QS) throw new Error('denied');
  return ms;
}
const rates = {};
for (const [label, setup] of [
  ['no handler', () => {}],
  ['handler on meter-limit', (p) => p.addHandlerSync('alerts', () => {}, { events: ['meter-limit'] })],
  ['no-op handler, all events', (p) => p.addHandlerSync('noop', () => {})],
]) {
  const p = await Limitr.new(qs, 'json');
  setup(p);
  qsRun(p, 'jit'); // warm-up
  const ms = Math.min(qsRun(p, 'a'), qsRun(p, 'b'), qsRun(p, 'c'));
  rates[label] = N_QS / ms;
  const ratio = label === 'no handler' ? '' : ` = ${(rates[label] / rates['no handler']).toFixed(2)}× no handler`;
  console.log(`  sync    allowSync, quick start, ${label.padEnd(26)} ${rate(N_QS, ms)}${ratio}`);
}
