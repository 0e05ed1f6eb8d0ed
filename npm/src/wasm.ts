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
import type { Handle, NativeBackend } from './native.js';
import { invalidArgument } from './errors.js';

export * from './index.js';

/**
 * The wasm-bindgen glue (`--target web`): the backend functions plus its loaders; `allowPlain` is
 * made of the scratch calls below.
 */
export interface WasmGlue extends Omit<NativeBackend, 'allowPlain' | 'eventCounter'> {
  /** Address of the engine's count of queued events (a `u32` in linear memory). */
  eventCounter(h: Handle): number;
  initSync(module: { module: WebAssembly.Module | BufferSource }): unknown;
  /** Address and size of the scratch buffer the hot calls read their two strings from. */
  scratch(): number;
  scratchLen(): number;
  /** `allow`/`check` on the strings in the scratch buffer: 0 false, 1 true, 2 failed. */
  allowScratch(h: Handle, customerLen: number, entitlementLen: number, value: number, events: boolean): number;
  checkScratch(h: Handle, customerLen: number, entitlementLen: number, value: number): number;
  /** The error of the last scratch call that answered 2. */
  takeError(): unknown;
}

/**
 * Writes `text` into `view` at `at` when it is ASCII and fits; returns the end, or -1 (the caller
 * then uses the generated call, which encodes any text).
 */
function ascii(text: string, view: Uint8Array, at: number): number {
  const n = text.length;
  if (at + n > view.length) return -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 127) return -1;
    view[at + i] = c;
  }
  return at + n;
}

/**
 * The backend over the glue: `allowPlain` and `check` pass their two strings through the scratch
 * buffer (`bindings/wasm/src/scratch.rs`): no allocation in linear memory and no result array per
 * call; text that is not ASCII or does not fit goes through the generated `allow`/`check`.
 * `memory` is the instance's memory (the view is remade after it grows).
 */
function withScratch(g: WasmGlue, memory: WebAssembly.Memory): NativeBackend {
  const at = g.scratch();
  const len = g.scratchLen();
  let view = new Uint8Array(memory.buffer, at, len);
  const strings = (customer: string, entitlement: string): [number, number] | undefined => {
    // a grown memory detaches the old buffer (its views read as empty): remake the view then
    if (view.length === 0) view = new Uint8Array(memory.buffer, at, len);
    const c = ascii(customer, view, 0);
    const e = c < 0 ? -1 : ascii(entitlement, view, c);
    return e < 0 ? undefined : [c, e - c];
  };
  // text that is not ASCII takes the generated calls, whose encoder would turn a lone surrogate
  // into U+FFFD: such text is refused here, as the addon refuses it
  const wellFormed = (customer: string, entitlement: string): void => {
    for (const [name, v] of [['customer', customer], ['entitlement', entitlement]] as const) {
      if (!(v as unknown as { isWellFormed(): boolean }).isWellFormed()) {
        throw invalidArgument(name, 'not valid Unicode: the text holds a lone surrogate (ids and names must be well-formed text)');
      }
    }
  };
  const result = (r: number): boolean => {
    if (r === 2) throw g.takeError();
    return r === 1;
  };
  return {
    ...g,
    // a view of the counter: after the memory grows it reads as empty, and the face asks again
    eventCounter: (h) => new Uint32Array(memory.buffer, g.eventCounter(h), 1),
    allowPlain(h, customer, entitlement, value, events) {
      const s = strings(customer, entitlement);
      if (s === undefined) wellFormed(customer, entitlement);
      return s === undefined
        ? g.allow(h, customer, entitlement, value, events)
        : result(g.allowScratch(h, s[0], s[1], value, events));
    },
    check(h, customer, entitlement, value) {
      const s = strings(customer, entitlement);
      return s === undefined ? g.check(h, customer, entitlement, value) : result(g.checkScratch(h, s[0], s[1], value));
    },
  };
}

/** Instantiates the module on the glue and returns the backend over it. */
function instantiate(g: WasmGlue, module: WebAssembly.Module | BufferSource): NativeBackend {
  const { memory } = g.initSync({ module }) as { memory: WebAssembly.Memory };
  return withScratch(g, memory);
}

/** Where a host finds the compiled module when it is first needed. */
export type WasmSource = () => WebAssembly.Module | BufferSource | Promise<WebAssembly.Module | BufferSource>;

let glue: WasmGlue | undefined;
let backend: NativeBackend | undefined;
let source: WasmSource | undefined;
let loading: Promise<void> | undefined;

/** Installs the glue; with a `WasmSource`, compilation waits for the first `Limitr.new`/`ready()`. */
export function bindWasm(g: WasmGlue, from?: WebAssembly.Module | BufferSource | WasmSource): void {
  glue = g;
  if (typeof from === 'function') {
    source = from as WasmSource;
  } else if (from !== undefined) {
    backend = instantiate(g, from);
    loading = Promise.resolve();
  }
}

/** Resolves once the engine is compiled and instantiated (then `Limitr.newSync` works too). */
export function ready(): Promise<void> {
  if (loading === undefined) {
    const g = glue;
    const s = source;
    if (g === undefined || s === undefined) return Promise.reject(new Error('limitr: the WASM engine is not bound'));
    loading = Promise.resolve(s()).then((m) => {
      backend = instantiate(g, m);
    });
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}

/** The backend, once {@link ready}. */
export function wasmBackend(): NativeBackend {
  if (backend === undefined) {
    throw new Error('limitr: the WASM engine is not loaded yet: `await ready()` (or use `Limitr.new`) first');
  }
  return backend;
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
