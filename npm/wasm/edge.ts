// Entry for workerd (Cloudflare Workers), Vercel Edge and other workers where runtime compilation is
// forbidden: the compiled module is imported as a module (`CompiledWasm`), the way wrangler bundles.
import * as glue from '../../bindings/wasm/pkg-web/limitr_wasm.js';
import wasmModule from '../../bindings/wasm/pkg-web/limitr_wasm_bg.wasm';
import { bindWasm, type WasmGlue } from '../src/wasm.js';
import { withFormats } from './formats.js';

bindWasm(withFormats(glue as unknown as WasmGlue), wasmModule as WebAssembly.Module);

export * from '../src/wasm.js';
export { default } from '../src/wasm.js';
