// `ferry run PLAN --follow` from MariaDB (a private server writing a row binlog) into DynamoDB
// (dynalite) and a folder of Parquet files, while an application writes (follow-support.ts):
// stopped with SIGTERM, or killed with SIGKILL at random moments and started again, the target
// ends equal to the source; the folder's change files, compacted, leave the tables DuckDB reads
// equal to the source.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDynalite, type LocalDynamo } from '../connectors/dynamodb-local.js';
import { duckdb } from '../connectors/objectstore-servers.js';
import { mysqlExec, tmpDir } from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import {
  appliedPosition,
  caughtUp,
  chunksDone,
  follow,
  phaseOf,
  planEdit,
  random,
  seedSource,
  stopped,
  Writer,
} from './follow-support.js';
import { ferry, planFor } from './support.js';

describe('follow: MariaDB -> DynamoDB and object storage while the application writes', () => {
  let server: PrivateMariadb;
  let dynamo: LocalDynamo;
  before(async () => {
    server = await privateMariadb({ binlog: true });
    dynamo = await startDynalite();
  });
  after(async () => {
    await server?.stop();
    await dynamo?.stop();
  });

  const targets: [string, string, () => string][] = [
    ['DynamoDB', 'dynamo', () => dynamo.url],
    ['a folder', 'lake', () => `file:${tmpDir('ferry-follow-lake-')}`],
  ];

  for (const [name, tag, target] of targets)
    test(`-> ${name}: changes during and after the copy, stopped with SIGTERM: the target equals the source`, async () => {
      const source = await server.database(`follow_${tag}`);
      await seedSource(source);
      const url = target();
      const { file, dir } = await planFor(source, url, planEdit, { rowsPerChunk: 1000 });
      const writer = new Writer(source, 1);
      writer.start();
      const f = follow(file, dir);
      try {
        // the copy, the handoff, then a while of following
        for (let i = 0; i < 600 && appliedPosition(dir) === undefined; i++)
          await new Promise((r) => setTimeout(r, 100));
        await new Promise((r) => setTimeout(r, 2000));
      } finally {
        await writer.stop();
      }
      assert.ok(writer.transactions > 50, `the application wrote (${writer.transactions} transactions)`);
      await caughtUp(dir, source);
      assert.equal(await stopped(f, 'SIGTERM'), 0, f.stderr());
      const verify = ferry(['verify', file], { cwd: dir });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      if (!url.startsWith('file:')) return;

      // the change files folded into the tables: verify again, and DuckDB reads what the source holds
      const compact = ferry(['compact', file], { cwd: dir });
      assert.equal(compact.code, 0, compact.stderr);
      assert.match(compact.stdout, /compact: 2 of 2 tables written anew with their live changes/);
      const again = ferry(['verify', file], { cwd: dir });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      const lake = url.slice('file:'.length);
      const [sums] = (await mysqlExec(
        source,
        'SELECT COUNT(*) AS n, CAST(SUM(amount) AS CHAR) AS total, CAST(SUM(id) AS CHAR) AS ids FROM entries',
      )) as { n: number; total: string; ids: string }[];
      assert.deepEqual(
        await duckdb(
          `SELECT COUNT(*)::INTEGER, SUM(amount)::VARCHAR, SUM(id)::VARCHAR FROM read_parquet('${lake}/entries/**/*.parquet')`,
        ),
        [[Number(sums!.n), sums!.total, sums!.ids]],
      );
    });

  for (const [name, tag, target] of targets)
    test(`-> ${name}: killed (SIGKILL) at 10 random moments of the copy, the handoff and the stream, the same command each time: the target equals the source`, async () => {
      const source = await server.database(`follow_killed_${tag}`);
      await seedSource(source);
      const { file, dir } = await planFor(source, target(), planEdit, { rowsPerChunk: 500 });
      const writer = new Writer(source, 2);
      const rnd = random(42);
      const phases: string[] = [];
      writer.start();
      try {
        for (let kill = 0; kill < 10; kill++) {
          const f = follow(file, dir);
          // the first kills land in the copy (a few more chunks in each time), the next ones at random,
          // the last ones once the stream is applied (however long a loaded machine takes to get there)
          if (kill < 3) await chunksDone(dir, 2 + kill * 4);
          else if (kill < 6) await new Promise((r) => setTimeout(r, 300 + rnd() * 4000));
          else {
            for (let i = 0; i < 1200 && phaseOf(dir) !== 'stream'; i++) await new Promise((r) => setTimeout(r, 100));
            await new Promise((r) => setTimeout(r, rnd() * 2000));
          }
          phases.push(phaseOf(dir));
          const code = await stopped(f, 'SIGKILL');
          assert.equal(code, null, `killed, not ended by itself: ${f.stderr()}`);
        }
      } finally {
        await writer.stop();
      }
      assert.ok(
        phases.includes('copy') && phases.includes('stream'),
        `killed while copying and while streaming: ${phases}`,
      );
      const f = follow(file, dir);
      await caughtUp(dir, source);
      assert.equal(await stopped(f, 'SIGTERM'), 0, f.stderr());
      const verify = ferry(['verify', file], { cwd: dir });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    });
});
