// The chunks of each table that live changes touched since the copy's snapshot, kept in the state
// folder as the follow loop applies them: a cutover verifies those chunks again (verify's code on
// them) instead of every table whole. A change is placed in its chunk by its key where the key is
// the chunk key and its values are integers, whose order every engine shares; any other change
// marks the whole table (chunk -1).
import { UNCHANGED, type TargetChange } from '../../core/changes.js';
import type { KeyRange } from '../../core/types.js';
import type { TableMapping } from '../plan/mapping.js';
import type { Session } from '../session/session.js';

/** the chunk index that stands for "the whole table" */
export const WHOLE_TABLE = -1;

export class TouchedChunks {
  private readonly ranges = new Map<string, { idx: number; range: KeyRange }[]>();
  private readonly known = new Map<string, Set<number>>();
  private readonly fresh = new Map<string, Set<number>>();

  constructor(private readonly session: Session) {}

  /** Notes the chunks a change touches: its old key's and its new key's. */
  add(m: TableMapping, change: TargetChange, key: number[]): void {
    const keys: unknown[][] = [];
    if (change.op !== 'upsert') keys.push(change.key);
    if (change.op !== 'delete')
      keys.push(
        key.map((i, n) => (change.row[i] === UNCHANGED && change.op === 'update' ? change.key[n] : change.row[i])),
      );
    for (const k of keys) this.note(m.target.name, this.chunkOf(m, k));
  }

  /** Writes the chunks noted since the last save into the state folder. */
  save(): void {
    for (const [table, chunks] of this.fresh) this.session.state.addTouchedChunks(this.session.hash, table, chunks);
    this.fresh.clear();
  }

  private note(table: string, idx: number): void {
    const known = this.known.get(table) ?? new Set(this.session.state.touchedChunks(this.session.hash, table));
    this.known.set(table, known);
    if (known.has(idx) || known.has(WHOLE_TABLE)) return;
    known.add(idx);
    const fresh = this.fresh.get(table) ?? new Set<number>();
    fresh.add(idx);
    this.fresh.set(table, fresh);
  }

  private chunkOf(m: TableMapping, key: unknown[]): number {
    const sameKey =
      m.target.key.length === m.target.primaryKey.length && m.target.key.every((k, i) => k === m.target.primaryKey[i]);
    if (!sameKey) return WHOLE_TABLE;
    if (!this.ranges.has(m.target.name))
      this.ranges.set(
        m.target.name,
        this.session.state.chunks(this.session.hash, m.target.name).map((c) => ({ idx: c.idx, range: c.range })),
      );
    const ranges = this.ranges.get(m.target.name)!;
    for (const { idx, range } of ranges) {
      const inside = within(key, range);
      if (inside === undefined) return WHOLE_TABLE;
      if (inside) return idx;
    }
    return WHOLE_TABLE;
  }
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
