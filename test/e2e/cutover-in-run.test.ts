// `ferry run PLAN --follow --cutover`: the copy, following and the cutover in one process, from
// PostgreSQL into PostgreSQL while the application writes through an ordinary role. The run ends
// once cut over; the target equals the frozen source; an insert without a key succeeds on it.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  App,
  appConnection,
  assertCutOver,
  cutoverResult,
  followedPlan,
  status,
  type CutoverFixture,
} from './cutover-support.js';
import { postgresFixture } from './cutover-pg-fixture.js';
import { ferryAsync } from './support.js';

describe('ferry run --follow --cutover: PostgreSQL -> PostgreSQL in one process', { timeout: 600_000 }, () => {
  let fx: CutoverFixture | undefined;
  let app: App | undefined;
  after(async () => {
    await app?.stop();
    await fx?.close();
  });

  test('copies, follows, cuts over once the lag is low, and ends: the target equals the frozen source', async () => {
    fx = await postgresFixture();
    const { file, dir } = await followedPlan(fx);
    const writer = new App(() => appConnection(fx!.appSource)).start();
    app = writer;
    const r = await ferryAsync(
      ['run', file, '--follow', '--cutover', '--json', '--max-lag', '5s', '--max-freeze', '60s'],
      {
        cwd: dir,
      },
    );
    await writer.stop();
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { run: { follow?: { cutOver?: boolean; changes: number } }; cutover?: unknown };
    assert.equal(out.run.follow?.cutOver, true, r.stdout);
    const c = cutoverResult({ ...r, stdout: JSON.stringify(out.cutover) });
    assert.deepEqual(c.sequences, { set: ['account', 'entry'], notSet: [] });
    assert.ok(writer.committed > 0 && writer.refused > 0, `${writer.committed} committed, ${writer.refused} refused`);
    assert.match(writer.lastError, fx.refused);
    await assertCutOver(fx);
    assert.equal((await status(file, dir)).phase, 'cut over');
  });

  test('--cutover without --follow: one line', async () => {
    const r = await ferryAsync(['run', 'any.plan.yaml', '--cutover']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^ferry: --cutover cuts over a plan whose live changes the run follows: add --follow/);
  });
});
