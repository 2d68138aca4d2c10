// `ferry run PLAN --follow` from MariaDB (a private server writing a row binlog) into DynamoDB
// (dynalite) and a folder of Parquet files, while an application writes (follow-support.ts):
// stopped with SIGTERM, or killed with SIGKILL at random moments and started again, the target
// ends equal to the source; the folder's change files, compacted, leave the tables DuckDB reads
// equal to the source.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDynalite, type LocalDynamo } from '../connectors/dynamodb-local.js';
import { duckdb, startS3, type S3Server } from '../connectors/objectstore-servers.js';
import { mysqlExec, tmpDir } from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import { followKilledTenTimes, followWhileWriting, planEdit, seedSource } from './follow-support.js';
import { ferry, planFor } from './support.js';

describe('follow: MariaDB -> DynamoDB and object storage while the application writes', () => {
  let server: PrivateMariadb;
  let dynamo: LocalDynamo;
  let s3: S3Server;
  before(async () => {
    server = await privateMariadb({ binlog: true });
    dynamo = await startDynalite();
    s3 = await startS3();
  });
  after(async () => {
    await server?.stop();
    await dynamo?.stop();
    await s3?.stop();
  });

  const targets: [string, string, () => string][] = [
    ['DynamoDB', 'dynamo', () => dynamo.url],
    ['a folder', 'lake', () => `file:${tmpDir('ferry-follow-lake-')}`],
  ];

  // S3 (s3rver, in this process: ferry's commands run without blocking it)
  test('-> S3: changes during and after the copy, stopped with SIGTERM: the target equals the source', async () => {
    const source = await server.database('follow_s3');
    await seedSource(source);
    const { file, dir } = await planFor(source, s3.url('follow'), planEdit, { rowsPerChunk: 1000 });
    await followWhileWriting(source, file, dir);
  });

  for (const [name, tag, target] of targets)
    test(`-> ${name}: changes during and after the copy, stopped with SIGTERM: the target equals the source`, async () => {
      const source = await server.database(`follow_${tag}`);
      await seedSource(source);
      const url = target();
      const { file, dir } = await planFor(source, url, planEdit, { rowsPerChunk: 1000 });
      await followWhileWriting(source, file, dir);
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
      await followKilledTenTimes(source, file, dir);
    });
});
