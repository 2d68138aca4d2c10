// Schedule windows: when a run may copy. "Sat 01:00-05:00 UTC", "Mon-Fri 22:00-06:00
// Europe/Paris", "daily 00:00-24:00". A window that ends before it starts runs past midnight
// into the next day. Times are wall-clock times of the window's zone (UTC when none is given).
import { FerryError } from './errors.js';

export interface Window {
  text: string;
  /** days of the week the window opens on, 0 = Sunday */
  days: Set<number>;
  /** minutes after midnight */
  start: number;
  end: number;
  zone: string;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MINUTES_PER_DAY = 24 * 60;

function dayIndex(name: string, text: string): number {
  const key = name.toLowerCase();
  const i = DAYS.findIndex((d, j) => key === d || key === DAY_NAMES[j]);
  if (i < 0) throw bad(text, `"${name}" is not a day of the week (Mon, Tue, … or Monday, …)`);
  return i;
}

function bad(text: string, why: string): FerryError {
  return new FerryError(
    'PLAN_INVALID',
    `schedule window "${text}": ${why}`,
    'write windows as DAYS HH:MM-HH:MM [ZONE], e.g. "Sat 01:00-05:00 UTC", "Mon-Fri 22:00-06:00 Europe/Paris", "daily 00:00-06:00"',
  );
}

function parseDays(spec: string, text: string): Set<number> {
  const days = new Set<number>();
  if (/^(daily|\*)$/i.test(spec)) return new Set([0, 1, 2, 3, 4, 5, 6]);
  for (const part of spec.split(',')) {
    const [from, to] = part.split('-');
    if (to === undefined) {
      days.add(dayIndex(from!, text));
      continue;
    }
    const a = dayIndex(from!, text);
    const b = dayIndex(to, text);
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  }
  return days;
}

function parseTime(s: string, text: string, isEnd: boolean): number {
  const m = /^(\d{1,2}):(\d\d)$/.exec(s);
  if (!m) throw bad(text, `"${s}" is not a time (HH:MM)`);
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && (min > 0 || !isEnd))) throw bad(text, `"${s}" is not a time of day`);
  return h * 60 + min;
}

function checkZone(zone: string, text: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw bad(text, `"${zone}" is not a time zone (use UTC or an IANA name such as Europe/Paris)`);
  }
}

export function parseWindow(text: string): Window {
  const parts = text.trim().split(/\s+/);
  if (parts.length < 2 || parts.length > 3) throw bad(text, 'expected days, a time range and an optional zone');
  const [daySpec, range, zone = 'UTC'] = parts as [string, string, string?];
  const [from, to] = range.split('-');
  if (to === undefined) throw bad(text, `"${range}" is not a time range (HH:MM-HH:MM)`);
  const start = parseTime(from!, text, false);
  const end = parseTime(to, text, true);
  if (start === end) throw bad(text, 'the window is empty (it starts when it ends)');
  checkZone(zone, text);
  return { text, days: parseDays(daySpec, text), start, end, zone };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Day of the week and minute of the day of an instant, on the wall clock of a zone. */
export function wallClock(ms: number, zone: string): { day: number; minute: number } {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(zone, f);
  }
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const p of f.formatToParts(ms)) {
    if (p.type === 'weekday') day = DAYS.indexOf(p.value.toLowerCase());
    else if (p.type === 'hour') hour = Number(p.value);
    else if (p.type === 'minute') minute = Number(p.value);
  }
  return { day, minute: hour * 60 + minute };
}

/** Whether an instant falls inside a window (a window past midnight belongs to the day it opens). */
export function insideWindow(w: Window, ms: number): boolean {
  const { day, minute } = wallClock(ms, w.zone);
  if (w.start < w.end) return w.days.has(day) && minute >= w.start && minute < w.end;
  return (w.days.has(day) && minute >= w.start) || (w.days.has((day + 6) % 7) && minute < w.end);
}

export function insideAny(windows: Window[], ms: number): boolean {
  return windows.some((w) => insideWindow(w, ms));
}

/**
 * The first instant at or after `ms` inside one of the windows (to the minute), or undefined
 * when none opens within eight days (which parsed windows always do).
 */
export function nextOpening(windows: Window[], ms: number): number | undefined {
  if (insideAny(windows, ms)) return ms;
  const step = 60_000;
  let t = Math.floor(ms / step) * step + step;
  for (let i = 0; i < 8 * MINUTES_PER_DAY; i++, t += step) if (insideAny(windows, t)) return t;
  return undefined;
}
