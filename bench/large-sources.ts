// The endpoints of the large-value benchmark: source tables of one large value each (text or
// bytes, of each size) in PostgreSQL, MariaDB and SQLite, and every target that can hold such
// a value (or, DynamoDB, must reject it). MariaDB runs as a private server: the shared one's
// max_allowed_packet (16 MB) and redo log refuse values of 20 MB and more.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDynalite } from '../test/connectors/dynamodb-local.js';
import { largeBytes, largeText } from '../test/fixtures/large.js';
import { privateMariadb } from '../test/private-mariadb.js';
import { startServerProcess } from '../test/server-process.js';
import { pgUrl, sqliteUrl } from './config.js';
import { S3RVER } from './objectstore.js';
import { recreatePgDatabase, withPg, withSqlite } from './db.js';
import mysql from 'mysql2/promise';

export type ValueKind = 'text' | 'bytes';
export type SourceEngine = 'postgres' | 'mariadb' | 'sqlite';

export const SOURCE_TITLES: Record<SourceEngine, string> = {
  postgres: 'PostgreSQL',
  mariadb: 'MariaDB',
  sqlite: 'SQLite',
};

/** The table holding one value of a kind and size (in MiB). */
export const tableName = (kind: ValueKind, mb: number) => `large_${kind}_${mb}mb`;

const MIB = 1 << 20;

/** The value of a table: text of exactly `mb` MiB of UTF-8, or bytes of every value. */
const valueOf = (kind: ValueKind, mb: number): string | Buffer =>
  kind === 'text' ? largeText(mb * MIB, mb) : largeBytes(mb * MIB, mb);

export interface LargeTarget {
  id: string;
  title: string;
  url: string;
  /** whether a value this large is refused (a reject, run exit 4) rather than stored */
  rejects: boolean;
}

/** Every endpoint of the benchmark, started; `stop` ends what it started and removes its files. */
export interface LargeEndpoints {
  sources: Record<SourceEngine, string>;
  targets: LargeTarget[];
  stop(): Promise<void>;
}

/** Starts the private MariaDB, s3rver and dynalite; builds the source tables (`tables` names them). */
export async function startEndpoints(
  workDir: string,
  tables: { kind: ValueKind; mb: number }[],
  wanted: { sources: SourceEngine[]; targets: (id: string) => boolean },
): Promise<LargeEndpoints> {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    const mariadb = await privateMariadb({
      settings: ['--max-allowed-packet=1G', '--innodb-log-file-size=1G', '--innodb-buffer-pool-size=512M'],
    });
    stops.push(mariadb.stop);
    const s3 = await startServerProcess('s3rver', S3RVER, [join(workDir, 's3rver'), 'large']);
    stops.push(s3.stop);
    const dynamo = await startDynalite();
    stops.push(dynamo.stop);
    // s3rver's own keys, by reference
    process.env.BENCH_S3_KEY = 'S3RVER';
    const s3Url = `s3://\${env:BENCH_S3_KEY}:\${env:BENCH_S3_KEY}@large/parquet?endpoint=http://127.0.0.1:${s3.port}&forcePathStyle=true&region=us-east-1`;

    const sources: Record<SourceEngine, string> = {
      postgres: pgUrl('bench_large_src'),
      mariadb: await mariadb.database('bench_large_src'),
      sqlite: sqliteUrl(join(workDir, 'source.sqlite')),
    };
    for (const engine of wanted.sources) {
      console.log(`source ${SOURCE_TITLES[engine]}: ${tables.length} tables of one large value…`);
      await buildSource(engine, sources[engine], tables);
    }
    await recreatePgDatabase('bench_large_dst');
    const targets: LargeTarget[] = [
      { id: 'postgres', title: 'PostgreSQL', url: pgUrl('bench_large_dst'), rejects: false },
      { id: 'mariadb', title: 'MariaDB', url: await mariadb.database('bench_large_dst'), rejects: false },
      { id: 'sqlite', title: 'SQLite', url: sqliteUrl(join(workDir, 'target.sqlite')), rejects: false },
      { id: 'parquet', title: 'Parquet (folder)', url: `file:${join(workDir, 'parquet')}`, rejects: false },
      { id: 'parquet-s3', title: 'Parquet (S3 API)', url: s3Url, rejects: false },
      { id: 'ndjson', title: 'NDJSON (folder)', url: `file:${join(workDir, 'ndjson')}?format=ndjson`, rejects: false },
      { id: 'csv', title: 'CSV (folder)', url: `file:${join(workDir, 'csv')}?format=csv`, rejects: false },
      { id: 'dynamodb', title: 'DynamoDB (rejects it)', url: dynamo.url, rejects: true },
    ];
    return { sources, targets: targets.filter((t) => wanted.targets(t.id)), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function buildSource(engine: SourceEngine, url: string, tables: { kind: ValueKind; mb: number }[]) {
  if (engine === 'postgres') {
    await recreatePgDatabase('bench_large_src');
    await withPg('bench_large_src', async (c) => {
      for (const { kind, mb } of tables) {
        await c.query(
          `CREATE TABLE ${tableName(kind, mb)} (id integer PRIMARY KEY, v ${kind === 'text' ? 'text' : 'bytea'})`,
        );
        await c.query(`INSERT INTO ${tableName(kind, mb)} VALUES (1, $1)`, [valueOf(kind, mb)]);
      }
    });
  } else if (engine === 'mariadb') {
    const conn = await mysql.createConnection({ uri: url, charset: 'UTF8MB4_UNICODE_CI' });
    try {
      for (const { kind, mb } of tables) {
        await conn.query(
          `CREATE TABLE ${tableName(kind, mb)} (id int PRIMARY KEY, v ${kind === 'text' ? 'LONGTEXT' : 'LONGBLOB'})`,
        );
        await conn.query(`INSERT INTO ${tableName(kind, mb)} VALUES (1, ?)`, [valueOf(kind, mb)]);
      }
    } finally {
      await conn.end();
    }
  } else {
    withSqlite(url.slice('sqlite:'.length), (db) => {
      for (const { kind, mb } of tables) {
        db.exec(`CREATE TABLE ${tableName(kind, mb)} (id integer PRIMARY KEY, v ${kind === 'text' ? 'TEXT' : 'BLOB'})`);
        db.prepare(`INSERT INTO ${tableName(kind, mb)} VALUES (1, ?)`).run(valueOf(kind, mb));
      }
    });
  }
}
