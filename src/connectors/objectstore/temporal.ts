// Canonical dates, times and timestamps <-> Parquet's numbers (days, and milli- or
// microseconds, since 1970-01-01), by calendar arithmetic: never through Date. Years are
// astronomical (44 BC is year -43, written "-0043"), as in Parquet's proleptic calendar.
// Numbers are used while they are exact (within about 285 years of 1970 for microseconds),
// bigints past that.

import { daysFromCivil, formatDays, formatTime, formatTimestamp, MS_PER_DAY, US_PER_DAY } from '../../core/calendar.js';

export { formatDays, formatTime, formatTimestamp };

export class RowRefused extends Error {}

// every timestamp this many days from 1970 has an exact microsecond count below 2^53
const EXACT_DAYS = 100_000;

const digit = (s: string, i: number) => s.charCodeAt(i) - 48;
const two = (s: string, i: number) => digit(s, i) * 10 + digit(s, i + 1);

const DATE_RE = /^(-?\d{4,})-(\d\d)-(\d\d)/;

/** Where the date part ends and its year, month and day, for any year. */
function dateParts(s: string): [y: number, m: number, d: number, end: number] {
  if (s.length >= 10 && s.charCodeAt(4) === 45 && s.charCodeAt(0) !== 45)
    return [digit(s, 0) * 1000 + digit(s, 1) * 100 + two(s, 2), two(s, 5), two(s, 8), 10];
  const m = DATE_RE.exec(s);
  if (!m) throw new RowRefused(`"${s}" is not a date`);
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[0].length];
}

export function parseDate(s: string): number {
  const [y, m, d] = dateParts(s);
  return daysFromCivil(y, m, d);
}

/** Microseconds of "HH:MM:SS[.ffffff]", hours up to 24. */
export function parseTime(s: string, from = 0): number {
  if (s.charCodeAt(from + 2) !== 58 || s.charCodeAt(from + 5) !== 58)
    throw new RowRefused(`"${s}" is not a time of day`);
  const secs = two(s, from) * 3600 + two(s, from + 3) * 60 + two(s, from + 6);
  let us = 0;
  if (s.charCodeAt(from + 8) === 46) {
    let scale = 100_000;
    for (let i = from + 9; i < s.length && scale >= 1; i++, scale /= 10) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      us += (c - 48) * scale;
    }
  }
  return secs * 1_000_000 + us;
}

/** Milli- or microseconds since 1970-01-01 00:00:00 (UTC for a "Z" timestamp). */
export function parseTimestamp(s: string, unit: 'MILLIS' | 'MICROS'): number | bigint {
  const [y, m, d, end] = dateParts(s);
  const days = daysFromCivil(y, m, d);
  const us = parseTime(s, end + 1);
  if (unit === 'MILLIS') {
    if (us % 1000 !== 0)
      throw new RowRefused(`${s} has a fraction of a second finer than the milliseconds this column keeps`);
    return days * MS_PER_DAY + us / 1000;
  }
  if (days > -EXACT_DAYS && days < EXACT_DAYS) return days * US_PER_DAY + us;
  return BigInt(days) * BigInt(US_PER_DAY) + BigInt(us);
}

/** The year, month, day and hour of a date or timestamp, for partition paths. */
export function dateFields(s: string): { year: number; month: number; day: number; hour: number } {
  const [year, month, day, end] = dateParts(s);
  const hour = s.length > end + 2 ? two(s, end + 1) : 0;
  return { year, month, day, hour };
}
