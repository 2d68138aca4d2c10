// Proleptic Gregorian calendar arithmetic on integers (Howard Hinnant's days_from_civil and
// civil_from_days), so temporal values never pass through Date and years outside 0..9999 work.

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));

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
