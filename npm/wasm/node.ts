// Entry for Node and Bun (`@formata/limitr/wasm`): the `.wasm` next to this file is read and
// compiled synchronously at import, so `Limitr.newSync` works at once.
import { readFileSync } from 'node:fs';
import * as glue from '../../bindings/wasm/pkg-web/limitr_wasm.js';
import { bindWasm, type WasmGlue } from '../src/wasm.js';
import { withFormats } from './formats.js';

bindWasm(withFormats(glue as unknown as WasmGlue), readFileSync(new URL('./limitr_wasm_bg.wasm', import.meta.url)));

export * from '../src/wasm.js';
export { default } from '../src/wasm.js';
