/**
 * `@formata/limitr` on WebAssembly: the same TypeScript face as the Node/Bun package, driven by the
 * WASM build of the engine (`bindings/wasm`) instead of the napi addon. For edge workers
 * (Cloudflare Workers, Vercel Edge, Deno) and browsers: no filesystem, no native code; the clock is
 * `Date.now()` unless `Limitr.new(doc, fmt, { now })` passes one.
 *
 * This module is backend-agnostic: an entry per host (`npm/wasm/*.ts`) obtains the compiled module
 * its own way (a `.wasm` module import in workerd, `fetch` in browsers, a file read in Node/Bun) and
 * calls {@link bindWasm} with the generated glue.
 */
import { Limitr as Face, type Format, type LimitrOptions } from './index.js';
import type { NativeBackend } from './native.js';

export * from './index.js';

/** The wasm-bindgen glue (`--target web`): the backend functions plus its loaders. */
export interface WasmGlue extends NativeBackend {
  initSync(module: { module: WebAssembly.Module | BufferSource }): unknown;
}

/** Where a host finds the compiled module when it is first needed. */
export type WasmSource = () => WebAssembly.Module | BufferSource | Promise<WebAssembly.Module | BufferSource>;

let glue: WasmGlue | undefined;
let source: WasmSource | undefined;
let loading: Promise<void> | undefined;

/** Installs the glue; with a `WasmSource`, compilation waits for the first `Limitr.new`/`ready()`. */
export function bindWasm(g: WasmGlue, from?: WebAssembly.Module | BufferSource | WasmSource): void {
  if (typeof from === 'function') {
    source = from as WasmSource;
  } else if (from !== undefined) {
    g.initSync({ module: from });
    loading = Promise.resolve();
  }
  glue = g;
}

/** Resolves once the engine is compiled and instantiated (then `Limitr.newSync` works too). */
export function ready(): Promise<void> {
  if (loading === undefined) {
    const g = glue;
    const s = source;
    if (g === undefined || s === undefined) return Promise.reject(new Error('limitr: the WASM engine is not bound'));
    loading = Promise.resolve(s()).then((m) => {
      g.initSync({ module: m });
    });
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}

/** The backend, once {@link ready}. */
export function wasmBackend(): NativeBackend {
  if (glue === undefined || loading === undefined) {
    throw new Error('limitr: the WASM engine is not loaded yet: `await ready()` (or use `Limitr.new`) first');
  }
  return glue;
}

/** Every error code a call can reject with. */
export function errorCodes(): string[] {
  return wasmBackend().errorCodes();
}

/** A policy engine on WebAssembly: the type is the package's `Limitr`. */
export type Limitr = Face;

/** `Limitr.new` / `Limitr.newSync` on the WASM backend; everything else is the shared face. */
export const Limitr = {
  /** Loads a policy: text in `format` (`json`, `yaml`, `toml`) or an already-parsed object. */
  async new(doc: string | object, format: Format = 'json', options: LimitrOptions = {}): Promise<Face> {
    await ready();
    return Face.withBackend(wasmBackend(), doc, format, options);
  },
  /** Synchronous twin of `new`, once the engine is loaded (`await ready()`). */
  newSync(doc: string | object, format: Format = 'json', options: LimitrOptions = {}): Face {
    return Face.withBackend(wasmBackend(), doc, format, options);
  },
  /** Loads a policy on a given backend. */
  withBackend: Face.withBackend,
};

export default Limitr;
