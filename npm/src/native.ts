/**
 * The seam between the TypeScript face and an engine backend.
 *
 * Two backends implement {@link NativeBackend}: the napi-rs addon (`bindings/node`, loaded here) and,
 * later, the WASM build (`bindings/wasm`). The contract is small, synchronous and primitive-typed so
 * that both can offer it cheaply:
 *
 * - arguments and results are strings, numbers, booleans and `null`; objects cross as JSON text
 *   (the core writes exact decimals into that text; `JSON.parse` turns them into numbers);
 * - `Handle` is opaque: a number indexing the addon's engine table here (cheaper per call than a
 *   napi `External`), an object for WASM; `free(h)` releases it (the face calls it when the
 *   `Limitr` is garbage-collected);
 * - amounts are JS numbers; the backend converts them to exact decimals (NaN and ±Infinity fail);
 *   amounts written as text (`"500MB"`) go through `quantity` first;
 * - a failing call throws an `Error` whose `code` is the core's stable code and whose `message` is
 *   JSON text `{"message": string, "issues": [{path, code, message, severity}]}`;
 * - events are queued only between `collectEvents(h, true, names)` and `collectEvents(h, false)`
 *   (only the named ones, or all with `names = null`), and `takeEvents` drains them flat:
 *   `[name, payloadJson, name, payloadJson, …]`; `eventCounter(h)[0]` counts them without a call.
 *
 * Free functions over a handle rather than methods of a native class: on Node 20 a napi class
 * method costs ~200 ns more per call.
 */
export type Handle = number | object;

export interface NativeBackend {
  /** `options`: JSON `{journal?, sync?, sync_ms?, snapshot_every?, max_document_bytes?}` or null. */
  load(text: string, format: string, options: string | null): Handle;
  free(h: Handle): void;
  errorCodes(): string[];
  setNow(h: Handle, ms: number | null): void;
  /** `profile`: JSON `{type?, label?, refs?, alt_ids?, metadata?}` or null. */
  createCustomer(h: Handle, id: string, plan: string | null, profile?: string | null): string;
  /** `fields`: JSON object of limit fields (`value`, `mode`, `credit`, `resets`, …). */
  createCustomerOverride(h: Handle, id: string, entitlement: string, fields: string, expiresOn: number | null): boolean;
  removeCustomerOverride(h: Handle, id: string, entitlement: string): boolean;
  addAltId(h: Handle, id: string, alt: string): boolean;
  ensurePlanSubscription(h: Handle, id: string): boolean;
  ensureIncludedTopups(h: Handle, id: string, events: boolean): boolean;
  ensureCustomer(h: Handle, id: string, plan: string | null): boolean;
  customer(h: Handle, id: string): string | null;
  exportCustomer(h: Handle, id: string): string | null;
  importCustomer(h: Handle, record: string): boolean;
  customers(h: Handle): string;
  removeCustomer(h: Handle, id: string): boolean;
  setCustomerPlan(h: Handle, id: string, plan: string, resetMeters: boolean): boolean;
  /**
   * `allow` with options: `overhead`, `eventData` and `caps` (JSON `{credit: ceiling}`, call-scoped
   * caps); without them the face calls {@link NativeBackend.allowPlain}.
   */
  allow(
    h: Handle,
    customer: string,
    entitlement: string,
    value: number,
    events: boolean,
    overhead?: number | null,
    eventData?: string | null,
    caps?: string | null,
    idempotencyKey?: string | null,
  ): boolean;
  /**
   * `allow` on a worker thread, for engines on a network store (the addon only; the WASM build has
   * no network store): resolves to `=true` / `=false`, or `!<code>\n<message JSON>` for an error.
   */
  allowAsync?(
    h: Handle,
    customer: string,
    entitlement: string,
    value: number,
    events: boolean,
    overhead: number | null,
    eventData: string | null,
    caps: string | null,
    idempotencyKey: string | null,
  ): Promise<string>;
  /** `check` on a worker thread, as {@link NativeBackend.allowAsync}. */
  checkAsync?(h: Handle, customer: string, entitlement: string, value: number): Promise<string>;
  // the same on a worker thread for these calls (arguments as for their sync twins); each
  // resolves to `=<JSON answer>` or `!<code>\n<message JSON>`
  incrementAsync?(h: Handle, customer: string, entitlement: string, events: boolean, idempotencyKey: string | null): Promise<string>;
  decrementAsync?(h: Handle, customer: string, entitlement: string, events: boolean, idempotencyKey: string | null): Promise<string>;
  setAsync?(h: Handle, customer: string, entitlement: string, value: number, events: boolean, idempotencyKey: string | null): Promise<string>;
  valueAsync?(h: Handle, customer: string, entitlement: string, percent: boolean, grants: boolean): Promise<string>;
  remainingAsync?(h: Handle, customer: string, entitlement: string, percent: boolean, grants: boolean): Promise<string>;
  reserveAsync?(h: Handle, customer: string, entitlement: string, options: string | null): Promise<string>;
  settleAsync?(
    h: Handle,
    customer: string,
    entitlement: string,
    hold: string,
    value: number,
    last: boolean,
    events: boolean,
    overhead: number | null,
    eventData: string | null,
    caps: string | null,
    idempotencyKey: string | null,
  ): Promise<string>;
  releaseAsync?(h: Handle, customer: string, entitlement: string, hold: string, idempotencyKey: string | null): Promise<string>;
  /** Whether the engine's store does network I/O (absent: never). */
  isNetwork?(h: Handle): boolean;
  /** An amount written as text (`"500MB"`, `"1.5min"`) in the unit of the entitlement's credit. */
  quantity(h: Handle, customer: string, entitlement: string, text: string): number;
  /** `allow` without options, the hot loop's call (a raw Node-API callback; WASM: the scratch buffer). */
  allowPlain(h: Handle, customer: string, entitlement: string, value: number, events: boolean): boolean;
  check(h: Handle, customer: string, entitlement: string, value: number): boolean;
  /** `caps`: JSON `{credit: ceiling}` of call-scoped caps, or null. */
  checkDetail(h: Handle, customer: string, entitlement: string, value: number, overhead: number | null, caps: string | null): string;
  checkIncrement(h: Handle, customer: string, entitlement: string): boolean;
  /** The limit's increment (null without a limit); `id` may be a plan name. */
  cost(h: Handle, id: string, entitlement: string): number | null;
  increment(h: Handle, customer: string, entitlement: string, events: boolean, idempotencyKey: string | null): boolean;
  decrement(h: Handle, customer: string, entitlement: string, events: boolean, idempotencyKey: string | null): boolean;
  set(h: Handle, customer: string, entitlement: string, value: number, events: boolean, idempotencyKey: string | null): boolean;
  value(h: Handle, customer: string, entitlement: string, percent: boolean, grants: boolean): number | null;
  remaining(h: Handle, customer: string, entitlement: string, percent: boolean, grants: boolean): number | null;
  limit(h: Handle, id: string, entitlement: string, grants: boolean): number | null;
  resets(h: Handle, customer: string, entitlement: string): number | null;
  applyCustomerTopup(h: Handle, customer: string, topup: string, idempotencyKey: string | null): boolean;
  remainingCredit(h: Handle, customer: string, credit: string): number | null;
  creditExchange(h: Handle, from: string, to: string, value: number): number | null;
  // caps (`options`: JSON of snake_case cap options) and margins (JSON records)
  addCustomerCap(h: Handle, id: string, value: number, options: string | null): string | null;
  customerCap(h: Handle, id: string, capId: string): string | null;
  resetCustomerCap(h: Handle, id: string, capId: string): boolean;
  removeCustomerCap(h: Handle, id: string, capId: string, events: boolean): boolean;
  customerMargin(h: Handle, customer: string): string | null;
  /** `usage`: JSON `{entitlement: value | {value, overhead?, limit?}}`. */
  planMargin(h: Handle, plan: string, usage: string, scaled: boolean): string;
  // reservations, estimates, trends
  /** `options`: JSON `{value?, ttl?, quantile?, basis?, segment?, overhead?, context?, idempotency_key?}` or null. */
  reserve(h: Handle, customer: string, entitlement: string, options: string | null): string | null;
  settle(
    h: Handle,
    customer: string,
    entitlement: string,
    hold: string,
    value: number,
    last: boolean,
    events: boolean,
    overhead: number | null,
    eventData: string | null,
    caps: string | null,
    idempotencyKey: string | null,
  ): boolean;
  release(h: Handle, customer: string, entitlement: string, hold: string, idempotencyKey: string | null): boolean;
  held(h: Handle, customer: string, entitlement: string): number | null;
  observe(
    h: Handle,
    customer: string,
    entitlement: string,
    value: number,
    overhead: number | null,
    basis: number | null,
    segment: string | null,
    eventData: string | null,
  ): boolean;
  estimate(h: Handle, customer: string, entitlement: string, quantile: number, basis: number | null, segment: string | null): string | null;
  rate(h: Handle, customer: string, entitlement: string, smoothed: boolean): number;
  acceleration(h: Handle, customer: string, entitlement: string): number;
  projectedExhaustion(h: Handle, customer: string, entitlement: string, smoothed: boolean, grants: boolean): number | null;
  allowance(h: Handle, customer: string, entitlement: string, grants: boolean): number | null;
  record(h: Handle): string;
  stringify(h: Handle, format: string): string;
  lint(h: Handle): string;
  /** `events`: the names to queue (null: every event); an unknown name throws `INVALID_ARGUMENT`. */
  collectEvents(h: Handle, on: boolean, events?: string[] | null): void;
  takeEvents(h: Handle): string[];
  /** A live view of the count of queued events (`[0]`); `takeEvents` resets it. */
  eventCounter(h: Handle): ArrayLike<number>;
}

import addon from '#native';

/**
 * The addon's raw Node-API callbacks for hot loops (`bindings/node/src/fast.rs`): `allow` without
 * options and `check`, ~150 ns cheaper per call than napi-rs's generated glue. They are set on the
 * exports at load (not in napi's generated typings) and read at call time, so bundles that replace
 * the addon (WASM) never touch them.
 */
interface PlainCalls {
  allowPlain: NativeBackend['allowPlain'];
  checkPlain: NativeBackend['check'];
  eventCounter(h: Handle): ArrayBuffer;
}

const plain = addon as unknown as PlainCalls;

/** The napi-rs addon (`native/index.js`, generated by `napi build`), its hot calls raw. */
export const napi: NativeBackend = {
  ...(addon as Omit<NativeBackend, 'allowPlain' | 'eventCounter'>),
  eventCounter: (h) => new Uint32Array(plain.eventCounter(h)),
  allowPlain: (h, customer, entitlement, value, events) => plain.allowPlain(h, customer, entitlement, value, events),
  check: (h, customer, entitlement, value) => plain.checkPlain(h, customer, entitlement, value),
};
