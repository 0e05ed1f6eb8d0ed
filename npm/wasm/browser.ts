// Entry for browsers and Deno: the `.wasm` next to this file is fetched and compiled on the first
// `Limitr.new` (or `await ready()`); bundlers that understand `new URL(…, import.meta.url)` ship it.
import * as glue from '../../bindings/wasm/pkg-web/limitr_wasm.js';
import { bindWasm, type WasmGlue } from '../src/wasm.js';
import { withFormats } from './formats.js';

bindWasm(withFormats(glue as unknown as WasmGlue), async () => {
  const url = new URL('./limitr_wasm_bg.wasm', import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`limitr: could not fetch ${url}: HTTP ${response.status}`);
  return WebAssembly.compile(await response.arrayBuffer());
});

export * from '../src/wasm.js';
export { default } from '../src/wasm.js';
