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
