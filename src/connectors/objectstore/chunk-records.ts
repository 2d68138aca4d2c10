// The chunk records of the target's tables, <table>/_chunks/<chunk>.json: a chunk is written
// once its record is. Records this target wrote are kept as written, so a table's manifest and
// fingerprint need not read them back; a table's records are listed once, and again after one
// of its chunks changed.
import { stateParse, stateStringify } from '../../core/values.js';
import type { ObjectStore } from '../../stores/store.js';
import type { ChunkRecord } from './chunk-files.js';

const CHUNKS_DIR = '_chunks/';

export class ChunkRecords {
  /** each table's records, by table folder */
  private readonly listed = new Map<string, Promise<ChunkRecord[]>>();
  /** the records this target wrote, by key */
  private readonly written = new Map<string, ChunkRecord>();

  constructor(private readonly store: ObjectStore) {}

  private key(dir: string, id: string): string {
    return `${dir}${CHUNKS_DIR}${id}.json`;
  }

  /** The records of the table folder `dir` are changing: they are listed again when next asked for. */
  changed(dir: string): void {
    this.listed.delete(dir);
  }

  /** Records a chunk's files: the chunk is written. */
  async write(dir: string, record: ChunkRecord): Promise<void> {
    const key = this.key(dir, record.chunk);
    await this.store.put(key, stateStringify(record));
    this.written.set(key, record);
    this.listed.delete(dir);
  }

  /** Removes a chunk's record before the chunk is written again. */
  async remove(dir: string, id: string): Promise<void> {
    const key = this.key(dir, id);
    this.written.delete(key);
    await this.store.delete([key]);
  }

  /** Forgets every record of a table folder that is removed. */
  forget(dir: string): void {
    this.listed.delete(dir);
    for (const key of this.written.keys()) if (key.startsWith(dir + CHUNKS_DIR)) this.written.delete(key);
  }

  /** The records of the table folder `dir`: those listed in it. */
  of(dir: string): Promise<ChunkRecord[]> {
    let r = this.listed.get(dir);
    if (!r) {
      r = (async () => {
        const keys: string[] = [];
        for await (const o of this.store.list(dir + CHUNKS_DIR)) keys.push(o.key);
        return this.among(dir, keys);
      })();
      r.catch(() => this.listed.delete(dir));
      this.listed.set(dir, r);
    }
    return r;
  }

  /** The records of the table folder `dir` among `keys`: those this target wrote as it wrote them, the others read back. */
  async among(dir: string, keys: string[]): Promise<ChunkRecord[]> {
    const out: ChunkRecord[] = [];
    const unknown: string[] = [];
    const records = dir + CHUNKS_DIR;
    for (const key of keys) {
      if (!key.startsWith(records) || !key.endsWith('.json') || key.includes('/', records.length)) continue;
      const known = this.written.get(key);
      if (known) out.push(known);
      else unknown.push(key);
    }
    for (let i = 0; i < unknown.length; i += 16) {
      const docs = await Promise.all(unknown.slice(i, i + 16).map((k) => this.store.get(k)));
      for (const d of docs) if (d) out.push(stateParse<ChunkRecord>(d.toString('utf8')));
    }
    return out;
  }
}
