// Values in PostgreSQL's text output (what pgoutput sends for a row change) as the canonical values
// the binary read path gives for the same column: each text is parsed into the numbers the binary
// form holds and formatted by the same functions (temporal.ts), so a change and a copied row never
// differ in form. The replication session runs with the settings of every ferry session (ISO dates
// in UTC, ISO 8601 intervals, hex bytea, full float precision: replicationOptions).
import { formatInterval } from '../../core/calendar.js';
import type { CanonicalType } from '../../core/types.js';
import {
  DATE_INFINITY,
  DATE_MINUS_INFINITY,
  formatDays,
  formatOffset,
  formatTimeOfDay,
  parseDate,
  parseInterval,
  parseTime,
  parseTimeTz,
  parseTimestamp,
  timestampFormatter,
} from './temporal.js';
import { familyOf, type ScalarFamily } from './wire.js';

/** Decodes one non-NULL value of PostgreSQL's text output. */
export type TextDecoder = (text: string) => unknown;

const US_PER_HOUR = 3_600_000_000;

/**
 * A date or timestamp as PostgreSQL's ISO style writes it ("0044-03-15 BC", years counted from 1
 * BC backwards) in astronomical years, as canonical text writes them ("-0043-03-15").
 */
function astronomical(s: string): string {
  if (!s.endsWith(' BC')) return s;
  const dash = s.indexOf('-');
  const year = 1 - Number(s.slice(0, dash));
  const digits = String(Math.abs(year)).padStart(4, '0');
  return `${year < 0 ? '-' : ''}${digits}${s.slice(dash, -3)}`;
}

function bytesOfHex(hex: string): Uint8Array {
  const b = Buffer.from(hex, 'hex');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function timestampDecoder(tz: boolean): TextDecoder {
  const format = timestampFormatter();
  const suffix = tz ? 'Z' : '';
  return (s) => {
    if (s === 'infinity' || s === '-infinity') return s;
    const { days, us } = parseTimestamp(astronomical(s), tz);
    return format(days, us) + suffix;
  };
}

function scalarDecoder(family: ScalarFamily, t: CanonicalType): TextDecoder {
  switch (family) {
    case 'bool':
      return (s) => s === 't';
    case 'int2':
    case 'int4':
      return Number;
    case 'int8':
      return t.kind === 'int' && t.bits === 64 ? BigInt : Number;
    case 'numeric':
      return t.kind === 'int' && t.bits === 64 ? BigInt : (s) => s;
    case 'float4':
      // the shortest text that reads back as the same float4, widened as the binary read widens it
      return (s) => Math.fround(Number(s));
    case 'float8':
      return Number;
    case 'text':
    case 'jsonb':
    case 'uuid':
    case 'bit':
      return (s) => s;
    case 'bytea':
      return (s) => bytesOfHex(s.slice(2));
    case 'geometry':
      // PostGIS writes its EWKB in hex
      return bytesOfHex;
    case 'date':
      return (s) => {
        const days = parseDate(astronomical(s));
        return days === DATE_INFINITY ? 'infinity' : days === DATE_MINUS_INFINITY ? '-infinity' : formatDays(days);
      };
    case 'time':
      return (s) => formatTimeOfDay(parseTime(s));
    case 'timetz':
      return (s) => {
        const [us, east] = parseTimeTz(s);
        return formatTimeOfDay(us) + formatOffset(east);
      };
    case 'timestamp':
      return timestampDecoder(false);
    case 'timestamptz':
      return timestampDecoder(true);
    case 'interval':
      return (s) => {
        const [months, days, us] = parseInterval(s);
        const hours = Math.trunc(us / US_PER_HOUR);
        return formatInterval(months, days, hours, us - hours * US_PER_HOUR);
      };
  }
}

/**
 * An array's text ("{1,NULL,\"a,b\"}", nested braces for more dimensions, "[0:1]={…}" when a
 * lower bound is not 1) as nested arrays, each element decoded by `element`.
 */
function arrayDecoder(element: TextDecoder): TextDecoder {
  return (s) => {
    let p = s.charCodeAt(0) === 91 /* [ */ ? s.indexOf('=') + 1 : 0;
    const parse = (): unknown[] => {
      const out: unknown[] = [];
      p++; // {
      if (s[p] === '}') {
        p++;
        return out;
      }
      for (;;) {
        if (s[p] === '{') out.push(parse());
        else if (s[p] === '"') {
          let v = '';
          for (p++; s[p] !== '"'; p++) v += s[p] === '\\' ? s[++p] : s[p];
          p++;
          out.push(element(v));
        } else {
          const end = nextDelimiter(s, p);
          const v = s.slice(p, end);
          p = end;
          out.push(v === 'NULL' ? null : element(v));
        }
        if (s[p++] === '}') return out;
      }
    };
    return parse();
  };
}

function nextDelimiter(s: string, from: number): number {
  for (let i = from; i < s.length; i++) if (s[i] === ',' || s[i] === '}') return i;
  return s.length;
}

function elementType(t: CanonicalType): CanonicalType {
  if (t.kind === 'set') return { kind: 'string' };
  return t.kind === 'array' ? elementType(t.element) : t;
}

/** The decoder of a column's text output into the canonical values of its type. */
export function textDecoderFor(t: CanonicalType): TextDecoder {
  const family = familyOf(t);
  if (family.startsWith('array:')) return arrayDecoder(scalarDecoder(family.slice(6) as ScalarFamily, elementType(t)));
  return scalarDecoder(family as ScalarFamily, t);
}
