// Proleptic Gregorian calendar arithmetic on integers (Howard Hinnant's days_from_civil and
// civil_from_days), so temporal values never pass through Date and years outside 0..9999 work.

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));
export const US_PER_DAY = 86_400_000_000;
export const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a civil date (astronomical years: 0 is 1 BC). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** A year as canonical dates write it: four digits at least, a minus sign before years BC. */
export function formatYear(y: number): string {
  if (y >= 1000 && y <= 9999) return String(y);
  return y < 0 ? `-${String(-y).padStart(4, '0')}` : String(y).padStart(4, '0');
}

/** The canonical "YYYY-MM-DD" of a day count since 1970-01-01. */
export function formatDays(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return `${formatYear(yoe + era * 400 + (m <= 2 ? 1 : 0))}-${TWO_DIGITS[m]}-${TWO_DIGITS[d]}`;
}

function fraction(us: number): string {
  if (us === 0) return '';
  let f = String(us).padStart(6, '0');
  while (f.endsWith('0')) f = f.slice(0, -1);
  return `.${f}`;
}

/** The canonical "HH:MM:SS[.ffffff]" of microseconds since midnight (hours past 24 for a duration). */
export function formatTime(us: number): string {
  const secs = Math.floor(us / 1_000_000);
  const h = Math.floor(secs / 3600);
  return `${h < 100 ? TWO_DIGITS[h] : h}:${TWO_DIGITS[Math.floor(secs / 60) % 60]}:${TWO_DIGITS[secs % 60]}${fraction(us % 1_000_000)}`;
}

function isoPart(n: number, unit: string): string {
  return n === 0 ? '' : `${n}${unit}`;
}

/** ISO 8601 text of an interval, exactly as PostgreSQL writes it with IntervalStyle iso_8601. */
export function formatInterval(months: number, days: number, hours: number, us: number): string {
  const years = Math.trunc(months / 12);
  const mons = months % 12 || 0;
  let rest = us;
  const minutes = Math.trunc(rest / 60_000_000);
  rest -= minutes * 60_000_000;
  if (years === 0 && mons === 0 && days === 0 && hours === 0 && minutes === 0 && rest === 0) return 'PT0S';
  let out = `P${isoPart(years, 'Y')}${isoPart(mons, 'M')}${isoPart(days, 'D')}`;
  if (hours !== 0 || minutes !== 0 || rest !== 0) out += `T${isoPart(hours, 'H')}${isoPart(minutes, 'M')}`;
  if (rest !== 0) {
    const abs = Math.abs(rest);
    const sec = Math.floor(abs / 1_000_000);
    out += `${rest < 0 ? '-' : ''}${sec}${fraction(abs - sec * 1_000_000)}S`;
  }
  return out;
}

/**
 * The interval (as formatInterval writes it) of a time "[-]HH:MM:SS[.ffffff]": a time of day, or a
 * duration as MySQL's TIME holds one (negative, or hours past 24); undefined for other text.
 */
export function timeAsInterval(s: string): string | undefined {
  const m = /^(-?)(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/.exec(s);
  if (!m) return undefined;
  const sign = m[1] ? -1 : 1;
  const rest = (Number(m[3]) * 60 + Number(m[4])) * 1_000_000 + Number((m[5] ?? '').padEnd(6, '0'));
  return formatInterval(0, 0, sign * Number(m[2]) || 0, sign * rest || 0);
}

/** The canonical timestamp text of milli- or microseconds since 1970-01-01 00:00 (UTC with `tz`: a "Z" at the end). */
export function formatTimestamp(v: number | bigint, unit: 'MILLIS' | 'MICROS', tz: boolean): string {
  let days: number;
  let us: number;
  if (typeof v === 'bigint') {
    const perDay = unit === 'MILLIS' ? BigInt(MS_PER_DAY) : BigInt(US_PER_DAY);
    let d = v / perDay;
    let rest = v % perDay;
    if (rest < 0n) {
      rest += perDay;
      d -= 1n;
    }
    days = Number(d);
    us = Number(rest) * (unit === 'MILLIS' ? 1000 : 1);
  } else {
    const perDay = unit === 'MILLIS' ? MS_PER_DAY : US_PER_DAY;
    days = Math.floor(v / perDay);
    us = (v - days * perDay) * (unit === 'MILLIS' ? 1000 : 1);
  }
  return `${formatDays(days)} ${formatTime(us)}${tz ? 'Z' : ''}`;
}

// Julian day 2440587.5 is 1970-01-01 00:00 UTC
const JULIAN_EPOCH_MS = 210_866_760_000_000;

/**
 * A number stored as a point in time, read as SQLite's date functions read it (to the
 * millisecond): Unix epoch seconds or a Julian day number. The canonical UTC timestamp, without
 * a "Z"; undefined for a number that is no point in time (NaN, infinite).
 */
export function numericTimestamp(v: number | bigint, as: 'unixepoch' | 'julianday'): string | undefined {
  if (typeof v === 'bigint' && as === 'unixepoch') return formatTimestamp(v * 1_000_000n, 'MICROS', false);
  const n = Number(v);
  if (!Number.isFinite(n)) return undefined;
  return formatTimestamp(
    as === 'unixepoch' ? Math.round(n * 1000) : Math.round(n * MS_PER_DAY) - JULIAN_EPOCH_MS,
    'MILLIS',
    false,
  );
}
