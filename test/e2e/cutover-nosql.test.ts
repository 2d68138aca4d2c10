// `ferry cutover` from PostgreSQL into targets that keep no counters: a folder of Parquet files
// (whose tables are compacted once cut over, their change files taken in) and DynamoDB. Under the
// application's writes the source is frozen, the target drained and checked, and `ferry verify`
// then finds the target equal to the frozen source.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDynalite } from '../connectors/dynamodb-local.js';
import { tmpDir } from '../helpers.js';
import { postgresFixture } from './cutover-pg-fixture.js';
import { App, appConnection, cutover, cutoverResult, follow, followedPlan, status, until } from './cutover-support.js';
import { ferryAsync } from './support.js';

for (const kind of ['folder', 'dynamodb'] as const)
  test(`cutover from PostgreSQL into ${kind === 'folder' ? 'a folder of Parquet files' : 'DynamoDB'} under the application's writes: the target equals the frozen source`, async () => {
    const fx = await postgresFixture();
    const dynamo = kind === 'dynamodb' ? await startDynalite() : undefined;
    const target = dynamo?.url ?? `file:${join(tmpDir('ferry-cutover-lake-'), 'lake')}`;
    const { file, dir } = await followedPlan({ ...fx, target });
    const app = new App(() => appConnection(fx.appSource)).start();
    const follower = follow(file, dir);
    try {
      await until('following', async () => (await status(file, dir)).phase === 'following');
      const before = app.committed;
      await until('the application writing', () => app.committed > before + 50);
      const c = cutoverResult(await cutover(file, dir, ['--json', '--max-freeze', '20s']));
      // neither target has counters to set: the application must not insert without a key there
      assert.deepEqual(c.sequences, { set: [], notSet: ['account', 'entry'] });
      assert.equal(await follower.exit, 0, follower.out());
      await app.stop();
      assert.match(app.lastError, fx.refused);
      if (kind === 'folder') {
        const { compacted } = c;
        assert.deepEqual(compacted?.map((t) => t.table).sort(), ['account', 'entry']);
        assert.ok(
          compacted!.every((t) => t.changeFiles > 0),
          `the live changes were taken in: ${JSON.stringify(compacted)}`,
        );
      }
      assert.equal((await status(file, dir)).phase, 'cut over');
      const verify = await ferryAsync(['verify', file], { cwd: dir });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /account\s.*match/);
      assert.match(verify.stdout, /entry\s.*match/);
    } finally {
      await app.stop();
      follower.child.kill('SIGKILL');
      await dynamo?.stop();
      await fx.close();
    }
  });
