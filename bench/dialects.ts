// The SQL that builds the dataset in each engine: the Dialect pieces the engines spell
// differently, and the build script (create tables, insert in slices, then indexes and
// foreign keys, then statistics).
import { BASE_DATE, BASE_TIMESTAMP, type Dialect, type Engine, type TableDef } from './dataset.js';

const BASE_EPOCH_SECONDS = Date.parse(`${BASE_TIMESTAMP.replace(' ', 'T')}Z`) / 1000;
const BASE_JULIAN_DAY = Date.parse(`${BASE_DATE}T00:00:00Z`) / 86_400_000 + 2440587.5;

const decimalFactor = (scale: number) => `0.${'0'.repeat(scale - 1)}1`;

const postgres: Dialect = {
  series: (from, to) => `generate_series(${from}::bigint, ${to}) AS s(n)`,
  intDiv: (a, b) => `((${a}) / (${b}))`,
  decimal: (x, scale) => `((${x}) * ${decimalFactor(scale)})`,
  timestamp: (us) => `(TIMESTAMP '${BASE_TIMESTAMP}' + (${us}) * INTERVAL '1 microsecond')`,
  date: (days) => `(DATE '${BASE_DATE}' + (${days})::integer)`,
  bytes: (seeds) => `decode(concat(${seeds.map((s) => `lpad(to_hex(${s}), 8, '0')`).join(', ')}), 'hex')`,
  json: (text) => `(${text})::jsonb`,
};

const mariadb: Dialect = {
  // The sequence engine's table counts in unsigned BIGINT; signed keeps subtraction valid.
  series: (from, to) => `(SELECT CAST(seq AS SIGNED) AS n FROM seq_${from}_to_${to}) AS s`,
  intDiv: (a, b) => `((${a}) DIV (${b}))`,
  decimal: (x, scale) => `((${x}) * ${decimalFactor(scale)})`,
  timestamp: (us) => `TIMESTAMPADD(MICROSECOND, ${us}, TIMESTAMP'${BASE_TIMESTAMP}')`,
  date: (days) => `(DATE'${BASE_DATE}' + INTERVAL (${days}) DAY)`,
  bytes: (seeds) => `UNHEX(CONCAT(${seeds.map((s) => `LPAD(HEX(${s}), 8, '0')`).join(', ')}))`,
  json: (text) => text,
};

const sqlite: Dialect = {
  series: (from, to) =>
    `(WITH RECURSIVE s(n) AS (SELECT ${from} UNION ALL SELECT n + 1 FROM s WHERE n < ${to}) SELECT n FROM s) AS s`,
  intDiv: (a, b) => `((${a}) / (${b}))`,
  // SQLite stores these as REAL: a correctly rounded division reads back as the exact decimal.
  decimal: (x, scale) => `((${x}) / 1${'0'.repeat(scale)}.0)`,
  // SQLite's date functions stop at milliseconds, so the microseconds are appended as text.
  timestamp: (us) =>
    `concat(datetime(${BASE_EPOCH_SECONDS} + (${us}) / 1000000, 'unixepoch'), '.', printf('%06d', (${us}) % 1000000))`,
  date: (days) => `date(${BASE_JULIAN_DAY} + (${days}))`,
  bytes: (seeds) => `unhex(printf('${'%08x'.repeat(seeds.length)}', ${seeds.join(', ')}))`,
  json: (text) => text,
};

export const DIALECTS: Record<Engine, Dialect> = { postgres, mariadb, sqlite };

/** Rows per INSERT … SELECT, so no single transaction grows with the dataset. */
const SLICE_ROWS = 500_000;

function createTable(engine: Engine, t: TableDef): string {
  const columns = t.columns.map((c) => `  ${c.name} ${c.type.native[engine]}${c.nullable ? '' : ' NOT NULL'}`);
  // SQLite cannot add foreign keys later; it does not check them on insert either.
  const inlineKeys =
    engine === 'sqlite'
      ? t.foreignKeys.map((fk) => `  CONSTRAINT ${fk.name} FOREIGN KEY (${fk.column}) REFERENCES ${fk.refTable} (id)`)
      : [];
  const options = engine === 'mariadb' ? ' ENGINE=InnoDB' : '';
  return `CREATE TABLE ${t.name} (\n${[...columns, '  PRIMARY KEY (id)', ...inlineKeys].join(',\n')}\n)${options}`;
}

function insertSlices(engine: Engine, t: TableDef): string[] {
  const d = DIALECTS[engine];
  const names = t.columns.map((c) => c.name).join(', ');
  const values = t.columns.map((c) => c.value(d, 'n')).join(',\n  ');
  const slices: string[] = [];
  for (let from = 1; from <= t.rows; from += SLICE_ROWS) {
    slices.push(
      `INSERT INTO ${t.name} (${names})\nSELECT\n  ${values}\nFROM ${d.series(from, Math.min(t.rows, from + SLICE_ROWS - 1))}`,
    );
  }
  return slices;
}

function secondaryIndexes(t: TableDef): string[] {
  return [
    ...t.uniqueKeys.map((u) => `CREATE UNIQUE INDEX ${u.name} ON ${t.name} (${u.columns.join(', ')})`),
    ...t.indexes.map((ix) => `CREATE INDEX ${ix.name} ON ${t.name} (${ix.columns.join(', ')})`),
  ];
}

function foreignKeys(engine: Engine, t: TableDef): string[] {
  if (engine === 'sqlite') return [];
  return t.foreignKeys.map(
    (fk) => `ALTER TABLE ${t.name} ADD CONSTRAINT ${fk.name} FOREIGN KEY (${fk.column}) REFERENCES ${fk.refTable} (id)`,
  );
}

function statistics(engine: Engine, t: TableDef): string[] {
  switch (engine) {
    case 'postgres':
      // An application's sequence continues after its rows; VACUUM also sets hint bits so the
      // first tool to read the table does not pay for them.
      return [`SELECT setval(pg_get_serial_sequence('${t.name}', 'id'), ${t.rows})`, `VACUUM ANALYZE ${t.name}`];
    case 'mariadb':
      return [`ANALYZE TABLE ${t.name}`];
    case 'sqlite':
      return [`ANALYZE ${t.name}`];
  }
}

/**
 * Every statement that builds the dataset in an empty database, in order. MariaDB runs it with
 * foreign_key_checks off (data first, keys after, as a dump restore does).
 */
export function buildScript(engine: Engine, tables: TableDef[]): string[] {
  return [
    ...tables.map((t) => createTable(engine, t)),
    ...tables.flatMap((t) => insertSlices(engine, t)),
    ...tables.flatMap(secondaryIndexes),
    ...tables.flatMap((t) => foreignKeys(engine, t)),
    ...tables.flatMap((t) => statistics(engine, t)),
  ];
}
