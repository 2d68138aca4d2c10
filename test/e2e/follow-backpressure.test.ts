// Backpressure (issue 14, item 5): while `ferry run PLAN --follow` follows MariaDB into
// PostgreSQL, the target stops applying for 60 s (another session holds an ACCESS EXCLUSIVE lock
// on a followed table) and the application keeps writing, 384 MB of binlog. ferry must
// stop reading the stream rather than buffer it: its peak RSS stays under 256 MB through the
// stall and through the catch-up after it, and the target ends equal to the source.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { freshPg, mysqlExec } from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import { appliedPosition, caughtUp, follow, planEdit, seedSource, stopped, Writer } from './follow-support.js';
import { ferry, planFor } from './support.js';

const STALL_MS = 60_000;
const MEMORY_LIMIT_MB = 256;
/** rows of about 1 KB each statement of the bulk writer inserts */
const BULK_ROWS = 5000;
const BACKLOG_BYTES = 1.5 * MEMORY_LIMIT_MB * 2 ** 20;

let server: PrivateMariadb;
before(async () => {
  server = await privateMariadb({
    binlog: true,
    settings: ['--innodb-buffer-pool-size=128M', '--innodb-flush-log-at-trx-commit=2', '--sync-binlog=0'],
  });
});
after(async () => server?.stop());

/** The ferry process's peak resident set (VmHWM), MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `VmHWM of process ${pid}`);
  return Number(m[1]) / 1024;
}

/** Binlog bytes the source holds. */
async function binlogBytes(url: string): Promise<number> {
  const logs = (await mysqlExec(url, 'SHOW BINARY LOGS')) as { File_size: number | string }[];
  return logs.reduce((sum, l) => sum + Number(l.File_size), 0);
}

test('follow: MariaDB -> PostgreSQL, the target stalled for 60 s while the application writes: memory stays bounded, then the target equals the source', async () => {
  const source = await server.database('follow_stall');
  await seedSource(source);
  const target = await freshPg('follow_stall');
  const { file, dir } = await planFor(source, target, planEdit, { rowsPerChunk: 1000 });
  const writer = new Writer(source, 3);
  writer.start();
  const f = follow(file, dir);
  let stallPeak = Infinity;
  const lock = new pg.Client({ connectionString: target });
  await lock.connect();
  try {
    for (let i = 0; i < 600 && appliedPosition(dir) === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    assert.notEqual(appliedPosition(dir), undefined, `ferry follows: ${f.stderr()}`);

    await lock.query('BEGIN');
    await lock.query('LOCK TABLE entries IN ACCESS EXCLUSIVE MODE');
    const binlogBefore = await binlogBytes(source);
    const stallEnds = Date.now() + STALL_MS;
    // bulk inserts until the backlog is 1.5 times the memory bound (more only lengthens the catch-up)
    let written = 0;
    while (Date.now() < stallEnds) {
      if (written < BACKLOG_BYTES)
        await mysqlExec(
          source,
          `INSERT INTO entries (account, amount, note, at) SELECT 1 + seq % 500, seq / 100, REPEAT('stalled ', 128), NOW(3)
           FROM seq_1_to_${BULK_ROWS}`,
        );
      else await new Promise((r) => setTimeout(r, 200));
      written = (await binlogBytes(source)) - binlogBefore;
    }
    // the backlog must be larger than the memory bound, or the bound proves nothing
    assert.ok(
      written > MEMORY_LIMIT_MB * 2 ** 20,
      `the application wrote ${Math.round(written / 2 ** 20)} MB of binlog during the stall`,
    );
    assert.ok(f.child.exitCode === null, `ferry still runs through the stall: ${f.stderr()}`);
    stallPeak = peakRssMb(f.child.pid!);
    await lock.query('COMMIT');
  } finally {
    await lock.end();
    await writer.stop();
  }
  assert.ok(stallPeak < MEMORY_LIMIT_MB, `ferry's peak RSS through the stall was ${stallPeak.toFixed(0)} MB`);
  // the backlog is applied at the target's speed, which a busy machine makes slow
  await caughtUp(dir, source, 600);
  // the catch-up applies the backlog as fast as the target takes it: batches of bytes, not only of counts
  const peak = peakRssMb(f.child.pid!);
  console.log(
    `# ferry's peak RSS: ${stallPeak.toFixed(0)} MB through the stall, ${peak.toFixed(0)} MB with the catch-up`,
  );
  assert.ok(peak < MEMORY_LIMIT_MB, `ferry's peak RSS through the stall and the catch-up was ${peak.toFixed(0)} MB`);
  assert.equal(await stopped(f, 'SIGTERM'), 0, f.stderr());
  const verify = ferry(['verify', file], { cwd: dir });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
});
