// Values between SQLite storage (null, bigint, number, string, Buffer) and canonical values.
// One function per column, chosen once per statement; undefined means "as it is". Values
// that do not match the column's type are given as they are, so the pipeline can reject
// them with a reason.
import type { CanonicalType } from '../../core/types.js';
import { normalizeDecimal } from '../../core/values.js';
import { readDate, readTime, readTimestamp } from './temporal.js';

export type Codec = (v: unknown) => unknown;

const INT64_MAX = (1n << 63n) - 1n;

const asText = (v: unknown) => (typeof v === 'bigint' || typeof v === 'number' ? String(v) : v);

function uuidText(v: unknown): unknown {
  if (typeof v === 'string') return v.toLowerCase();
  if (v instanceof Uint8Array && v.byteLength === 16) {
    const h = Buffer.from(v.buffer, v.byteOffset, 16).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  return v;
}

/** Array elements travel as JSON; values JSON cannot hold exactly become strings. */
function elementToJson(t: CanonicalType): Codec | undefined {
  switch (t.kind) {
    case 'int':
      return t.bits === 64
        ? (v) =>
            typeof v === 'bigint' && v >= -9007199254740991n && v <= 9007199254740991n
              ? Number(v)
              : typeof v === 'bigint'
                ? String(v)
                : v
        : undefined;
    case 'float':
      return (v) =>
        typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? (Object.is(v, -0) ? '-0' : String(v)) : v;
    case 'bytes':
      return (v) => (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') : v);
    case 'array': {
      const each = elementToJson(t.element);
      return each ? (v) => (Array.isArray(v) ? v.map((e) => (e === null ? null : each(e))) : v) : undefined;
    }
    default:
      return undefined;
  }
}

function elementFromJson(t: CanonicalType): Codec | undefined {
  switch (t.kind) {
    case 'int':
      return t.bits === 64 ? (v) => (typeof v === 'number' || typeof v === 'string' ? BigInt(v) : v) : undefined;
    case 'float':
      return (v) => (typeof v === 'string' ? Number(v) : v);
    case 'bytes':
      return (v) => (typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'hex')) : v);
    case 'array': {
      const each = elementFromJson(t.element);
      return each ? (v) => (Array.isArray(v) ? v.map((e) => (e === null ? null : each(e))) : v) : undefined;
    }
    default:
      return undefined;
  }
}

function parseJsonArray(v: unknown): unknown[] | undefined {
  if (typeof v !== 'string' || v[0] !== '[') return undefined;
  try {
    const parsed: unknown = JSON.parse(v);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Storage value (never null) -> canonical value. */
export function decoder(t: CanonicalType): Codec | undefined {
  switch (t.kind) {
    case 'int':
      if (t.bits === 64) {
        if (!t.unsigned) return (v) => (typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v);
        return (v) =>
          typeof v === 'string' && /^\d+$/.test(v)
            ? BigInt(v)
            : typeof v === 'number' && Number.isInteger(v)
              ? BigInt(v)
              : v;
      }
      return (v) => (typeof v === 'bigint' ? Number(v) : v);
    case 'year':
      return (v) => (typeof v === 'bigint' ? Number(v) : v);
    case 'bool':
      return (v) => (v === 0n || v === 0 ? false : v === 1n || v === 1 ? true : v);
    case 'decimal':
      return (v) => {
        if (typeof v === 'bigint') return String(v);
        if (typeof v !== 'number' || !Number.isFinite(v)) return v;
        const s = String(v);
        return s.includes('e') ? normalizeDecimal(s) : s;
      };
    case 'float':
      return (v) => (typeof v === 'number' ? v : v === 'NaN' ? Number.NaN : typeof v === 'bigint' ? Number(v) : v);
    case 'string':
    case 'enum':
    case 'json':
    case 'interval':
      return asText;
    case 'bytes':
      return undefined;
    case 'date':
      return readDate;
    case 'uuid':
      return uuidText;
    case 'time':
      return t.tz ? undefined : readTime;
    case 'timestamp':
      return readTimestamp(t.tz);
    case 'set':
      return (v) => {
        if (typeof v !== 'string') return v;
        return parseJsonArray(v) ?? (v === '' ? [] : v.split(','));
      };
    case 'array': {
      const each = elementFromJson(t.element);
      return (v) => {
        const items = parseJsonArray(v);
        if (!items) return v;
        return each ? items.map((e) => (e === null ? null : each(e))) : items;
      };
    }
    case 'bit': {
      const length = t.length;
      return (v) => (typeof v === 'bigint' ? v.toString(2).padStart(length, '0') : v);
    }
  }
}

/** Pads the fraction of a "…Z" timestamp to the column's precision, so text order is time order. */
function padUtcFraction(precision: number): Codec | undefined {
  if (precision === 0) return undefined;
  return (v) => {
    if (typeof v !== 'string' || !v.endsWith('Z')) return v;
    const body = v.slice(0, -1);
    const dot = body.lastIndexOf('.');
    const digits = dot < 0 ? 0 : body.length - dot - 1;
    return digits >= precision ? v : `${body}${dot < 0 ? '.' : ''}${'0'.repeat(precision - digits)}Z`;
  };
}

/** Canonical value (never null) -> value bound to a statement. */
export function encoder(t: CanonicalType): Codec | undefined {
  switch (t.kind) {
    case 'bool':
      return (v) => (v === true ? 1 : v === false ? 0 : v);
    case 'int':
      // past int64 the value is stored as 20-digit text, which sorts after every integer
      return t.bits === 64 && t.unsigned
        ? (v) => (typeof v === 'bigint' && v > INT64_MAX ? v.toString().padStart(20, '0') : v)
        : undefined;
    case 'float':
      // SQLite stores a bound NaN as NULL
      return (v) => (v !== v ? 'NaN' : v);
    case 'timestamp':
      return t.tz ? padUtcFraction(t.precision) : undefined;
    case 'set':
      return (v) => (Array.isArray(v) ? JSON.stringify(v) : v);
    case 'array': {
      const each = elementToJson(t.element);
      return (v) =>
        Array.isArray(v)
          ? JSON.stringify(each ? v.map((e) => (e === null || e === undefined ? null : each(e))) : v)
          : v;
    }
    default:
      return undefined;
  }
}
