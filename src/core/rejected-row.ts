// A rejected row as the state store, the queue's shared store and the reject files keep it: a
// text or bytes value longer than KEPT_VALUE_BYTES is kept as its size, its SHA-256 and its first
// characters or bytes, not whole — a refused 50 MiB value costs a line, not its hex and JSON
// twice over. The key and every small value stay as they were, so the user still sees which row
// was refused and why; verify tells the refused rows apart by rejectedRowText, which reads an
// omitted value and the whole value it stands for alike.
import { createHash } from 'node:crypto';
import type { CanonicalType } from './types.js';
import { canonicalText } from './values.js';

/** Values above this many bytes (UTF-8 for text) are described, not kept, in reject records. */
export const KEPT_VALUE_BYTES = 64 * 1024;
/** how much of an omitted value its description shows: characters of text, bytes (as hex) of bytes */
const HEAD_CHARACTERS = 200;
const HEAD_BYTES = 64;

/** What a reject record keeps of a value too large to keep whole. */
export interface OmittedValue {
  $omitted: { kind: 'text' | 'bytes'; bytes: number; sha256: string; head: string };
}

export function isOmitted(v: unknown): v is OmittedValue {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && '$omitted' in v;
}

/** The UTF-8 size of a string when it is past the limit, else undefined (no encoding for the short ones). */
function largeTextBytes(s: string): number | undefined {
  // UTF-8 takes 1 to 3 bytes per UTF-16 unit
  if (s.length * 3 <= KEPT_VALUE_BYTES) return undefined;
  const bytes = Buffer.byteLength(s);
  return bytes > KEPT_VALUE_BYTES ? bytes : undefined;
}

function sha256(v: string | Uint8Array): string {
  return createHash('sha256').update(v).digest('hex');
}

/** The value's description when it is too large to keep, else undefined. */
function omitted(v: unknown): OmittedValue | undefined {
  if (typeof v === 'string') {
    const bytes = largeTextBytes(v);
    if (bytes === undefined) return undefined;
    let head = v.slice(0, HEAD_CHARACTERS);
    // no half of a surrogate pair at the cut
    if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
    return { $omitted: { kind: 'text', bytes, sha256: sha256(v), head } };
  }
  if (v instanceof Uint8Array && v.length > KEPT_VALUE_BYTES)
    return {
      $omitted: {
        kind: 'bytes',
        bytes: v.length,
        sha256: sha256(v),
        head: Buffer.from(v.subarray(0, HEAD_BYTES)).toString('hex'),
      },
    };
  return undefined;
}

/** The row as a reject record keeps it: its large values described; the row itself when it has none. */
export function rejectedRow(row: unknown[]): unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < row.length; i++) {
    const d = omitted(row[i]);
    if (d) (copy ??= row.slice())[i] = d;
  }
  return copy ?? row;
}

/**
 * The row's canonical text (digest.ts rowText) with each large value as its digest: the same
 * for a row as read and for its reject record, so verify can leave out the rows the target refused.
 */
export function rejectedRowText(row: unknown[], types: CanonicalType[]): string {
  let s = '';
  for (let i = 0; i < types.length; i++) {
    const v = row[i];
    const d = isOmitted(v) ? v : omitted(v);
    s += (d ? `\u0002${d.$omitted.sha256}` : canonicalText(v, types[i]!)) + '\u0001';
  }
  return s;
}
