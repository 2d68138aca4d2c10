// What live changes touched since the copy's snapshot, kept in the state folder as the follow
// loop applies them: for each chunk of the copy a change fell in, the span of keys touched in it
// (lowest and highest). A cutover verifies those spans again with verify's code instead of every
// table whole. A change is placed by its key where the key is the chunk key and its values are
// integers, whose order every engine shares; any other change marks the whole table (chunk -1).
import { UNCHANGED, type TargetChange } from '../../core/changes.js';
import type { KeyRange } from '../../core/types.js';
import type { TableMapping } from '../plan/mapping.js';
import type { TouchedSpan } from '../session/checkpoints.js';
import type { Session } from '../session/session.js';

/** the chunk index that stands for "the whole table" */
export const WHOLE_TABLE = -1;

export class TouchedChunks {
  private readonly ranges = new Map<string, { idx: number; range: KeyRange }[]>();
  /** by table, by chunk: the span touched so far */
  private readonly spans = new Map<string, Map<number, TouchedSpan>>();
  private readonly changed = new Map<string, Set<number>>();

  constructor(private readonly session: Session) {}

  /** Notes the keys a change touches: its old key and its new key. */
  add(m: TableMapping, change: TargetChange, key: number[]): void {
    const keys: unknown[][] = [];
    if (change.op !== 'upsert') keys.push(change.key);
    if (change.op !== 'delete')
      keys.push(
        key.map((i, n) => (change.row[i] === UNCHANGED && change.op === 'update' ? change.key[n] : change.row[i])),
      );
    for (const k of keys) this.note(m.target.name, this.chunkOf(m, k), k);
  }

  /** Writes the spans that grew since the last save into the state folder. */
  save(): void {
    for (const [table, chunks] of this.changed) {
      const spans = this.spans.get(table)!;
      this.session.state.saveTouched(
        this.session.hash,
        table,
        [...chunks].map((idx) => spans.get(idx)!),
      );
    }
    this.changed.clear();
  }

  private note(table: string, idx: number, key: unknown[]): void {
    let spans = this.spans.get(table);
    if (!spans) {
      spans = new Map(this.session.state.touchedChunks(this.session.hash, table).map((s) => [s.idx, s]));
      this.spans.set(table, spans);
    }
    if (spans.has(WHOLE_TABLE)) return;
    const span = spans.get(idx);
    const grown =
      idx === WHOLE_TABLE
        ? { idx }
        : !span
          ? { idx, lowest: key, highest: key }
          : {
              idx,
              lowest: compareKeys(key, span.lowest!)! < 0 ? key : span.lowest,
              highest: compareKeys(key, span.highest!)! > 0 ? key : span.highest,
            };
    if (span && span.lowest === grown.lowest && span.highest === grown.highest) return;
    spans.set(idx, grown);
    const changed = this.changed.get(table) ?? new Set<number>();
    changed.add(idx);
    this.changed.set(table, changed);
  }

  private chunkOf(m: TableMapping, key: unknown[]): number {
    const sameKey =
      m.target.key.length === m.target.primaryKey.length && m.target.key.every((k, i) => k === m.target.primaryKey[i]);
    if (!sameKey || key.some((v) => integerOf(v) === undefined)) return WHOLE_TABLE;
    if (!this.ranges.has(m.target.name))
      this.ranges.set(
        m.target.name,
        this.session.state.chunks(this.session.hash, m.target.name).map((c) => ({ idx: c.idx, range: c.range })),
      );
    for (const { idx, range } of this.ranges.get(m.target.name)!) {
      const inside = within(key, range);
      if (inside === undefined) return WHOLE_TABLE;
      if (inside) return idx;
    }
    return WHOLE_TABLE;
  }
}

/** The key range of a span: from its lowest key to just past its highest (integer keys). */
export function spanRange(span: TouchedSpan): KeyRange {
  const highest = span.highest!;
  const last = highest.at(-1);
  const next =
    typeof last === 'bigint' ? last + 1n : typeof last === 'number' ? last + 1 : String(BigInt(String(last)) + 1n);
  return { lower: span.lowest!, upper: [...highest.slice(0, -1), next] };
}

/** Whether a key lies in a half-open range; undefined when its values cannot be ordered here. */
function within(key: unknown[], range: KeyRange): boolean | undefined {
  const lo = range.lower ? compareKeys(key, range.lower) : 1;
  const hi = range.upper ? compareKeys(key, range.upper) : -1;
  if (lo === undefined || hi === undefined) return undefined;
  return lo >= 0 && hi < 0;
}

function compareKeys(a: unknown[], b: unknown[]): number | undefined {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = integerOf(a[i]);
    const y = integerOf(b[i]);
    if (x === undefined || y === undefined) return undefined;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function integerOf(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'string' && /^-?\d{1,30}$/.test(v)) return BigInt(v);
  return undefined;
}
