// A real workerd (npm `miniflare` ships it) runs a worker bundled the way wrangler bundles (esbuild,
// conditions workerd/worker/browser, the `.wasm` kept as a CompiledWasm module import), and answers
// HTTP requests by calling `allow`; state survives between requests through a KV namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function bundle() {
  const dir = mkdtempSync(join(tmpdir(), 'limitr-workerd-'));
  mkdirSync(join(dir, 'node_modules', '@formata'), { recursive: true });
  symlinkSync(join(root, 'npm'), join(dir, 'node_modules', '@formata', 'limitr'));
  await build({
    entryPoints: [join(root, 'tests/wasm/worker/worker.mjs')],
    outfile: join(dir, 'worker.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    logLevel: 'warning',
    plugins: [
      {
        name: 'wasm-module',
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, () => ({ path: './limitr_wasm_bg.wasm', external: true }));
          // The worker's `@formata/limitr` is the package in npm/, installed as a dependency would be.
          b.onResolve({ filter: /^@formata\/limitr/ }, (args) =>
            args.pluginData ? undefined : b.resolve(args.path, { kind: args.kind, resolveDir: dir, pluginData: true }),
          );
        },
      },
    ],
  });
  return dir;
}

test('workerd: the quick start loop over HTTP, state kept in KV between requests', async () => {
  const dir = await bundle();
  const script = readFileSync(join(dir, 'worker.js'), 'utf-8');
  assert.match(script, /from "\.\/limitr_wasm_bg\.wasm"/, 'the .wasm is imported as a module');
  const mf = new Miniflare({
    modulesRoot: dir,
    modules: [
      { type: 'ESModule', path: join(dir, 'worker.js'), contents: script },
      { type: 'CompiledWasm', path: join(dir, 'limitr_wasm_bg.wasm'), contents: readFileSync(join(root, 'npm/dist/wasm/limitr_wasm_bg.wasm')) },
    ],
    compatibilityDate: '2026-01-01',
    kvNamespaces: ['STATE'],
  });
  try {
    const get = async (path) => {
      const r = await mf.dispatchFetch(`http://limitr.test${path}`);
      const body = await r.json();
      assert.equal(r.status, 200, JSON.stringify(body));
      return body;
    };
    const created = await get('/customer?id=user_starter&plan=starter');
    assert.equal(created.plan, 'starter');
    const answers = [];
    for (const tokens of [120000, 95000, 180000, 60000, 90000]) {
      answers.push(await get(`/request?customer=user_starter&tokens=${tokens}`));
    }
    assert.deepEqual(answers.map((a) => a.allowed), [true, true, true, true, false]);
    assert.deepEqual(answers.map((a) => a.remaining), [380000, 285000, 105000, 45000, 45000]);
    assert.deepEqual(answers.map((a) => a.output), [54545, 97726, 179544, 206816, 206816]);
    // State saved by earlier requests: the meter is in KV, a fresh load sees it.
    const state = await get('/customer-state?id=user_starter');
    assert.equal(state.meters['ai-chat-input'].value, 455000);
    assert.deepEqual(await get('/allow?customer=user_starter&entitlement=ai-chat-input&value=45000'), { allowed: true });
    assert.deepEqual(await get('/allow?customer=user_starter&entitlement=ai-chat-input&value=1'), { allowed: false });
    const bad = await mf.dispatchFetch('http://limitr.test/allow?customer=&entitlement=ai-chat-input');
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error, 'INVALID_ARGUMENT');
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
