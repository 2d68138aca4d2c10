// Dates, times and intervals between their canonical text and PostgreSQL's binary form
// (days / microseconds since 2000-01-01), by calendar arithmetic: never through Date.
// Years are astronomical: 44 BC is year -43, written "-0043".

import { daysFromCivil, formatDays as formatCivilDays } from '../../core/calendar.js';

/** A value the PostgreSQL binary form cannot take; the message is the one-line reason. */
export class ValueError extends Error {}

export const US_PER_DAY = 86_400_000_000;
const US_PER_HOUR = 3_600_000_000;
const US_PER_MINUTE = 60_000_000;
const US_PER_SECOND = 1_000_000;
/** 2000-01-01 counted from 1970-01-01 */
export const PG_EPOCH_DAYS = 10957;
/** Julian day number of 2000-01-01, and PostgreSQL's limits as Julian days */
const PG_EPOCH_JD = 2451545;
const MIN_JD = 0;
const DATE_END_JD = 2147483494;
const TIMESTAMP_END_JD = 109203528;

export const DATE_INFINITY = 0x7fffffff;
export const DATE_MINUS_INFINITY = -0x80000000;

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));
export const FOUR_DIGITS = Array.from({ length: 10000 }, (_, i) => String(i).padStart(4, '0'));

/** "YYYY-MM-DD" of a day counted from 2000-01-01, PostgreSQL's epoch. */
export function formatDays(days2000: number): string {
  return formatCivilDays(days2000 + PG_EPOCH_DAYS);
}

/** Days from 2000-01-01 of a civil date. */
function civilToDays(y: number, m: number, d: number): number {
  return daysFromCivil(y, m, d) - PG_EPOCH_DAYS;
}

function daysInMonth(y: number, m: number): number {
  if (m !== 2) return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
}

/** "HH:MM:SS[.ffffff]" of microseconds since midnight (24:00:00 included); a fraction always has six digits. */
export function formatTimeOfDay(us: number): string {
  const secs = Math.floor(us / US_PER_SECOND);
  const f = us - secs * US_PER_SECOND;
  const h = Math.floor(secs / 3600);
  const rest = secs - h * 3600;
  const m = Math.floor(rest / 60);
  const base = TWO_DIGITS[h] + ':' + TWO_DIGITS[m] + ':' + TWO_DIGITS[rest - m * 60];
  return f === 0 ? base : base + '.' + FOUR_DIGITS[Math.floor(f / 100)] + TWO_DIGITS[f % 100];
}

/** "+HH:MM[:SS]" of an offset east of UTC in seconds. */
export function formatOffset(east: number): string {
  const sign = east < 0 ? '-' : '+';
  const a = Math.abs(east);
  const s = a % 60;
  return `${sign}${TWO_DIGITS[Math.floor(a / 3600)]}:${TWO_DIGITS[Math.floor(a / 60) % 60]}${s ? `:${TWO_DIGITS[s]}` : ''}`;
}

/**
 * Formats microseconds since 2000-01-01 00:00:00 as "YYYY-MM-DD HH:MM:SS[.ffffff]".
 * Returns a function remembering the last day's text: rows of one chunk often share days.
 */
export function timestampFormatter(): (days: number, us: number) => string {
  let lastDays = NaN;
  let lastDate = '';
  return (days, us) => {
    if (days !== lastDays) {
      lastDays = days;
      lastDate = `${formatDays(days)} `;
    }
    return lastDate + formatTimeOfDay(us);
  };
}

// ---- parsing canonical text; `pos` is where the last parse stopped ----

let pos = 0;
/** the last "YYYY-MM-DD" parsed, and its day: timestamps of neighbouring rows often share their date */
let cachedDate = '\u0000';
let cachedDateDays = 0;

function bad(s: string, what: string): never {
  throw new ValueError(`"${s}" is not a valid ${what}`);
}

function twoDigits(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

/** Days from 2000-01-01 of "[-]YYYY-MM-DD" starting at 0; sets pos after it. */
function parseDatePart(s: string, what: string): number {
  if (s.charCodeAt(4) === 45 && s.startsWith(cachedDate)) {
    pos = 10;
    return cachedDateDays;
  }
  let i = s.charCodeAt(0) === 45 ? 1 : 0;
  let y = 0;
  const start = i;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    y = y * 10 + c;
  }
  if (i - start < 4 || s.charCodeAt(i) !== 45 || s.charCodeAt(i + 3) !== 45) bad(s, what);
  if (start === 1) y = -y;
  const m = twoDigits(s, i + 1);
  const d = twoDigits(s, i + 4);
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) {
    if (m === 0 || d === 0) throw new ValueError(`"${s}" is a zero date, which PostgreSQL cannot store`);
    bad(s, what);
  }
  pos = i + 6;
  const days = civilToDays(y, m, d);
  if (i === 4) {
    cachedDate = s.slice(0, 10);
    cachedDateDays = days;
  }
  return days;
}

/** what a fraction of n < 6 digits is multiplied by to count microseconds */
const SCALE = [1000000, 100000, 10000, 1000, 100, 10];

/** Microseconds since midnight of "HH:MM:SS[.fffffffff]" starting at `at`; sets pos after it. */
function parseTimePart(s: string, at: number, what: string): number {
  const h = twoDigits(s, at);
  const m = twoDigits(s, at + 3);
  const sec = twoDigits(s, at + 6);
  if (h < 0 || m < 0 || sec < 0 || s.charCodeAt(at + 2) !== 58 || s.charCodeAt(at + 5) !== 58 || m > 59 || sec > 60)
    bad(s, what);
  let us = 0;
  let i = at + 8;
  if (s.charCodeAt(i) === 46) {
    let digits = 0;
    let roundUp = 0;
    for (i++; i < s.length; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (digits < 6) {
        us = us * 10 + c;
        digits++;
      } else if (digits++ === 6 && c >= 5) roundUp = 1; // half up at the seventh digit
    }
    if (digits < 6) us *= SCALE[digits]!;
    us += roundUp;
  }
  pos = i;
  const total = h * US_PER_HOUR + m * US_PER_MINUTE + sec * US_PER_SECOND + us;
  if (total > US_PER_DAY) bad(s, what);
  return total;
}

/** Seconds east of UTC of "Z", "+HH", "+HH:MM", "+HH:MM:SS" (or without colons) at pos. */
function parseOffset(s: string, what: string): number {
  const c = s.charCodeAt(pos);
  if (c === 90 /* Z */) {
    pos++;
    return 0;
  }
  if (c !== 43 && c !== 45) bad(s, what);
  const sign = c === 45 ? -1 : 1;
  const rest = s.slice(pos + 1);
  const m = /^(\d\d):?(\d\d)?:?(\d\d)?$/.exec(rest);
  if (!m) bad(s, what);
  pos = s.length;
  return sign * (Number(m[1]) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0));
}

function checkJulian(days: number, endJd: number, s: string, what: string): void {
  const jd = days + PG_EPOCH_JD;
  if (jd < MIN_JD || jd >= endJd) throw new ValueError(`${what} ${s} is outside the range PostgreSQL can store`);
}

/** Days from 2000-01-01 of a canonical date ("infinity" and "-infinity" map to PostgreSQL's). */
export function parseDate(s: string): number {
  if (s.charCodeAt(0) === 105 || s.charCodeAt(1) === 105) {
    if (s === 'infinity') return DATE_INFINITY;
    if (s === '-infinity') return DATE_MINUS_INFINITY;
  }
  const days = parseDatePart(s, 'date');
  if (pos !== s.length) bad(s, 'date');
  checkJulian(days, DATE_END_JD, s, 'date');
  return days;
}

/** Microseconds since midnight of a canonical time. */
export function parseTime(s: string): number {
  const us = parseTimePart(s, 0, 'time');
  if (pos !== s.length) bad(s, 'time');
  return us;
}

/** [microseconds since midnight, seconds east of UTC] of a canonical time with zone. */
export function parseTimeTz(s: string): [number, number] {
  const us = parseTimePart(s, 0, 'time with time zone');
  const east = pos === s.length ? 0 : parseOffset(s, 'time with time zone');
  return [us, east];
}

/** The result of parseTimestamp, shared by every call (read it before the next). */
export const parsedTimestamp = { days: 0, us: 0 };

/**
 * Days since 2000-01-01 and microseconds into the day of a canonical timestamp, in
 * `parsedTimestamp`. With `tz`, an offset ("Z", "+02:00") is applied so the result is UTC;
 * without, an offset is refused.
 */
export function parseTimestamp(s: string, tz: boolean): typeof parsedTimestamp {
  const what = tz ? 'timestamp with time zone' : 'timestamp';
  let days = parseDatePart(s, what);
  let us = 0;
  if (pos < s.length) {
    const sep = s.charCodeAt(pos);
    if (sep !== 32 && sep !== 84) bad(s, what);
    us = parseTimePart(s, pos + 1, what);
    if (pos < s.length) {
      if (!tz) bad(s, what);
      us -= parseOffset(s, what) * US_PER_SECOND;
      if (pos !== s.length) bad(s, what);
    }
  }
  if (us < 0 || us >= US_PER_DAY) {
    const shift = Math.floor(us / US_PER_DAY);
    days += shift;
    us -= shift * US_PER_DAY;
  }
  checkJulian(days, TIMESTAMP_END_JD, s, what);
  parsedTimestamp.days = days;
  parsedTimestamp.us = us;
  return parsedTimestamp;
}

// ---- intervals, as ISO 8601 durations the way PostgreSQL's iso_8601 style writes them ----

/** [whole hours, microseconds of the rest] of an interval's time part (int64 microseconds as hi/lo words). */
export function splitIntervalTime(hi: number, lo: number): [number, number] {
  if (hi >= -0x200000 && hi < 0x200000) {
    const us = hi * 4294967296 + lo;
    const hours = Math.trunc(us / US_PER_HOUR);
    return [hours, us - hours * US_PER_HOUR];
  }
  const us = (BigInt(hi) << 32n) + BigInt(lo);
  return [Number(us / BigInt(US_PER_HOUR)), Number(us % BigInt(US_PER_HOUR))];
}

const ISO_INTERVAL =
  /^P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)W)?(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?)(\d+)(?:\.(\d{1,6})\d*)?S)?)?$/;

/** [months, days, microseconds] of an ISO 8601 duration such as "P1Y2M3DT4H5M6.5S". */
export function parseInterval(s: string): [number, number, number] {
  const m = ISO_INTERVAL.exec(s);
  if (!m || s === 'P' || s.endsWith('T'))
    throw new ValueError(`"${s}" is not an ISO 8601 interval (like P1Y2M3DT4H5M6.5S)`);
  const n = (i: number) => (m[i] ? Number(m[i]) : 0);
  const seconds = n(8) * US_PER_SECOND + (m[9] ? Number(m[9].padEnd(6, '0')) : 0);
  const us = n(5) * US_PER_HOUR + n(6) * US_PER_MINUTE + (m[7] ? -seconds : seconds);
  if (!Number.isSafeInteger(us)) throw new ValueError(`interval ${s} is too large`);
  return [n(1) * 12 + n(2), n(3) * 7 + n(4), us];
}
