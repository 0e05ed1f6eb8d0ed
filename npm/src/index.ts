/**
 * `@formata/limitr`: embedded usage and limit enforcement for Bun and Node.
 *
 * ```ts
 * import { Limitr } from '@formata/limitr';
 * const policy = await Limitr.new(readFileSync('./policy.json', 'utf-8'), 'json');
 * await policy.createCustomer('user_starter', 'starter');
 * if (await policy.allow('user_starter', 'ai-chat-input', 120000)) { … }
 * ```
 *
 * Every call returns a Promise. Each has a synchronous twin named `…Sync`
 * (`allowSync`, `valueSync`, `Limitr.newSync`, …) for hot loops: the async call is a thin `async`
 * wrapper over it, with no thread hop, so both see the same state in the same order.
 *
 * Reads with no answer (unknown customer or entitlement, unlimited entitlement, no exchange path)
 * resolve to `undefined`. Failures reject with a {@link LimitrError} carrying a stable `code`.
 */
import { LimitrError, fromNative, invalidArgument, type PolicyIssue } from './errors.js';
import { napi, type Handle, type NativeBackend } from './native.js';

export { LimitrError, type PolicyIssue } from './errors.js';
export type { NativeBackend, Handle } from './native.js';

/** Document formats: text in one of these, or an already-parsed object. */
export type Format = 'json' | 'yaml' | 'toml';

/**
 * An event handler: `key` is the event name (`meter-changed`, `meter-limit`, `customer-set`, …) and
 * `value` its payload as JSON text (`JSON.parse(value)` gives the snake_case record).
 */
export type Handler = (key: string, value: string) => unknown;

/** Options of {@link Limitr.addHandler}. */
export interface HandlerOptions {
  /**
   * The events this handler receives (`['meter-limit', 'meter-overage']`, or names of the policy's
   * notification rules); every event when omitted. Events no handler listens to are never built.
   * An unknown name is `INVALID_ARGUMENT`: `events[1]: unknown event "meter-limt"`.
   */
  events?: string[];
}

/** Options of {@link Limitr.new}. */
export interface LimitrOptions {
  /**
   * The clock, in epoch milliseconds, read before every call (resets, expiries). Without it the
   * engine uses the system clock.
   */
  now?: () => number;
  /**
   * Told when a handler throws (or its promise rejects). The decision stands and the other handlers
   * still run. Default: `console.error`.
   */
  onHandlerError?: (error: unknown, handler: string, event: string) => void;
  /**
   * A directory for durable state (Node and Bun; the WASM build refuses it). On open the engine
   * restores every customer from the directory, then applies the document's rules; every change is
   * appended before its call returns, so a crash (even SIGKILL) loses no acknowledged change.
   */
  journal?: string;
  /**
   * When the journal fsyncs: `always` (before each call returns; concurrent calls share one fsync),
   * `batch` (every `syncMs`, default 5) or `os` (left to the OS; still safe from a process crash).
   * Default `batch`.
   */
  sync?: 'always' | 'batch' | 'os';
  /** The `batch` fsync interval in ms (default 5). */
  syncMs?: number;
  /** Journal records between snapshots (default 1,000,000). */
  snapshotEvery?: number;
  /** Largest document text accepted, in bytes (default 32 MiB). */
  maxDocumentBytes?: number;
  /**
   * How long an idempotency key answers its retries, in ms (default: the policy's
   * `idempotency_ttl`, else 24 h).
   */
  idempotencyTtlMs?: number;
  /**
   * A shared store instead of memory or a journal (Node and Bun; the WASM build refuses it):
   * every engine on the same Redis server and `prefix` enforces the same limits, a hard limit is
   * never overspent across them. Each call is one round trip to Redis (at most `timeoutMs`,
   * default 250): awaited `allow` and `check` run on a worker thread and leave the event loop
   * running; the other calls and the sync twins block the calling thread for the round trip.
   * `mode`: `exact` (every decision one commit).
   */
  store?: StoreOptions;
  /**
   * Unknown references raise instead of answering: an unknown plan (`createCustomer`,
   * `setCustomerPlan`) is `UNKNOWN_PLAN`, an unknown top-up `UNKNOWN_TOPUP`, an unknown credit in an
   * override or a cap `UNKNOWN_CREDIT`. Default false: they answer false / undefined (a customer
   * created on an unknown plan gets the default plan) and store nothing.
   */
  strict?: boolean;
}

/** {@link LimitrOptions.store}: the Redis server that holds the customers. */
export interface StoreOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  redis: string;
  /** The namespace of the customers' keys (default `limitr`). */
  prefix?: string;
  /** The call timeout in ms (default 250). */
  timeoutMs?: number;
  /** `exact` (the default and only mode built). */
  mode?: 'exact';
}

/** {@link StoreOptions} as the core reads them (unknown keys refused by name). */
function storeOptions(v: unknown): Record<string, unknown> {
  const o = callOptions<StoreOptions>('options.store', obj('options.store', v), ['redis', 'prefix', 'timeoutMs', 'mode']);
  const t = o.timeoutMs as unknown;
  if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t) || t < 1)) {
    throw invalidArgument('options.store.timeoutMs', `expected a positive integer, got ${describe(t)}`);
  }
  return { redis: o.redis, prefix: o.prefix, timeout_ms: t, mode: o.mode };
}

/** The load options for the backend, as JSON; every number checked where it enters. */
function loadOptions(options: LimitrOptions): string | null {
  const count = (name: string, v: unknown): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw invalidArgument(`options.${name}`, `expected a non-negative integer, got ${describe(v)}`);
    }
    return v;
  };
  const o = {
    journal: options.journal === undefined ? undefined : str('options.journal', options.journal),
    sync: options.sync === undefined ? undefined : str('options.sync', options.sync),
    sync_ms: count('syncMs', options.syncMs),
    snapshot_every: count('snapshotEvery', options.snapshotEvery),
    max_document_bytes: count('maxDocumentBytes', options.maxDocumentBytes),
    idempotency_ttl_ms: count('idempotencyTtlMs', options.idempotencyTtlMs),
    store: options.store === undefined ? undefined : storeOptions(options.store),
    strict: options.strict === undefined ? undefined : bool('options.strict', options.strict),
  };
  return Object.values(o).some((v) => v !== undefined) ? JSON.stringify(o) : null;
}

/** Limit fields a customer override may set; the rest is inherited from the plan limit. */
export interface OverrideFields {
  value?: number;
  credit?: string;
  mode?: 'hard' | 'soft' | 'observe';
  increment?: number;
  resets?: boolean;
  reset_inc?: string | number;
  reset_sch?: string;
  [field: string]: unknown;
}

/** Options of {@link Limitr.check}. */
export interface CheckOptions {
  /** Resolve to a {@link CheckDetail} instead of a boolean. */
  detail?: boolean;
  /** Provider cost of the call in runes, as for `allow`. */
  overhead?: number;
  /** Call-scoped caps, as for `allow` (`{ rune: 1.0 }`). */
  caps?: CallCaps;
}

/** Why a call would be allowed or denied. */
export interface CheckDetail {
  allowed: boolean;
  reason: 'ok' | 'limit' | 'cap' | 'rate' | 'held' | 'unknown-customer' | 'unknown-entitlement' | 'scope';
  /** What `remaining()` returns now (null for flags, observe limits and unknowns). */
  remaining: number | null;
  /** When the limit next resets (epoch ms), or null. */
  resets: number | null;
  /** For a `rate` (governor) denial: milliseconds until enough tokens refill; else null. */
  retry_after: number | null;
}

/**
 * Call-scoped spend caps: `{ credit: ceiling }` (`rune`, a currency or a credit). The call is denied
 * when its own cost in that credit would pass the ceiling; nothing is stored.
 */
export type CallCaps = Record<string, number>;

/**
 * The idempotency key of a mutating call (`allow`, `increment`, `decrement`, `set`, `reserve`,
 * `settle`, `release`, `applyCustomerTopup`, `createCustomer`): a retry with the same key for the
 * same customer within the idempotency TTL (the policy's `idempotency_ttl`, default 24 h) answers
 * the first call's answer, changes nothing and fires no event; the same key with other arguments
 * rejects with `IDEMPOTENCY_CONFLICT`. Keys are part of the customer's state (journaled, exported).
 */
export interface Idempotent {
  /** A non-empty string of at most 255 bytes, unique per logical request (e.g. `'req-42'`). */
  idempotencyKey?: string;
}

/** Options of {@link Limitr.allow} (its 6th argument; everything before it is unchanged). */
export interface AllowOptions extends Idempotent {
  /** Call-scoped caps, e.g. `{ rune: 1.0 }`. */
  caps?: CallCaps;
}

/** Options of {@link Limitr.settle} (its 7th argument). */
export interface SettleOptions extends Idempotent {
  /**
   * `false`: a partial settle, for a response still streaming: meters `value` and keeps the rest of
   * the hold (reduced by `value`) for later settles. Default `true`: the hold is removed.
   */
  final?: boolean;
  /** Call-scoped caps, as for `allow`. */
  caps?: CallCaps;
}

/**
 * Options of {@link Limitr.addCustomerCap}, snake_case as in the reference and in the cap's record.
 * Every field is optional.
 */
export interface CapOptions {
  /** Id of the cap (default `cap_<n>`). */
  cap_id?: string;
  /** Currency or credit of the ceiling (default `rune`). */
  credit?: string;
  /** Count other credits through the exchange (default: true for `rune` or a currency, false for a named credit). */
  exchangeable?: boolean;
  /** Units paid by grants do not count. */
  ignore_grants?: boolean;
  /** Only units past the plan limit count. */
  overage_only?: boolean;
  /** Never deny; only accumulate and fire thresholds. */
  observe_only?: boolean;
  /** Count provider overhead instead of list value. */
  overhead_cost?: boolean;
  /** Decrements move the cap down. */
  follow_decrements?: boolean;
  /** Allow while below the ceiling before the call (deny once crossed). */
  hard_trailing?: boolean;
  /** Also apply to calls by customers whose refs reach the holder. */
  shared?: boolean;
  /** Caller types a shared cap applies to. */
  shared_with?: string[];
  /** Entitlements it applies to (default: all). */
  scope?: string[];
  /** Reset the consumption periodically (30 days unless `reset_inc`/`reset_sch`). */
  resets?: boolean;
  /** Rolling period (`30days`, `1day`, or ms). */
  reset_inc?: string | number;
  /** Calendar schedule (`monthly:1`, …). */
  reset_sch?: string;
  /** When it stops applying (epoch ms). */
  expires_on?: number;
  /** Send `customer-cap-added` and `customer-set` (default true). */
  events?: boolean;
}

/** A spend cap, as `addCustomerCap`/`customerCap` return it (and `customer().caps` holds it). */
export interface CapRecord {
  id: string;
  credit: string;
  value: number;
  /** Consumption so far, in the cap's credit. */
  meter_value: number;
  [field: string]: unknown;
}

/** Options of {@link Limitr.reserve}. */
export interface ReserveOptions extends Idempotent {
  /** Units to hold (a number, or text with a unit: `"500MB"`); default: the learned estimate at `quantile`, else the limit's increment. */
  value?: Amount;
  /** Hold lifetime in ms (default: the policy's `hold_ttl`). */
  ttl?: number;
  /** Quantile of the estimate to hold (default 0.9). */
  quantile?: number;
  /** The call's size basis (e.g. input tokens) for per-basis estimates. */
  basis?: number;
  /** Estimate segment (e.g. the model). */
  segment?: string;
  /** Expected provider cost, in runes. */
  overhead?: number;
  /** Event data the basis and segment may be read from (`estimate_basis`/`estimate_segment`). */
  context?: object;
}

/** Options of {@link Limitr.estimate}. */
export interface EstimateOptions {
  /** Quantile to predict (default 0.9). */
  quantile?: number;
  basis?: number;
  segment?: string;
}

/** Options of {@link Limitr.observe}. */
export interface ObserveOptions {
  /** Provider cost of the call in runes (default: from the credit's overhead rates). */
  overhead?: number;
  basis?: number;
  segment?: string;
  /** Event data the basis and segment may be read from. */
  context?: object;
}

/** A learned prediction of a call's size and cost. */
export interface Estimate {
  value: number;
  overhead: number;
  samples: number;
  /** `local` or `cloud`. */
  source: string;
  /** `customer` (the customer's own samples) or `policy` (everyone's). */
  scope: 'customer' | 'policy';
}

/** Revenue against provider cost; `margin` is null when there is no revenue. */
export interface Margin {
  revenue: number;
  cost: number;
  margin: number | null;
}

/** A margin in total and per entitlement. */
export interface MarginBreakdown extends Margin {
  entitlements: Record<string, Margin>;
}

/** Hypothetical usage of an entitlement for {@link Limitr.planMargin}: units, or units with cost and limit. */
/**
 * An amount: a number in the unit of the entitlement's credit, or text with a unit for credits kept
 * in a size or time unit (`"500MB"`, `"1GB"`, `"10MiB"`, `"1.5min"`), converted by the engine; a bad
 * or mismatched unit is `INVALID_ARGUMENT`.
 */
export type Amount = number | string;

export type MarginUsage = number | { value: number; overhead?: number; limit?: number };

/** A meter of a customer's entitlement. */
export interface MeterRecord {
  credit: string;
  /** Start of the current period (epoch ms). */
  started: number;
  value: number;
  overhead?: number;
  [field: string]: unknown;
}

/** A credit grant (top-up) held by a customer. */
export interface GrantRecord {
  credit: string;
  topup?: string | null;
  value: number;
  starting_value: number;
  [field: string]: unknown;
}

/** A customer's state, as `customer()` returns it and stores persist it. */
export interface CustomerRecord {
  id: string;
  plan: string;
  meters: Record<string, MeterRecord>;
  grants: Record<string, GrantRecord>;
  [field: string]: unknown;
}

/** The document: rules and customers, `{ policy: { …, customers: { … } } }`. */
export interface DocRecord {
  policy: Record<string, unknown>;
}

/** The policy document of an engine (synchronous, as in the quick start). */
export interface PolicyDoc {
  /** The whole document (rules and customers) as a plain object. */
  record(): DocRecord;
  /** The whole document as text; `Limitr.new(text, format)` loads it back with the same customers. */
  stringify(format?: Format): string;
}

/** Every error code a call can reject with. */
export function errorCodes(): string[] {
  return napi.errorCodes();
}

function str(name: string, v: unknown): string {
  if (typeof v !== 'string') throw invalidArgument(name, `expected a string, got ${describe(v)}`);
  wellFormed(name, v);
  return v;
}

function optStr(name: string, v: unknown): string | null {
  return v === undefined || v === null ? null : str(name, v);
}

function num(name: string, v: unknown): number {
  if (typeof v !== 'number') throw invalidArgument(name, `expected a number, got ${describe(v)}`);
  return v;
}

/** An amount: a number, or text with a unit (`"500MB"`) that the engine reads. */
function amountArg(name: string, v: unknown): number | string {
  if (typeof v !== 'number' && typeof v !== 'string') throw invalidArgument(name, `expected a number or a string, got ${describe(v)}`);
  return v;
}

function optNum(name: string, v: unknown): number | null {
  return v === undefined || v === null ? null : num(name, v);
}

function strList(name: string, v: unknown): string[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw invalidArgument(name, `expected an array of strings, got ${describe(v)}`);
  }
  return v as string[];
}

function obj(name: string, v: unknown): object {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidArgument(name, `expected an object, got ${describe(v)}`);
  return v;
}

function bool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalidArgument(name, `expected a boolean, got ${describe(v)}`);
  return v;
}

/**
 * Lone UTF-16 surrogates (`'\\ud800'`) are not Unicode: both backends would turn them into U+FFFD,
 * so `'\\ud800'` and `'\\udfff'` would name one customer. Such text is `INVALID_ARGUMENT`.
 */
function wellFormed(name: string, v: string): void {
  if (!(v as unknown as { isWellFormed(): boolean }).isWellFormed()) {
    throw invalidArgument(name, 'not valid Unicode: the text holds a lone surrogate (ids and names must be well-formed text)');
  }
}

/** Walks a host value bound for JSON, refusing what JSON.stringify would silently change. */
function checkJson(path: string, v: unknown, depth: number): void {
  switch (typeof v) {
    case 'number':
      // JSON.stringify writes NaN and ±Infinity as null, which the engine reads as "default"
      if (!Number.isFinite(v)) throw invalidArgument(path, `${v} is not a finite number`);
      return;
    case 'string':
      wellFormed(path, v);
      return;
    case 'bigint':
      throw invalidArgument(path, 'expected a number, got bigint');
    case 'object':
      break;
    default:
      return;
  }
  if (v === null || typeof (v as { toJSON?: unknown }).toJSON === 'function') return;
  if (depth > 128) throw invalidArgument(path, 'nested more than 128 levels deep');
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) checkJson(`${path}[${i}]`, v[i], depth + 1);
    return;
  }
  for (const [k, x] of Object.entries(v as object)) {
    wellFormed(`${path} (a key)`, k);
    checkJson(`${path}.${k}`, x, depth + 1);
  }
}

/**
 * A host value as JSON text for the engine. Every number is checked where it enters: NaN and
 * ±Infinity, bigints and lone surrogates anywhere inside are `INVALID_ARGUMENT` naming their path.
 */
function json(name: string, v: unknown): string {
  checkJson(name, v, 0);
  return JSON.stringify(v);
}

/**
 * The backend with every string argument checked for lone surrogates, except `allowPlain`, the
 * hot path, whose backends check themselves (the addon reads text again only when it holds
 * U+FFFD; the WASM scratch path takes ASCII only).
 */
function checkedBackend(n: NativeBackend): NativeBackend {
  const checked: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(n)) {
    if (typeof f !== 'function' || k === 'allowPlain') {
      checked[k] = f;
      continue;
    }
    checked[k] = (...args: unknown[]) => {
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (typeof a === 'string') wellFormed(`argument ${i} of ${k}`, a);
      }
      return (f as (...a: unknown[]) => unknown)(...args);
    };
  }
  return checked as unknown as NativeBackend;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `string \`${v.length > 40 ? v.slice(0, 40) + '…' : v}\``;
  return typeof v;
}

/** The `event` argument of a metering call: `[events, eventData JSON or null]`. */
function eventArg(event: unknown): [boolean, string | null] {
  if (event === true) return [true, null];
  if (event === false) return [false, null];
  if (typeof event === 'object' && event !== null) return [true, json('event', event)];
  throw invalidArgument('event', `expected a boolean or an object, got ${describe(event)}`);
}

/** Call-scoped caps as JSON, or null. */
function capsArg(caps: unknown): string | null {
  if (caps === undefined || caps === null) return null;
  for (const [k, v] of Object.entries(obj('caps', caps))) num(`caps.${k}`, v);
  return json('caps', caps);
}

/**
 * Reads an options object of a mutating call, refusing keys it does not know (a typo such as
 * `idempotencykey` must not silently drop the key); `undefined`/`null` are `{}`.
 */
function callOptions<T extends object>(name: string, v: unknown, known: readonly string[]): Partial<T> {
  if (v === undefined || v === null) return {};
  const o = obj(name, v) as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw invalidArgument(name, `unknown option \`${k}\` (expected one of ${known.join(', ')})`);
  }
  return o as Partial<T>;
}

/** The idempotency key of an options object, or null (the core checks its length). */
function keyArg(name: string, o: Idempotent): string | null {
  return optStr(`${name}.idempotencyKey`, o.idempotencyKey);
}

/** An options object as JSON, or null. */
function optionsArg(name: string, v: unknown): string | null {
  return v === undefined || v === null ? null : json(name, obj(name, v));
}

/** The answer of an offloaded call (`=<JSON>`, or `!<code>\n<message JSON>`); null is undefined. */
function answer<T>(text: string): T {
  if (text.startsWith('=')) {
    const v = JSON.parse(text.slice(1)) as T | null;
    return (v === null ? undefined : v) as T;
  }
  const nl = text.indexOf('\n');
  throw fromNative({ code: text.slice(1, nl), message: text.slice(nl + 1) });
}

/** Backend calls that have a twin running on a worker thread (`<name>Async`). */
type Offloadable = 'increment' | 'decrement' | 'set' | 'value' | 'remaining' | 'reserve' | 'settle' | 'release';

function parsed<T>(text: string | null): T | undefined {
  return text === null ? undefined : (JSON.parse(text) as T);
}

function orUndefined<T>(v: T | null): T | undefined {
  return v === null ? undefined : v;
}

/** Releases an engine when its `Limitr` is garbage-collected. */
const engines = new FinalizationRegistry<{ n: NativeBackend; h: Handle }>(({ n, h }) => n.free(h));

function defaultReporter(error: unknown, handler: string, event: string): void {
  console.error(`limitr: handler \`${handler}\` failed on event \`${event}\`:`, error);
}

/** A policy engine: rules, customers, meters and handlers, in this process. */
export class Limitr {
  /** The document (rules and customers). */
  readonly doc: PolicyDoc;
  private readonly h: Handle;
  private readonly n: NativeBackend;
  private readonly now: (() => number) | undefined;
  private readonly report: (error: unknown, handler: string, event: string) => void;
  private readonly handlers = new Map<string, { fn: Handler; events: Set<string> | null }>();
  private collecting = false;
  /** The engine's count of queued events (read after a call: no native call when it is 0). */
  private queued: ArrayLike<number> = [0];
  /**
   * Whether the store does network I/O: the metering, hold and read calls then run on a worker
   * thread (`allow`, `check`, `increment`, `decrement`, `set`, `value`, `remaining`, `reserve`,
   * `settle`, `release`).
   */
  private readonly network: boolean;

  private constructor(n: NativeBackend, h: Handle, options: LimitrOptions) {
    this.n = n;
    this.h = h;
    this.now = options.now;
    this.report = options.onHandlerError ?? defaultReporter;
    this.network = n.isNetwork?.(h) ?? false;
    engines.register(this, { n, h }, this);
    this.doc = {
      record: () => JSON.parse(this.call(() => n.record(h))) as DocRecord,
      stringify: (format: Format = 'json') => this.call(() => n.stringify(h, str('format', format))),
    };
  }

  /**
   * Releases the engine now (its journal is closed and its directory may be opened again); any
   * later call on it is an error. Without it the engine is released when garbage-collected.
   */
  close(): void {
    engines.unregister(this);
    this.n.free(this.h);
  }

  /** Loads a policy: text in `format` (`json`, `yaml`, `toml`) or an already-parsed object. */
  static async new(doc: string | object, format: Format = 'json', options: LimitrOptions = {}): Promise<Limitr> {
    return Limitr.newSync(doc, format, options);
  }

  /** Synchronous twin of {@link Limitr.new}. */
  static newSync(doc: string | object, format: Format = 'json', options: LimitrOptions = {}): Limitr {
    return Limitr.withBackend(napi, doc, format, options);
  }

  /** Loads a policy on a given backend (the WASM build offers the same {@link NativeBackend}). */
  static withBackend(n: NativeBackend, doc: string | object, format: Format = 'json', options: LimitrOptions = {}): Limitr {
    let text: string;
    if (typeof doc === 'string') {
      text = doc;
    } else if (typeof doc === 'object' && doc !== null) {
      text = json('doc', doc);
      format = 'json';
    } else {
      throw invalidArgument('doc', `expected policy text or an object, got ${describe(doc)}`);
    }
    if (options === null || typeof options !== 'object') throw invalidArgument('options', 'expected an object');
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw invalidArgument('options.now', 'expected a function returning epoch ms');
    }
    const known = new Set(['now', 'onHandlerError', 'journal', 'sync', 'syncMs', 'snapshotEvery', 'maxDocumentBytes', 'idempotencyTtlMs', 'store', 'strict']);
    for (const k of Object.keys(options)) {
      if (!known.has(k)) throw invalidArgument('options', `unknown option "${k}"`);
    }
    const load = loadOptions(options);
    n = checkedBackend(n);
    let h: Handle;
    try {
      h = n.load(text, str('format', format), load);
    } catch (e) {
      throw fromNative(e);
    }
    return new Limitr(n, h, options);
  }

  // ---- plumbing ---------------------------------------------------------------------------

  /** Sets the injected time, runs a backend call, maps its error. */
  private call<T>(f: () => T): T {
    try {
      if (this.now !== undefined) this.n.setNow(this.h, num('now()', this.now()));
      return f();
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * `value` as a number for the backend: numbers as they are, text (`"500MB"`, `"1.5min"`) read by
   * the engine in the unit of the entitlement's credit. Runs inside `call` (after the clock is set).
   */
  private amount(customer: string, entitlement: string, value: number | string): number {
    return typeof value === 'number' ? value : this.n.quantity(this.h, customer, entitlement, value);
  }

  /**
   * Delivers the events queued by the last call to the JS handlers listening to them, in
   * registration order: one native call, and only when the engine's counter says events are queued.
   */
  private deliver(): void {
    if (!this.collecting || this.queued[0] === 0) return;
    const queue = this.n.takeEvents(this.h);
    // a view over WASM memory reads as empty once the memory grew: take a fresh one
    if (this.queued[0] === undefined) this.queued = this.n.eventCounter(this.h);
    const handlers = Array.from(this.handlers);
    for (let i = 0; i + 1 < queue.length; i += 2) {
      const key = queue[i]!;
      const value = queue[i + 1]!;
      for (const [name, { fn, events }] of handlers) {
        if (events !== null && !events.has(key)) continue;
        try {
          const r = fn(key, value) as { then?: unknown } | undefined;
          if (r && typeof r.then === 'function') {
            (r as Promise<unknown>).then(undefined, (err) => this.failed(err, name, key));
          }
        } catch (err) {
          this.failed(err, name, key);
        }
      }
    }
  }

  /**
   * Reports a failed handler through `onHandlerError`. The call it came from stands, so a reporter
   * that throws is itself reported (to `console.error`) and never reaches the caller, and the
   * handlers after it still run.
   */
  private failed(error: unknown, handler: string, event: string): void {
    try {
      this.report(error, handler, event);
    } catch (thrown) {
      try {
        console.error(`limitr: onHandlerError threw while reporting handler \`${handler}\` on event \`${event}\`:`, thrown, 'the handler\'s error:', error);
      } catch {
        // console itself is unusable: nothing is left to report to, and the call must stand
      }
    }
  }

  /**
   * Tells the engine what the handlers listen to (the union of their names; every event when one
   * has no filter), or stops the queue when there is no handler. With `check`, only checks those
   * names (an unknown one throws, naming its index, and nothing changes).
   */
  private listen(check: string[] | null = null): void {
    if (check !== null) {
      this.n.collectEvents(this.h, true, check);
    } else if (this.handlers.size === 0) {
      if (this.collecting) this.n.collectEvents(this.h, false, null);
      this.collecting = false;
      return;
    }
    let names: string[] | null = [];
    for (const { events } of this.handlers.values()) {
      if (events === null) {
        names = null;
        break;
      }
      for (const e of events) if (!names.includes(e)) names.push(e);
    }
    if (check === null || this.handlers.size > 0) this.n.collectEvents(this.h, true, names);
    if (!this.collecting) {
      this.queued = this.n.eventCounter(this.h);
      this.collecting = true;
    }
  }

  // ---- events -----------------------------------------------------------------------------

  /**
   * Adds (or replaces, keeping its place) the handler called `name`; it receives every event, or
   * with `{ events: [...] }` only those (the engine then builds only the events someone listens to).
   */
  addHandlerSync(name: string, handler: Handler, options?: HandlerOptions): void {
    str('name', name);
    if (typeof handler !== 'function') throw invalidArgument('handler', `expected a function, got ${describe(handler)}`);
    let events: string[] | null = null;
    if (options != null) {
      const o = obj('options', options) as HandlerOptions;
      if (o.events !== undefined) {
        if (!Array.isArray(o.events)) throw invalidArgument('events', `expected an array of event names, got ${describe(o.events)}`);
        events = o.events.map((e, i) => str(`events[${i}]`, e));
      }
    }
    // checked first on their own (an unknown name is reported at its index), then the union
    if (events !== null) this.call(() => this.listen(events));
    this.handlers.set(name, { fn: handler, events: events === null ? null : new Set(events) });
    this.call(() => this.listen());
  }

  /**
   * Runs a sync method with its backend call `op` sent to `<op>Async` (a worker thread), for
   * engines on a network store: the sync method's own checks and conversions run first, here, and
   * its backend call is the only thing that moves off the event loop. Resolves to that call's
   * answer (null as undefined), after the events it queued are delivered.
   */
  private async offloaded<T>(op: Offloadable, sync: () => unknown): Promise<T> {
    const real = this.n;
    let pending: Promise<string> | undefined;
    const twin = `${op}Async` as const;
    const routed = new Proxy(real, {
      get: (target, key, receiver) =>
        key === op
          ? (...args: unknown[]) => {
              pending = (target[twin] as (...a: unknown[]) => Promise<string>)(...args);
              return null;
            }
          : Reflect.get(target, key, receiver),
    });
    const self = this as unknown as { n: NativeBackend };
    self.n = routed;
    try {
      sync();
    } finally {
      self.n = real;
    }
    if (pending === undefined) throw new Error(`limitr: ${op} made no backend call`);
    const r = answer<T>(await pending);
    this.deliver();
    return r;
  }

  /** Removes the handler called `name`; true if there was one. */
  removeHandlerSync(name: string): boolean {
    const removed = this.handlers.delete(str('name', name));
    if (removed) this.call(() => this.listen());
    return removed;
  }

  /** Removes every handler. */
  clearHandlersSync(): void {
    this.handlers.clear();
    this.call(() => this.listen());
  }

  async addHandler(name: string, handler: Handler, options?: HandlerOptions): Promise<void> {
    return this.addHandlerSync(name, handler, options);
  }
  async removeHandler(name: string): Promise<boolean> {
    return this.removeHandlerSync(name);
  }
  async clearHandlers(): Promise<void> {
    return this.clearHandlersSync();
  }

  // ---- customers --------------------------------------------------------------------------

  /**
   * Creates a customer on `plan` (inherited through `refs`, else the default plan, when omitted)
   * and returns its record. An existing customer is updated. `type`, `label`, `refs` (related
   * customers: user → team → org), `alts` (alternative ids) and `metadata` are optional.
   */
  createCustomerSync(
    id: string,
    plan?: string,
    type?: string,
    label?: string,
    refs?: string[] | null,
    alts?: string[] | null,
    metadata?: Record<string, unknown> | null,
    options?: Idempotent,
  ): CustomerRecord {
    const c = str('id', id);
    const p = optStr('plan', plan);
    const key = keyArg('options', callOptions<Idempotent>('options', options, ['idempotencyKey']));
    let profile: string | null = null;
    if (type !== undefined || label !== undefined || refs != null || alts != null || metadata != null || key !== null) {
      profile = json('profile', {
        type: optStr('type', type),
        label: optStr('label', label),
        refs: strList('refs', refs),
        alt_ids: strList('alts', alts),
        metadata: metadata == null ? null : obj('metadata', metadata),
        idempotency_key: key,
      });
    }
    const record = this.call(() => this.n.createCustomer(this.h, c, p, profile));
    this.deliver();
    return JSON.parse(record) as CustomerRecord;
  }

  /**
   * Overrides an entitlement's limit for one customer: `value` (a number, or an object of limit
   * fields) and the fields given; the rest is inherited from the plan limit. It stops applying
   * after `expiresOn` (epoch ms). False for an unknown customer.
   */
  createCustomerOverrideSync(
    id: string,
    entitlement: string,
    value?: number | OverrideFields,
    expiresOn?: number | null,
    credit?: string,
    mode?: 'hard' | 'soft' | 'observe',
    increment?: number,
    resets?: boolean,
    resetInc?: string | number,
    resetSch?: string,
  ): boolean {
    const c = str('id', id);
    const e = str('entitlement', entitlement);
    const fields: Record<string, unknown> =
      typeof value === 'object' && value !== null ? { ...value } : value === undefined ? {} : { value: num('value', value) };
    const extra = { credit, mode, increment, resets, reset_inc: resetInc, reset_sch: resetSch };
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) fields[k] = v;
    const exp = optNum('expiresOn', expiresOn);
    const r = this.call(() => this.n.createCustomerOverride(this.h, c, e, json('fields', fields), exp));
    this.deliver();
    return r;
  }

  /** Removes a customer's override of an entitlement; true if there was one. */
  removeCustomerOverrideSync(id: string, entitlement: string): boolean {
    const c = str('id', id);
    const e = str('entitlement', entitlement);
    const r = this.call(() => this.n.removeCustomerOverride(this.h, c, e));
    this.deliver();
    return r;
  }

  /** Adds an alternative id for a customer; false if unknown or the alt id is taken. */
  addAltIdSync(id: string, alt: string): boolean {
    const c = str('id', id);
    const a = str('alt', alt);
    const r = this.call(() => this.n.addAltId(this.h, c, a));
    this.deliver();
    return r;
  }

  /** Charges the plan's subscription entitlement when due (trial over, not yet paid this period). */
  ensurePlanSubscriptionSync(id: string): boolean {
    const c = str('id', id);
    const r = this.call(() => this.n.ensurePlanSubscription(this.h, c));
    this.deliver();
    return r;
  }

  /**
   * Reconciles the customer's included top-ups with its plan: grants of an included top-up its type
   * or plan no longer qualifies for are removed, missing ones granted. True when its grants changed
   * (`customer-set` fires unless `event` is false). The same runs before any overage draw.
   */
  ensureIncludedTopupsSync(id: string, event = true): boolean {
    const c = str('id', id);
    const ev = bool('event', event);
    const r = this.call(() => this.n.ensureIncludedTopups(this.h, c, ev));
    this.deliver();
    return r;
  }

  /** Creates the customer if it does not exist; true if it was created. */
  ensureCustomerSync(id: string, plan?: string): boolean {
    const c = str('id', id);
    const p = optStr('plan', plan);
    const r = this.call(() => this.n.ensureCustomer(this.h, c, p));
    this.deliver();
    return r;
  }

  /** A customer's record, or `undefined`. */
  customerSync(id: string): CustomerRecord | undefined {
    const c = str('id', id);
    const r = this.call(() => this.n.customer(this.h, c));
    return r === null ? undefined : (JSON.parse(r) as CustomerRecord);
  }

  /**
   * One customer's whole record (meters, holds, grants, caps, idempotency keys), to move it to
   * another engine with {@link Limitr.importCustomerSync}; `undefined` for an unknown customer.
   */
  exportCustomerSync(id: string): CustomerRecord | undefined {
    const c = str('id', id);
    const r = this.call(() => this.n.exportCustomer(this.h, c));
    return r === null ? undefined : (JSON.parse(r) as CustomerRecord);
  }

  /**
   * Puts an exported customer record into this engine, replacing one of the same id (validated
   * against this engine's policy); true if it replaced one.
   */
  importCustomerSync(record: CustomerRecord): boolean {
    if (record === null || typeof record !== 'object') throw invalidArgument('record', `expected a customer record, got ${describe(record)}`);
    const text = json('record', record);
    return this.call(() => this.n.importCustomer(this.h, text));
  }

  /** Every customer's record, by id. */
  customersSync(): Record<string, CustomerRecord> {
    return JSON.parse(this.call(() => this.n.customers(this.h))) as Record<string, CustomerRecord>;
  }

  /** Removes a customer; true if it existed. */
  removeCustomerSync(id: string): boolean {
    const c = str('id', id);
    const r = this.call(() => this.n.removeCustomer(this.h, c));
    this.deliver();
    return r;
  }

  /** Moves a customer to `plan`, keeping meters unless `resetMeters`; false if unknown or unchanged. */
  setCustomerPlanSync(id: string, plan: string, resetMeters = false): boolean {
    const c = str('id', id);
    const p = str('plan', plan);
    const reset = bool('resetMeters', resetMeters);
    const r = this.call(() => this.n.setCustomerPlan(this.h, c, p, reset));
    this.deliver();
    return r;
  }

  async createCustomer(
    id: string,
    plan?: string,
    type?: string,
    label?: string,
    refs?: string[] | null,
    alts?: string[] | null,
    metadata?: Record<string, unknown> | null,
    options?: Idempotent,
  ): Promise<CustomerRecord> {
    return this.createCustomerSync(id, plan, type, label, refs, alts, metadata, options);
  }
  async createCustomerOverride(
    id: string,
    entitlement: string,
    value?: number | OverrideFields,
    expiresOn?: number | null,
    credit?: string,
    mode?: 'hard' | 'soft' | 'observe',
    increment?: number,
    resets?: boolean,
    resetInc?: string | number,
    resetSch?: string,
  ): Promise<boolean> {
    return this.createCustomerOverrideSync(id, entitlement, value, expiresOn, credit, mode, increment, resets, resetInc, resetSch);
  }
  async removeCustomerOverride(id: string, entitlement: string): Promise<boolean> {
    return this.removeCustomerOverrideSync(id, entitlement);
  }
  async addAltId(id: string, alt: string): Promise<boolean> {
    return this.addAltIdSync(id, alt);
  }
  async ensurePlanSubscription(id: string): Promise<boolean> {
    return this.ensurePlanSubscriptionSync(id);
  }
  async ensureIncludedTopups(id: string, event = true): Promise<boolean> {
    return this.ensureIncludedTopupsSync(id, event);
  }
  async ensureCustomer(id: string, plan?: string): Promise<boolean> {
    return this.ensureCustomerSync(id, plan);
  }
  async customer(id: string): Promise<CustomerRecord | undefined> {
    return this.customerSync(id);
  }
  async exportCustomer(id: string): Promise<CustomerRecord | undefined> {
    return this.exportCustomerSync(id);
  }
  async importCustomer(record: CustomerRecord): Promise<boolean> {
    return this.importCustomerSync(record);
  }
  async customers(): Promise<Record<string, CustomerRecord>> {
    return this.customersSync();
  }
  async removeCustomer(id: string): Promise<boolean> {
    return this.removeCustomerSync(id);
  }
  async setCustomerPlan(id: string, plan: string, resetMeters = false): Promise<boolean> {
    return this.setCustomerPlanSync(id, plan, resetMeters);
  }

  // ---- metering ---------------------------------------------------------------------------

  /**
   * Meters `value` on an entitlement if the policy allows it (`value = 0`: an entitlement check).
   * `event`: `false` sends no events; an object is attached to the events as `event_data`.
   * `overhead`: the call's provider cost in runes. `options.caps`: call-scoped caps
   * (`{ caps: { rune: 1.0 } }`: deny if this call alone costs more than 1 rune).
   * False for unknown customers/entitlements.
   */
  allowSync(
    customer: string,
    entitlement: string,
    value: Amount = 0,
    event: boolean | object = true,
    overhead?: number,
    options?: AllowOptions,
  ): boolean {
    if (typeof customer !== 'string') str('customer', customer);
    if (typeof entitlement !== 'string') str('entitlement', entitlement);
    if (typeof value !== 'number') amountArg('value', value);
    let events = true;
    let data: string | null = null;
    if (event !== true) [events, data] = eventArg(event);
    const o = overhead === undefined ? null : optNum('overhead', overhead);
    let caps: string | null = null;
    let key: string | null = null;
    if (options != null) {
      const opts = callOptions<AllowOptions>('options', options, ['caps', 'idempotencyKey']);
      caps = capsArg(opts.caps);
      key = keyArg('options', opts);
    }
    let r: boolean;
    try {
      if (this.now !== undefined) this.n.setNow(this.h, num('now()', this.now()));
      const v = typeof value === 'number' ? value : this.n.quantity(this.h, customer, entitlement, value);
      r =
        o === null && data === null && caps === null && key === null
          ? this.n.allowPlain(this.h, customer, entitlement, v, events)
          : this.n.allow(this.h, customer, entitlement, v, events, o, data, caps, key);
    } catch (e) {
      throw fromNative(e);
    }
    if (this.collecting && this.queued[0] !== 0) this.deliver();
    return r;
  }

  async allow(
    customer: string,
    entitlement: string,
    value: Amount = 0,
    event: boolean | object = true,
    overhead?: number,
    options?: AllowOptions,
  ): Promise<boolean> {
    if (!this.network) return this.allowSync(customer, entitlement, value, event, overhead, options);
    // a network store: the call runs on a worker thread, the event loop keeps running
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const v = this.amount(c, e, amountArg('value', value));
    const [events, data] = eventArg(event);
    const o = optNum('overhead', overhead);
    const opts = callOptions<AllowOptions>('options', options, ['caps', 'idempotencyKey']);
    const caps = capsArg(opts.caps);
    const key = keyArg('options', opts);
    if (this.now !== undefined) this.call(() => this.n.setNow(this.h, num('now()', this.now!())));
    const r = answer<boolean>(await this.n.allowAsync!(this.h, c, e, v, events, o, data, caps, key));
    this.deliver();
    return r;
  }

  /** Whether `allow` would pass, changing nothing; `{ detail: true }` explains why. */
  checkSync(customer: string, entitlement: string, value?: Amount, options?: CheckOptions & { detail?: false }): boolean;
  checkSync(customer: string, entitlement: string, value: Amount | undefined, options: CheckOptions & { detail: true }): CheckDetail;
  checkSync(customer: string, entitlement: string, value: Amount = 0, options: CheckOptions = {}): boolean | CheckDetail {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const v = amountArg('value', value);
    if (options === null || typeof options !== 'object') throw invalidArgument('options', 'expected an object');
    const o = optNum('overhead', options.overhead);
    const k = capsArg(options.caps);
    if (options.detail) {
      return JSON.parse(this.call(() => this.n.checkDetail(this.h, c, e, this.amount(c, e, v), o, k))) as CheckDetail;
    }
    if (o !== null || k !== null) return (JSON.parse(this.call(() => this.n.checkDetail(this.h, c, e, this.amount(c, e, v), o, k))) as CheckDetail).allowed;
    return this.call(() => this.n.check(this.h, c, e, this.amount(c, e, v)));
  }

  check(customer: string, entitlement: string, value?: Amount, options?: CheckOptions & { detail?: false }): Promise<boolean>;
  check(customer: string, entitlement: string, value: Amount | undefined, options: CheckOptions & { detail: true }): Promise<CheckDetail>;
  async check(customer: string, entitlement: string, value: Amount = 0, options: CheckOptions = {}): Promise<boolean | CheckDetail> {
    if (this.network && options !== null && typeof options === 'object' && !options.detail && options.overhead == null) {
      // a network store: the plain check runs on a worker thread
      const c = str('customer', customer);
      const e = str('entitlement', entitlement);
      const v = this.amount(c, e, amountArg('value', value));
      if (this.now !== undefined) this.call(() => this.n.setNow(this.h, num('now()', this.now!())));
      return answer<boolean>(await this.n.checkAsync!(this.h, c, e, v));
    }
    return this.checkSync(customer, entitlement, value, options as CheckOptions & { detail: true });
  }

  /** Whether `increment` would pass, changing nothing; false when there is no limit. */
  checkIncrementSync(customer: string, entitlement: string): boolean {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    return this.call(() => this.n.checkIncrement(this.h, c, e));
  }

  /** The limit's `increment` (1 by default); `undefined` without a limit. `id` may be a plan name. */
  costSync(id: string, entitlement: string): number | undefined {
    const c = str('id', id);
    const e = str('entitlement', entitlement);
    return orUndefined(this.call(() => this.n.cost(this.h, c, e)));
  }

  async checkIncrement(customer: string, entitlement: string): Promise<boolean> {
    return this.checkIncrementSync(customer, entitlement);
  }
  async cost(id: string, entitlement: string): Promise<number | undefined> {
    return this.costSync(id, entitlement);
  }

  /** Meters the limit's `increment` (1 by default); false when there is no limit. */
  incrementSync(customer: string, entitlement: string, event = true, options?: Idempotent): boolean {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const ev = bool('event', event);
    const key = keyArg('options', callOptions<Idempotent>('options', options, ['idempotencyKey']));
    const r = this.call(() => this.n.increment(this.h, c, e, ev, key));
    this.deliver();
    return r;
  }

  /** Meters minus the limit's `increment`; false when there is no limit. */
  decrementSync(customer: string, entitlement: string, event = true, options?: Idempotent): boolean {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const ev = bool('event', event);
    const key = keyArg('options', callOptions<Idempotent>('options', options, ['idempotencyKey']));
    const r = this.call(() => this.n.decrement(this.h, c, e, ev, key));
    this.deliver();
    return r;
  }

  /** Sets the meter to `value` (meters the difference, with the rules of `allow`). */
  setSync(customer: string, entitlement: string, value: Amount, event = true, options?: Idempotent): boolean {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const v = amountArg('value', value);
    const ev = bool('event', event);
    const key = keyArg('options', callOptions<Idempotent>('options', options, ['idempotencyKey']));
    const r = this.call(() => this.n.set(this.h, c, e, this.amount(c, e, v), ev, key));
    this.deliver();
    return r;
  }

  async increment(customer: string, entitlement: string, event = true, options?: Idempotent): Promise<boolean> {
    if (this.network) return this.offloaded('increment', () => this.incrementSync(customer, entitlement, event, options));
    return this.incrementSync(customer, entitlement, event, options);
  }
  async decrement(customer: string, entitlement: string, event = true, options?: Idempotent): Promise<boolean> {
    if (this.network) return this.offloaded('decrement', () => this.decrementSync(customer, entitlement, event, options));
    return this.decrementSync(customer, entitlement, event, options);
  }
  async set(customer: string, entitlement: string, value: Amount, event = true, options?: Idempotent): Promise<boolean> {
    if (this.network) return this.offloaded('set', () => this.setSync(customer, entitlement, value, event, options));
    return this.setSync(customer, entitlement, value, event, options);
  }

  // ---- reads ------------------------------------------------------------------------------

  /** Usage this period (`percent`: share of the limit used; `grants`: count grants in the limit). */
  valueSync(customer: string, entitlement: string, percent = false, grants = true): number | undefined {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const p = bool('percent', percent);
    const g = bool('grants', grants);
    return orUndefined(this.call(() => this.n.value(this.h, c, e, p, g)));
  }

  /** What is left this period (grants included unless `grants` is false). */
  remainingSync(customer: string, entitlement: string, percent = false, grants = true): number | undefined {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const p = bool('percent', percent);
    const g = bool('grants', grants);
    return orUndefined(this.call(() => this.n.remaining(this.h, c, e, p, g)));
  }

  /** The limit of an entitlement; `id` is a customer id or a plan name. */
  limitSync(id: string, entitlement: string, grants = true): number | undefined {
    const i = str('id', id);
    const e = str('entitlement', entitlement);
    const g = bool('grants', grants);
    return orUndefined(this.call(() => this.n.limit(this.h, i, e, g)));
  }

  /** When the entitlement next resets (epoch ms), or `undefined` when it does not reset. */
  resetsSync(customer: string, entitlement: string): number | undefined {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    return orUndefined(this.call(() => this.n.resets(this.h, c, e)));
  }

  async value(customer: string, entitlement: string, percent = false, grants = true): Promise<number | undefined> {
    if (this.network) return this.offloaded('value', () => this.valueSync(customer, entitlement, percent, grants));
    return this.valueSync(customer, entitlement, percent, grants);
  }
  async remaining(customer: string, entitlement: string, percent = false, grants = true): Promise<number | undefined> {
    if (this.network) return this.offloaded('remaining', () => this.remainingSync(customer, entitlement, percent, grants));
    return this.remainingSync(customer, entitlement, percent, grants);
  }
  async limit(id: string, entitlement: string, grants = true): Promise<number | undefined> {
    return this.limitSync(id, entitlement, grants);
  }
  async resets(customer: string, entitlement: string): Promise<number | undefined> {
    return this.resetsSync(customer, entitlement);
  }

  // ---- grants and exchange ----------------------------------------------------------------

  /** Grants a plan top-up; false for an unknown customer or top-up (`UNKNOWN_TOPUP` when strict). */
  applyCustomerTopupSync(customer: string, topup: string, options?: Idempotent): boolean {
    const c = str('customer', customer);
    const t = str('topup', topup);
    const key = keyArg('options', callOptions<Idempotent>('options', options, ['idempotencyKey']));
    const r = this.call(() => this.n.applyCustomerTopup(this.h, c, t, key));
    this.deliver();
    return r;
  }

  /** A customer's grant balance expressed in `credit`. */
  remainingCreditSync(customer: string, credit: string): number | undefined {
    const c = str('customer', customer);
    const cr = str('credit', credit);
    return orUndefined(this.call(() => this.n.remainingCredit(this.h, c, cr)));
  }

  /** Converts `value` units of credit `from` into `to` through the exchange table. */
  creditExchangeSync(from: string, to = 'rune', value = 1): number | undefined {
    const f = str('from', from);
    const t = str('to', to);
    const v = num('value', value);
    return orUndefined(this.call(() => this.n.creditExchange(this.h, f, t, v)));
  }

  async applyCustomerTopup(customer: string, topup: string, options?: Idempotent): Promise<boolean> {
    return this.applyCustomerTopupSync(customer, topup, options);
  }
  async remainingCredit(customer: string, credit: string): Promise<number | undefined> {
    return this.remainingCreditSync(customer, credit);
  }
  async creditExchange(from: string, to = 'rune', value = 1): Promise<number | undefined> {
    return this.creditExchangeSync(from, to, value);
  }

  // ---- spend caps -------------------------------------------------------------------------

  /**
   * Adds a spend cap of `value` (in `options.credit`, default `rune`) to a customer and returns its
   * record; `undefined` for an unknown customer or a taken `cap_id`. A denial by a cap sends a
   * `meter-cap-limit`-style event through the handlers, like any other denial.
   */
  addCustomerCapSync(id: string, value: number, options?: CapOptions): CapRecord | undefined {
    const c = str('id', id);
    const v = num('value', value);
    const o = optionsArg('options', options);
    const r = this.call(() => this.n.addCustomerCap(this.h, c, v, o));
    this.deliver();
    return parsed<CapRecord>(r);
  }

  /** A cap's record as it is now, or `undefined` (no such customer or cap, or it expired). */
  customerCapSync(id: string, capId: string): CapRecord | undefined {
    const c = str('id', id);
    const k = str('capId', capId);
    return parsed<CapRecord>(this.call(() => this.n.customerCap(this.h, c, k)));
  }

  /** Zeroes a cap's consumption and starts a new period; true if the cap exists. */
  resetCustomerCapSync(id: string, capId: string): boolean {
    const c = str('id', id);
    const k = str('capId', capId);
    const r = this.call(() => this.n.resetCustomerCap(this.h, c, k));
    this.deliver();
    return r;
  }

  /** Removes a cap; true if it existed. `event` false sends neither `customer-cap-removed` nor `customer-set`. */
  removeCustomerCapSync(id: string, capId: string, event = true): boolean {
    const c = str('id', id);
    const k = str('capId', capId);
    const ev = bool('event', event);
    const r = this.call(() => this.n.removeCustomerCap(this.h, c, k, ev));
    this.deliver();
    return r;
  }

  async addCustomerCap(id: string, value: number, options?: CapOptions): Promise<CapRecord | undefined> {
    return this.addCustomerCapSync(id, value, options);
  }
  async customerCap(id: string, capId: string): Promise<CapRecord | undefined> {
    return this.customerCapSync(id, capId);
  }
  async resetCustomerCap(id: string, capId: string): Promise<boolean> {
    return this.resetCustomerCapSync(id, capId);
  }
  async removeCustomerCap(id: string, capId: string, event = true): Promise<boolean> {
    return this.removeCustomerCapSync(id, capId, event);
  }

  // ---- reservations and estimates ---------------------------------------------------------

  /**
   * Holds room on an entitlement for a call whose size is known only when it finishes (it counts
   * against hard limits until settled, released or expired). Returns the hold id, or `undefined`
   * when the room is not there.
   */
  reserveSync(customer: string, entitlement: string, options?: ReserveOptions): string | undefined {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    let o: string | null = null;
    if (options != null) {
      const { idempotencyKey, ...rest } = callOptions<ReserveOptions>('options', options, [
        'value', 'ttl', 'quantile', 'basis', 'segment', 'overhead', 'context', 'idempotencyKey',
      ]);
      const fields: Record<string, unknown> = { ...rest, idempotency_key: keyArg('options', { idempotencyKey }) };
      if (typeof rest.value === 'string') {
        const text = rest.value;
        fields.value = this.call(() => this.n.quantity(this.h, c, e, text));
      }
      o = json('fields', fields);
    }
    const r = this.call(() => this.n.reserve(this.h, c, e, o));
    this.deliver();
    return orUndefined(r);
  }

  /**
   * Meters the real size `value` of a reserved call (past hard limits) and removes its hold; an
   * unknown or expired hold is fine. `event` and `overhead` as for `allow`.
   * `{ final: false }` settles part of a streaming response and keeps the rest of the hold.
   * (The reference's `basis`/`segment` arguments are not needed: the hold remembers them.)
   */
  settleSync(
    customer: string,
    entitlement: string,
    holdId: string,
    value: Amount,
    event: boolean | object = true,
    overhead?: number,
    options?: SettleOptions,
  ): boolean {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const hold = str('holdId', holdId);
    const v = amountArg('value', value);
    const [events, data] = eventArg(event);
    const o = optNum('overhead', overhead);
    const opts = callOptions<SettleOptions>('options', options, ['final', 'caps', 'idempotencyKey']);
    const last = opts.final === undefined ? true : bool('options.final', opts.final);
    const caps = capsArg(opts.caps);
    const key = keyArg('options', opts);
    const r = this.call(() => this.n.settle(this.h, c, e, hold, this.amount(c, e, v), last, events, o, data, caps, key));
    this.deliver();
    return r;
  }

  /** Drops a hold without metering; true if it was there. */
  releaseSync(customer: string, entitlement: string, holdId: string, options?: Idempotent): boolean {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const hold = str('holdId', holdId);
    const key = keyArg('options', callOptions<Idempotent>('options', options, ['idempotencyKey']));
    const r = this.call(() => this.n.release(this.h, c, e, hold, key));
    this.deliver();
    return r;
  }

  /** Units held by unexpired holds on an entitlement. */
  heldSync(customer: string, entitlement: string): number | undefined {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    return orUndefined(this.call(() => this.n.held(this.h, c, e)));
  }

  /** Learns the size (and provider cost) of a finished call for the estimates; true when recorded. */
  observeSync(customer: string, entitlement: string, value: Amount, options?: ObserveOptions): boolean {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const v = amountArg('value', value);
    const o = options === undefined || options === null ? {} : (obj('options', options) as ObserveOptions);
    const overhead = optNum('options.overhead', o.overhead);
    const basis = optNum('options.basis', o.basis);
    const segment = optStr('options.segment', o.segment);
    const context = optionsArg('options.context', o.context);
    const r = this.call(() => this.n.observe(this.h, c, e, this.amount(c, e, v), overhead, basis, segment, context));
    this.deliver();
    return r;
  }

  /** The predicted size and cost of a call, or `undefined` without samples. */
  estimateSync(customer: string, entitlement: string, options?: EstimateOptions): Estimate | undefined {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const o = options === undefined || options === null ? {} : (obj('options', options) as EstimateOptions);
    const q = o.quantile === undefined ? 0.9 : num('options.quantile', o.quantile);
    const basis = optNum('options.basis', o.basis);
    const segment = optStr('options.segment', o.segment);
    return parsed<Estimate>(this.call(() => this.n.estimate(this.h, c, e, q, basis, segment)));
  }

  async reserve(customer: string, entitlement: string, options?: ReserveOptions): Promise<string | undefined> {
    if (this.network) return this.offloaded('reserve', () => this.reserveSync(customer, entitlement, options));
    return this.reserveSync(customer, entitlement, options);
  }
  async settle(
    customer: string,
    entitlement: string,
    holdId: string,
    value: Amount,
    event: boolean | object = true,
    overhead?: number,
    options?: SettleOptions,
  ): Promise<boolean> {
    if (this.network) {
      return this.offloaded('settle', () => this.settleSync(customer, entitlement, holdId, value, event, overhead, options));
    }
    return this.settleSync(customer, entitlement, holdId, value, event, overhead, options);
  }
  async release(customer: string, entitlement: string, holdId: string, options?: Idempotent): Promise<boolean> {
    if (this.network) return this.offloaded('release', () => this.releaseSync(customer, entitlement, holdId, options));
    return this.releaseSync(customer, entitlement, holdId, options);
  }
  async held(customer: string, entitlement: string): Promise<number | undefined> {
    return this.heldSync(customer, entitlement);
  }
  async observe(customer: string, entitlement: string, value: Amount, options?: ObserveOptions): Promise<boolean> {
    return this.observeSync(customer, entitlement, value, options);
  }
  async estimate(customer: string, entitlement: string, options?: EstimateOptions): Promise<Estimate | undefined> {
    return this.estimateSync(customer, entitlement, options);
  }

  // ---- trends -----------------------------------------------------------------------------

  /** Units per millisecond over the last two changes (`smoothed`: exponentially weighted); 0 without history. */
  rateSync(customer: string, entitlement: string, smoothed = false): number {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const sm = bool('smoothed', smoothed);
    return this.call(() => this.n.rate(this.h, c, e, sm));
  }

  /** Change of the rate over the last three changes; 0 without history. */
  accelerationSync(customer: string, entitlement: string): number {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    return this.call(() => this.n.acceleration(this.h, c, e));
  }

  /** When, at the current rate, the limit runs out (epoch ms), or `undefined` (not growing, nothing left). */
  projectedExhaustionSync(customer: string, entitlement: string, smoothed = false, grants = true): number | undefined {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const sm = bool('smoothed', smoothed);
    const g = bool('grants', grants);
    return orUndefined(this.call(() => this.n.projectedExhaustion(this.h, c, e, sm, g)));
  }

  /** What may be used right now: `remaining`, or less while a rate governor's bucket holds fewer tokens. */
  allowanceSync(customer: string, entitlement: string, grants = true): number | undefined {
    const c = str('customer', customer);
    const e = str('entitlement', entitlement);
    const g = bool('grants', grants);
    return orUndefined(this.call(() => this.n.allowance(this.h, c, e, g)));
  }

  async rate(customer: string, entitlement: string, smoothed = false): Promise<number> {
    return this.rateSync(customer, entitlement, smoothed);
  }
  async acceleration(customer: string, entitlement: string): Promise<number> {
    return this.accelerationSync(customer, entitlement);
  }
  async projectedExhaustion(customer: string, entitlement: string, smoothed = false, grants = true): Promise<number | undefined> {
    return this.projectedExhaustionSync(customer, entitlement, smoothed, grants);
  }
  async allowance(customer: string, entitlement: string, grants = true): Promise<number | undefined> {
    return this.allowanceSync(customer, entitlement, grants);
  }

  // ---- margins ----------------------------------------------------------------------------

  /**
   * A customer's margin this period: list price of usage past each limit against the recorded
   * provider overhead; `undefined` for an unknown customer. (The reference's `customerMarginSnapshot`.)
   */
  customerMarginSync(customer: string): MarginBreakdown | undefined {
    const c = str('customer', customer);
    return parsed<MarginBreakdown>(this.call(() => this.n.customerMargin(this.h, c)));
  }

  /**
   * A plan's margin for hypothetical usage per entitlement (`scaled`: rolling limits counted per plan
   * period). An unknown plan rejects with `UNKNOWN_PLAN`. (The reference's `marginSnapshot`.)
   */
  planMarginSync(plan: string, usage: Record<string, MarginUsage>, scaled = true): MarginBreakdown {
    const p = str('plan', plan);
    const u = json('usage', obj('usage', usage));
    const sc = bool('scaled', scaled);
    return JSON.parse(this.call(() => this.n.planMargin(this.h, p, u, sc))) as MarginBreakdown;
  }

  async customerMargin(customer: string): Promise<MarginBreakdown | undefined> {
    return this.customerMarginSync(customer);
  }
  async planMargin(plan: string, usage: Record<string, MarginUsage>, scaled = true): Promise<MarginBreakdown> {
    return this.planMarginSync(plan, usage, scaled);
  }
  /** Alias of {@link Limitr.customerMargin} (reference name). */
  async customerMarginSnapshot(customer: string): Promise<MarginBreakdown | undefined> {
    return this.customerMarginSync(customer);
  }
  /** Alias of {@link Limitr.planMargin} (reference name). */
  async marginSnapshot(plan: string, usage: Record<string, MarginUsage>, scaled = true): Promise<MarginBreakdown> {
    return this.planMarginSync(plan, usage, scaled);
  }

  // ---- the document -----------------------------------------------------------------------

  /** Warnings about the document (unknown fields, settings without effect). */
  lintSync(): PolicyIssue[] {
    return JSON.parse(this.call(() => this.n.lint(this.h))) as PolicyIssue[];
  }
  async lint(): Promise<PolicyIssue[]> {
    return this.lintSync();
  }
}

export default Limitr;
