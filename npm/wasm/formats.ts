// YAML and TOML for the WASM entries only: the WASM engine is built JSON-only (limitr-core without
// its `yaml`/`toml` features, ~240 KB gzipped less), so `load` parses YAML/TOML text here and hands
// the engine JSON, and `stringify` turns the engine's JSON into YAML/TOML. Integers are kept exact
// (BigInt); other numbers go through JS doubles (exact up to 15 significant digits). The napi path
// never uses this module: there the engine reads and writes every format itself.
import { parse as parseToml, stringify as stringifyToml, TomlDate } from 'smol-toml';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { LimitrError } from '../src/errors.js';
import type { Handle, NativeBackend } from '../src/native.js';

/** The engine's default maximum document size (limitr-core `DEFAULT_MAX_DOCUMENT_BYTES`). */
const MAX_DOCUMENT_BYTES = 32 * 1024 * 1024;

type Converted = 'yaml' | 'toml';

/** `yaml`/`yml`/`toml` (any case), the formats converted here; anything else goes to the engine. */
function converted(format: string): Converted | undefined {
  const f = format.trim().toLowerCase();
  return f === 'yaml' || f === 'yml' ? 'yaml' : f === 'toml' ? 'toml' : undefined;
}

function firstLine(text: string): string {
  return (text.split('\n', 1)[0] ?? text).trim();
}

/** A parsed value as JSON text: BigInt integers exactly, dates as their text. */
function toJson(v: unknown, format: Converted): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new LimitrError('POLICY_PARSE', `${format}: ${v} is not a finite number`);
    return JSON.stringify(v);
  }
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (v instanceof TomlDate) return JSON.stringify(v.toISOString());
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((x) => toJson(x, format)).join(',')}]`;
  if (typeof v === 'object') {
    const parts = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x, format)}`);
    return `{${parts.join(',')}}`;
  }
  throw new LimitrError('POLICY_PARSE', `${format}: unsupported value ${String(v)}`);
}

/** YAML or TOML text as JSON text for the engine. */
function readAsJson(text: string, format: Converted): string {
  let value: unknown;
  try {
    value =
      format === 'yaml'
        ? parseYaml(text, { intAsBigInt: true, merge: true, maxAliasCount: 100 })
        : parseToml(text, { integersAsBigInt: 'asNeeded' });
  } catch (e) {
    const err = e as { message?: unknown; line?: unknown; column?: unknown };
    let message = firstLine(typeof err?.message === 'string' ? err.message : String(e));
    if (typeof err?.line === 'number' && typeof err?.column === 'number') {
      message += ` at line ${err.line}, column ${err.column}`;
    }
    throw new LimitrError('POLICY_PARSE', `${format}: ${message}`);
  }
  return toJson(value, format);
}

/** Drops null fields and elements (TOML has no null), as the engine's TOML writer does. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== null).map(withoutNulls);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = withoutNulls(x);
    return out;
  }
  return v;
}

/** The engine's JSON text as YAML or TOML. */
function writeFromJson(json: string, format: Converted): string {
  try {
    const value: unknown = JSON.parse(json);
    return format === 'yaml'
      ? stringifyYaml(value, { lineWidth: 0 })
      : stringifyToml(withoutNulls(value) as Record<string, unknown>);
  } catch (e) {
    throw new LimitrError('SERIALIZE', `${format}: ${firstLine(e instanceof Error ? e.message : String(e))}`);
  }
}

/** UTF-8 size of `text`, or a lower bound once it is certainly over `max`. */
function utf8Size(text: string, max: number): number {
  if (text.length > max || text.length * 3 <= max) return text.length;
  return new TextEncoder().encode(text).length;
}

/** `backend` with YAML/TOML `load` and `stringify` done here over the engine's JSON. */
export function withFormats<B extends Pick<NativeBackend, 'load' | 'stringify'>>(backend: B): B {
  return {
    ...backend,
    load(text: string, format: string, options: string | null): Handle {
      const f = converted(format);
      // Over the size limit, the engine reports DOCUMENT_TOO_LARGE before reading any text.
      if (f === undefined || utf8Size(text, MAX_DOCUMENT_BYTES) > MAX_DOCUMENT_BYTES) {
        return backend.load(text, f === undefined ? format : 'json', options);
      }
      return backend.load(readAsJson(text, f), 'json', options);
    },
    stringify(h: Handle, format: string): string {
      const f = converted(format);
      return f === undefined ? backend.stringify(h, format) : writeFromJson(backend.stringify(h, 'json'), f);
    },
  };
}
