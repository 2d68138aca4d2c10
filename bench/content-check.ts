// Checks of logical content: the three sources must hold the same rows, and every target must
// hold them too. A sample of rows of every table (the first ids, the middle one, the last
// one) is read and normalised per column kind, so the engines' and tools' type choices
// (jsonb or text, timestamp or timestamptz in UTC, boolean or tinyint) compare equal.
import { canonicalJson, normalizeDecimal, normalizeTimestamp } from '../src/core/values.js';
import { ENGINES, type Engine, type TableDef, type ValueKind } from './dataset.js';
import { withMariadb, withPg, withSqlite } from './db.js';
import type { SourceData } from './sources.js';

type Normalize = (v: unknown) => string;
type ReadRows = (sql: string) => Promise<unknown[][]>;

const text: Normalize = (v) => String(v);

const NORMALIZERS: Record<ValueKind, Normalize> = {
  int: text,
  decimal: (v) => normalizeDecimal(String(v)),
  text,
  bool: (v) => String(v === 't' || v === 1 || v === 1n || v === '1'),
  date: text,
  // A timestamptz target column reads "+00" (sessions are in UTC) after the same digits.
  timestamp: (v) => normalizeTimestamp(String(v).replace(/\+00$/, ''), false),
  json: (v) => canonicalJson(String(v)),
  // PostgreSQL's text form of bytea is "\x" and hex; the other clients give buffers.
  bytes: (v) => (typeof v === 'string' ? v.replace(/^\\x/, '') : Buffer.from(v as Uint8Array).toString('hex')),
};

const pgRows =
  (db: string): ReadRows =>
  (sql) =>
    withPg(db, async (c) => (await c.query({ text: sql, rowMode: 'array' })).rows as unknown[][]);

function sourceRows(engine: Engine, source: SourceData): ReadRows {
  switch (engine) {
    case 'postgres':
      return pgRows(source.db);
    case 'mariadb':
      return (sql) =>
        withMariadb(source.db, async (c) => (await c.query({ sql, rowsAsArray: true }))[0] as unknown[][]);
    case 'sqlite':
      return async (sql) =>
        withSqlite(source.sqlitePath, (db) => db.prepare(sql).raw(true).all() as unknown[][], { readonly: true });
  }
}

function sampleIds(rows: number): number[] {
  const first = Array.from({ length: Math.min(rows, 24) }, (_, i) => i + 1);
  return [...new Set([...first, Math.ceil(rows / 2), rows])];
}

async function normalizedSample(read: ReadRows, t: TableDef, ids: number[]): Promise<(string | null)[][]> {
  const normalizers = t.columns.map((c) => NORMALIZERS[c.type.kind]);
  const rows = await read(
    `SELECT ${t.columns.map((c) => c.name).join(', ')} FROM ${t.name} WHERE id IN (${ids.join(', ')}) ORDER BY id`,
  );
  return rows.map((row) => row.map((v, i) => (v === null ? null : normalizers[i]!(v))));
}

/** Throws at the first value of `actual` that differs from `expected`. */
async function compareSamples(
  expected: { name: string; read: ReadRows },
  actual: { name: string; read: ReadRows },
  source: SourceData,
): Promise<void> {
  for (const t of source.tables) {
    const ids = sampleIds(t.rows);
    const want = await normalizedSample(expected.read, t, ids);
    const got = await normalizedSample(actual.read, t, ids);
    want.forEach((row, r) =>
      row.forEach((value, c) => {
        const other = got[r]?.[c];
        if (other !== value) {
          throw new Error(
            `${t.name} id ${ids[r]} column ${t.columns[c]!.name} is ${JSON.stringify(value)} in ${expected.name} but ${JSON.stringify(other)} in ${actual.name}`,
          );
        }
      }),
    );
  }
}

const sourceSide = (engine: Engine, source: SourceData) => ({
  name: `the ${engine} source`,
  read: sourceRows(engine, source),
});

export async function checkSameSources(source: SourceData): Promise<void> {
  const [reference, ...others] = ENGINES;
  for (const engine of others) await compareSamples(sourceSide(reference!, source), sourceSide(engine, source), source);
  console.log(`sources hold the same content (sampled rows of ${source.tables.map((t) => t.name).join(', ')})`);
}

export async function checkTargetContent(tool: string, targetDb: string, source: SourceData): Promise<void> {
  await compareSamples(
    sourceSide(ENGINES[0]!, source),
    { name: `${targetDb} (loaded by ${tool})`, read: pgRows(targetDb) },
    source,
  );
}
