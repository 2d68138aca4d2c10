// Reading a table back for verify. DynamoDB has no order over the source key, and verify asks
// for one key range at a time: scanning the table for every range would read it once per
// chunk. So the first read of a table scans it once (in parallel segments) into a local file
// indexed by the chunk key, and every range is then read from that file. A write or prepare
// through this connector forgets the file's copy of that table.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { KeyRange, RowBatch } from '../../core/types.js';
import { tupleKey } from './keys.js';
import type { Layout } from './layout.js';

// rows are kept as JSON, with the values JSON has no form for tagged
const SPECIAL_NUMBERS: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity,
  '-0': -0,
};

function rowJson(row: unknown[]): string {
  return JSON.stringify(row, (_k, v: unknown) => {
    if (typeof v === 'bigint') return { $big: String(v) };
    if (v instanceof Uint8Array) return { $hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
    if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)))
      return { $num: Object.is(v, -0) ? '-0' : String(v) };
    return v;
  });
}

function parseRow(text: string): unknown[] {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const tagged = v as { $big?: string; $hex?: string; $num?: string };
    if (tagged.$big !== undefined) return BigInt(tagged.$big);
    if (tagged.$hex !== undefined) return new Uint8Array(Buffer.from(tagged.$hex, 'hex'));
    if (tagged.$num !== undefined) return SPECIAL_NUMBERS[tagged.$num];
    return v;
  }) as unknown[];
}

interface Loaded {
  dynamoTable: string;
  /** the SQLite table holding the rows, once scanned */
  sqlName: Promise<string>;
}

export class ReadBackStore {
  private db?: Database.Database;
  private dir?: string;
  private readonly loaded = new Map<string, Loaded>();
  private serial = 0;

  private open(): Database.Database {
    if (!this.db) {
      this.dir = mkdtempSync(join(tmpdir(), 'ferry-dynamodb-'));
      this.db = new Database(join(this.dir, 'readback.db'));
      this.db.pragma('journal_mode = OFF');
      this.db.pragma('synchronous = OFF');
    }
    return this.db;
  }

  /** What identifies a table's copy: the DynamoDB table, the entity, and how rows are decoded and keyed. */
  private static idOf(layout: Layout): string {
    return JSON.stringify([
      layout.tableName,
      layout.entity ?? null,
      layout.table.columns.map((c) => [c.name, c.nativeType]),
      layout.table.key,
    ]);
  }

  /** Loads the table's items (through `scan`) unless they are loaded already; gives the SQLite table. */
  private load(layout: Layout, scan: (onItems: (rows: unknown[][]) => void) => Promise<void>): Promise<string> {
    const id = ReadBackStore.idOf(layout);
    let loaded = this.loaded.get(id);
    if (!loaded) {
      const sqlName = (async () => {
        const db = this.open();
        const name = `t${++this.serial}`;
        db.exec(`CREATE TABLE ${name} (k TEXT NOT NULL, row TEXT NOT NULL)`);
        const keyIndexes = layout.table.key.map((k) => layout.names.indexOf(k));
        const toKey = keyIndexes.length > 0 ? tupleKey(keyIndexes.map((i) => layout.types[i]!)) : () => '';
        const insert = db.prepare(`INSERT INTO ${name} VALUES (?, ?)`);
        const insertAll = db.transaction((rows: unknown[][]) => {
          for (const row of rows) insert.run(toKey(keyIndexes.map((i) => row[i])), rowJson(row));
        });
        await scan(insertAll);
        db.exec(`CREATE INDEX ${name}_k ON ${name} (k)`);
        return name;
      })();
      loaded = { dynamoTable: layout.tableName, sqlName };
      this.loaded.set(id, loaded);
      sqlName.catch(() => this.loaded.delete(id));
    }
    return loaded.sqlName;
  }

  private static where(layout: Layout, range: KeyRange): { sql: string; params: string[] } {
    const toKey = tupleKey(layout.table.key.map((k) => layout.types[layout.names.indexOf(k)]!));
    const conditions: string[] = [];
    const params: string[] = [];
    if (range.lower && layout.table.key.length > 0) (conditions.push('k >= ?'), params.push(toKey(range.lower)));
    if (range.upper && layout.table.key.length > 0) (conditions.push('k < ?'), params.push(toKey(range.upper)));
    return { sql: conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '', params };
  }

  async *rows(
    layout: Layout,
    range: KeyRange,
    batchRows: number,
    scan: (onItems: (rows: unknown[][]) => void) => Promise<void>,
  ): AsyncIterable<RowBatch> {
    const sqlName = await this.load(layout, scan);
    const { sql, params } = ReadBackStore.where(layout, range);
    let batch: unknown[][] = [];
    for (const r of this.db!.prepare(`SELECT row FROM ${sqlName}${sql}`)
      .pluck()
      .iterate(...params)) {
      batch.push(parseRow(r as string));
      if (batch.length >= batchRows) {
        yield { rows: batch };
        batch = [];
      }
    }
    if (batch.length > 0) yield { rows: batch };
  }

  async count(
    layout: Layout,
    range: KeyRange,
    scan: (onItems: (rows: unknown[][]) => void) => Promise<void>,
  ): Promise<number> {
    const sqlName = await this.load(layout, scan);
    const { sql, params } = ReadBackStore.where(layout, range);
    return this.db!.prepare(`SELECT count(*) FROM ${sqlName}${sql}`)
      .pluck()
      .get(...params) as number;
  }

  /** Forgets the copies of a DynamoDB table (it is about to change). */
  forget(dynamoTable: string): void {
    for (const [id, loaded] of this.loaded) {
      if (loaded.dynamoTable !== dynamoTable) continue;
      this.loaded.delete(id);
      loaded.sqlName.then(
        (name) => this.db?.exec(`DROP TABLE IF EXISTS ${name}`),
        () => undefined,
      );
    }
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    this.loaded.clear();
  }
}
