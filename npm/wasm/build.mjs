// Bundles the WASM entries of @formata/limitr into npm/dist/wasm/ with esbuild: the shared face
// (npm/src) + the wasm-bindgen glue (bindings/wasm/pkg-web), the napi addon replaced by a stub, and
// the `.wasm` left beside the bundles (imported as a module by edge.js, fetched by browser.js, read
// by node.js). Run by bindings/wasm/build.sh after wasm-bindgen.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'wasm');
const wasm = join(here, '..', '..', 'bindings', 'wasm', 'pkg-web', 'limitr_wasm_bg.wasm');
mkdirSync(out, { recursive: true });
// `yaml`'s ESM build (its "default" export) for every entry: the "node" one is CommonJS and needs
// `require('process')`, which an ESM bundle cannot do.
const yamlEsm = join(dirname(createRequire(import.meta.url).resolve('yaml/package.json')), 'browser', 'index.js');

const wasmBesideBundle = {
  name: 'limitr-wasm',
  setup(b) {
    b.onResolve({ filter: /^#native$/ }, () => ({ path: join(here, 'no-native.ts') }));
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: yamlEsm }));
    b.onResolve({ filter: /\.wasm$/ }, () => ({ path: './limitr_wasm_bg.wasm', external: true }));
  },
};

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  legalComments: 'none',
  plugins: [wasmBesideBundle],
  logLevel: 'warning',
};
await Promise.all([
  build({ ...common, entryPoints: [join(here, 'edge.ts')], outfile: join(out, 'edge.js'), platform: 'neutral' }),
  build({ ...common, entryPoints: [join(here, 'browser.ts')], outfile: join(out, 'browser.js'), platform: 'browser' }),
  build({ ...common, entryPoints: [join(here, 'node.ts')], outfile: join(out, 'node.js'), platform: 'node' }),
]);
copyFileSync(wasm, join(out, 'limitr_wasm_bg.wasm'));
writeFileSync(join(out, 'package.json'), '{"type":"module","sideEffects":true}\n');
// The types are the shared face's (npm/src/wasm.ts, compiled with the rest of npm/src).
const dts = "export * from '../cjs/wasm.js';\nexport { default } from '../cjs/wasm.js';\n";
for (const name of ['edge', 'browser', 'node']) writeFileSync(join(out, `${name}.d.ts`), dts);
console.log(`bundled ${out}/{edge,browser,node}.js`);
