// Checks that the three sources hold the same logical content: a sample of rows of every
// table, read from each engine and normalised per column kind, must be identical.
import { canonicalJson, normalizeDecimal, normalizeTimestamp } from '../src/core/values.js';
import { type BenchConfig, SOURCE_DB } from './config.js';
import { ENGINES, type Engine, type TableDef, type ValueKind } from './dataset.js';
import { withMariadb, withPg, withSqlite } from './db.js';

type Normalize = (v: unknown) => string;

const text: Normalize = (v) => String(v);

const NORMALIZERS: Record<ValueKind, Normalize> = {
  int: text,
  decimal: (v) => normalizeDecimal(String(v)),
  text,
  bool: (v) => String(v === 't' || v === 1 || v === 1n || v === '1'),
  date: text,
  timestamp: (v) => normalizeTimestamp(String(v), false),
  json: (v) => canonicalJson(String(v)),
  // PostgreSQL's text form of bytea is "\x" and hex; the other clients give buffers.
  bytes: (v) => (typeof v === 'string' ? v.replace(/^\\x/, '') : Buffer.from(v as Uint8Array).toString('hex')),
};

function sampleIds(rows: number): number[] {
  const first = Array.from({ length: Math.min(rows, 24) }, (_, i) => i + 1);
  return [...new Set([...first, Math.ceil(rows / 2), rows])];
}

async function readRows(engine: Engine, config: BenchConfig, t: TableDef, ids: number[]): Promise<unknown[][]> {
  const sql = `SELECT ${t.columns.map((c) => c.name).join(', ')} FROM ${t.name} WHERE id IN (${ids.join(', ')}) ORDER BY id`;
  switch (engine) {
    case 'postgres':
      return withPg(SOURCE_DB, async (c) => (await c.query({ text: sql, rowMode: 'array' })).rows as unknown[][]);
    case 'mariadb':
      return withMariadb(SOURCE_DB, async (c) => (await c.query({ sql, rowsAsArray: true }))[0] as unknown[][]);
    case 'sqlite':
      return withSqlite(config.sqlitePath, (db) => db.prepare(sql).raw(true).all() as unknown[][], { readonly: true });
  }
}

async function normalizedSample(engine: Engine, config: BenchConfig, t: TableDef, ids: number[]): Promise<(string | null)[][]> {
  const normalizers = t.columns.map((c) => NORMALIZERS[c.type.kind]);
  const rows = await readRows(engine, config, t, ids);
  return rows.map((row) => row.map((v, i) => (v === null ? null : normalizers[i]!(v))));
}

export async function checkSameContent(config: BenchConfig, tables: TableDef[]): Promise<void> {
  const [reference, ...others] = ENGINES;
  for (const t of tables) {
    const ids = sampleIds(t.rows);
    const expected = await normalizedSample(reference!, config, t, ids);
    if (expected.length !== ids.length) throw new Error(`source ${reference}: ${t.name} lacks some of the rows ${ids.join(', ')}`);
    for (const engine of others) {
      const actual = await normalizedSample(engine, config, t, ids);
      expected.forEach((row, r) =>
        row.forEach((value, c) => {
          const other = actual[r]?.[c];
          if (other !== value) {
            throw new Error(`sources differ: ${t.name} id ${ids[r]} column ${t.columns[c]!.name} is ${JSON.stringify(value)} in ${reference} but ${JSON.stringify(other)} in ${engine}`);
          }
        }),
      );
    }
  }
  console.log(`sources hold the same content (sampled rows of ${tables.map((t) => t.name).join(', ')})`);
}
