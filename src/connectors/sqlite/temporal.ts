// Dates and times as SQLite applications write them: every ISO 8601 text form SQLite's own date
// functions read (https://www.sqlite.org/lang_datefunc.html, "time values"), made canonical.
// A time zone is applied as SQLite applies it: the value becomes UTC. Text in no such form, and
// numbers, are given as they are, for the pipeline's checks (and the plan's numericDates).
import { daysFromCivil, formatDays } from '../../core/calendar.js';
import type { Codec } from './codec.js';

// a date; then T or a space, HH:MM, :SS, a fraction of any length, a zone (Z, ±HH, ±HHMM, ±HH:MM)
const ISO = /^(-?\d{4,})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?(?:\s*(Z|[+-]\d\d(?::?\d\d)?))?)?$/i;
const TIME = /^(\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?$/;
// the canonical forms themselves, passed on without a parse
const CANONICAL_TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?$/;
const CANONICAL_TIMESTAMPTZ = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?Z$/;
const CANONICAL_DATE = /^\d{4}-\d\d-\d\d$/;
const CANONICAL_TIME = /^\d\d:\d\d:\d\d(\.\d{1,6})?$/;

const two = (n: number) => String(n).padStart(2, '0');

/** Minutes east of UTC of a zone suffix (undefined: none given). */
function offsetMinutes(zone: string | undefined): number {
  if (!zone || /^z$/i.test(zone)) return 0;
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
  return zone[0] === '-' ? -minutes : minutes;
}

interface Instant {
  date: string;
  /** "HH:MM:SS", or undefined for a date alone */
  clock?: string;
  /** ".ffff" as written (trailing zeros stripped), or "" */
  fraction: string;
}

/** A date-and-time text in UTC, or undefined when it is in none of SQLite's forms. */
function instant(s: string): Instant | undefined {
  const m = ISO.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const fraction = frac ? `.${frac}`.replace(/\.?0+$/, '') : '';
  if (h === undefined) return { date: `${y}-${mo}-${d}`, fraction };
  const hours = Number(h);
  const minutes = Number(mi);
  const seconds = Number(sec ?? 0);
  if (hours > 24 || minutes > 59 || seconds > 59) return undefined;
  const shift = offsetMinutes(zone);
  if (shift === 0 && hours < 24) return { date: `${y}-${mo}-${d}`, clock: `${h}:${mi}:${two(seconds)}`, fraction };
  let total = hours * 60 + minutes - shift;
  let days = daysFromCivil(Number(y), month, day);
  days += Math.floor(total / 1440);
  total = ((total % 1440) + 1440) % 1440;
  return {
    date: formatDays(days),
    clock: `${two(Math.floor(total / 60))}:${two(total % 60)}:${two(seconds)}`,
    fraction,
  };
}

/** Timestamps: a date alone is its midnight; without a zone, the time is taken as written (tz: as UTC). */
export function readTimestamp(tz: boolean): Codec {
  const canonical = tz ? CANONICAL_TIMESTAMPTZ : CANONICAL_TIMESTAMP;
  return (v) => {
    if (typeof v !== 'string' || canonical.test(v)) return v;
    const t = instant(v.trim());
    return t ? `${t.date} ${t.clock ?? '00:00:00'}${t.fraction}${tz ? 'Z' : ''}` : v;
  };
}

/** Dates: a date, or a date and time at midnight (after its zone); any other time of day is not a date. */
export const readDate: Codec = (v) => {
  if (typeof v !== 'string' || CANONICAL_DATE.test(v)) return v;
  const t = instant(v.trim());
  return t && (t.clock === undefined || (t.clock === '00:00:00' && t.fraction === '')) ? t.date : v;
};

/** Times of day (without a zone): "HH:MM", seconds and a fraction optional. */
export const readTime: Codec = (v) => {
  if (typeof v !== 'string' || CANONICAL_TIME.test(v)) return v;
  const m = TIME.exec(v.trim());
  if (!m || Number(m[1]) > 24 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) return v;
  return `${m[1]}:${m[2]}:${m[3] ?? '00'}${m[4] ? `.${m[4]}`.replace(/\.?0+$/, '') : ''}`;
};
