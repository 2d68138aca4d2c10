// Where a stream stands in an object store: a record per call to applyChanges, written after
// the call's change files, under the root's _ferry_positions/ folder:
//
//   _ferry_positions/<stream id>/<sequence>.json   { stream, sequence, position, appliedAt, tables }
//
// A change file counts only when the record of its call names its table: a call cut short
// before its record leaves files nobody reads, and the next call (the same sequence again)
// writes over those of the tables it changes. Records are never rewritten, so they are read
// once per target.
import { createHash } from 'node:crypto';
import { FerryError } from '../../core/errors.js';
import type { ObjectStore } from '../../stores/store.js';
import { CHANGES_DIR, parseChangeFile, type ChangeFileName } from './change-files.js';

export const POSITIONS_DIR = '_ferry_positions/';
const RECORD = /^(\d{12})\.json$/;

export interface PositionRecord {
  stream: string;
  sequence: number;
  position: string;
  appliedAt: string;
  /** the table folders the call wrote a change file to */
  tables: string[];
}

/** The id of a stream in object names: its name hashed (a name may hold any character). */
export function streamId(stream: string): string {
  return createHash('sha256').update(stream).digest('hex').slice(0, 16);
}

const recordKey = (id: string, sequence: number) => `${POSITIONS_DIR}${id}/${String(sequence).padStart(12, '0')}.json`;

export class ChangeLog {
  /** records read or written, by key (a record never changes) */
  private readonly records = new Map<string, PositionRecord | null>();
  /** each stream's last record, by stream id, once looked up */
  private readonly last = new Map<string, PositionRecord | undefined>();

  constructor(private readonly store: ObjectStore) {}

  private async record(key: string): Promise<PositionRecord | undefined> {
    if (!this.records.has(key)) {
      const doc = await this.store.get(key);
      this.records.set(key, doc ? (JSON.parse(doc.toString('utf8')) as PositionRecord) : null);
    }
    return this.records.get(key) ?? undefined;
  }

  /**
   * The stream's last record: listed in the store the first time it is asked for, and again when
   * `fresh` (another process, the one following, may have recorded calls since).
   */
  async lastRecord(stream: string, fresh = false): Promise<PositionRecord | undefined> {
    const id = streamId(stream);
    if (fresh || !this.last.has(id)) {
      let sequence = 0;
      for await (const o of this.store.list(`${POSITIONS_DIR}${id}/`)) {
        const m = RECORD.exec(o.key.slice(o.key.lastIndexOf('/') + 1));
        if (m) sequence = Math.max(sequence, Number(m[1]));
      }
      this.last.set(id, sequence > 0 ? await this.record(recordKey(id, sequence)) : undefined);
    }
    return this.last.get(id);
  }

  /** Records a call: its change files (written before) count from now on. */
  async commit(record: PositionRecord): Promise<void> {
    const id = streamId(record.stream);
    const key = recordKey(id, record.sequence);
    await this.store.put(key, JSON.stringify(record) + '\n');
    this.records.set(key, record);
    this.last.set(id, record);
  }

  /**
   * The change files of the table folder that count, in the order they were applied (by stream,
   * then sequence), leaving out those a compaction took in (`through`: the last sequence folded
   * into the snapshot, by stream id).
   */
  async committedFiles(dir: string, through: Record<string, number> = {}): Promise<ChangeFileName[]> {
    const found: ChangeFileName[] = [];
    for await (const o of this.store.list(dir + CHANGES_DIR)) {
      const f = parseChangeFile(dir, o.key);
      if (f && f.sequence > (through[f.stream] ?? 0)) found.push(f);
    }
    const counted: ChangeFileName[] = [];
    for (const f of found) {
      const r = await this.record(recordKey(f.stream, f.sequence));
      if (r?.tables.includes(dir)) counted.push(f);
    }
    return counted.sort((a, b) => (a.stream === b.stream ? a.sequence - b.sequence : a.stream < b.stream ? -1 : 1));
  }

  /**
   * Change files of the table folder that a compaction took in (`through`), and those of calls
   * cut short: files that do not count, of a sequence the stream has recorded since (a file of a
   * later one may be a call in progress).
   */
  async obsoleteFiles(dir: string, through: Record<string, number>): Promise<string[]> {
    const counted = new Set((await this.committedFiles(dir)).map((f) => f.path));
    const lastOf = new Map<string, number>();
    for await (const o of this.store.list(POSITIONS_DIR)) {
      const [id, name] = o.key.slice(POSITIONS_DIR.length).split('/');
      const m = RECORD.exec(name ?? '');
      if (id && m) lastOf.set(id, Math.max(lastOf.get(id) ?? 0, Number(m[1])));
    }
    const out: string[] = [];
    for await (const o of this.store.list(dir + CHANGES_DIR)) {
      const f = parseChangeFile(dir, o.key);
      if (!f) continue;
      const folded = f.sequence <= (through[f.stream] ?? 0);
      const abandoned = !counted.has(f.path) && f.sequence <= (lastOf.get(f.stream) ?? 0);
      if (folded || abandoned) out.push(o.key);
    }
    return out;
  }

  /**
   * Removes the stream's records whose every table's changes a compaction took in (`folded`),
   * but the last one (the stream's position). Their change files are gone with the compaction.
   */
  async prune(id: string, folded: (dir: string, sequence: number) => boolean): Promise<void> {
    const sequences: number[] = [];
    for await (const o of this.store.list(`${POSITIONS_DIR}${id}/`)) {
      const m = RECORD.exec(o.key.slice(o.key.lastIndexOf('/') + 1));
      if (m) sequences.push(Number(m[1]));
    }
    const last = Math.max(0, ...sequences);
    const old: string[] = [];
    for (const sequence of sequences) {
      if (sequence === last) continue;
      const key = recordKey(id, sequence);
      const r = await this.record(key);
      if (r && r.tables.every((dir) => folded(dir, sequence))) old.push(key);
    }
    await this.store.delete(old);
    for (const key of old) this.records.delete(key);
  }
}

/** A change file whose record names its table and that cannot be read: one line, saying what to do. */
export function changeFileError(location: string, key: string, err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  return new FerryError(
    'READ_FAILED',
    `cannot read the change file ${location}${key}: ${(err as Error).message ?? String(err)}`,
    'check that nothing else wrote to the _changes folder of the table; ferry compact folds the changes into the table',
    { cause: err },
  );
}
