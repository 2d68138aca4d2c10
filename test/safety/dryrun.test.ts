// `ferry test` on SQL targets: a sample of every table into scratch tables of the real target,
// verified and timed, then dropped; the real tables are never touched. Object storage and
// DynamoDB targets: stores.test.ts.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { dryRun } from '../../src/pipeline/copy/dryrun.js';
import { dbName, freshMysql, freshPg, mysqlExec, pgExec, tmpDir } from '../helpers.js';
import { ferry, ferrySpawn, planFor } from '../e2e/support.js';

async function source(): Promise<string> {
  const url = await freshPg('ferry_safety_dry_src');
  await pgExec(
    url,
    `CREATE TABLE items (id bigint PRIMARY KEY, label text NOT NULL, price numeric(12,2), score float8)`,
  );
  // every 40th score is NaN, which MySQL cannot hold
  await pgExec(
    url,
    `INSERT INTO items SELECT g, 'item ' || g, g * 0.25, CASE WHEN g % 40 = 0 THEN 'NaN'::float8 ELSE g / 7.0 END FROM generate_series(1, 20000) g`,
  );
  await pgExec(url, `CREATE TABLE events (at timestamp(6), line text)`);
  await pgExec(
    url,
    `INSERT INTO events SELECT '2024-01-01'::timestamp + g * interval '1 second', 'event ' || g FROM generate_series(1, 3000) g`,
  );
  return url;
}

test('a sample of every table goes through the real target and is verified; the real tables stay as they were', async () => {
  const target = await freshMysql('ferry_safety_dry_dst');
  // the application's table of the same name: a real run would replace it (ifExists drop), a test must not
  await mysqlExec(
    target,
    "CREATE TABLE items (id bigint PRIMARY KEY, label text); INSERT INTO items VALUES (1, 'live'), (2, 'data'), (3, 'here')",
  );
  const { file, dir } = await planFor(await source(), target, (p) => (p.target.ifExists = 'drop'), {
    rowsPerChunk: 5000,
  });

  const r = ferry(['test', file, '--sample', '400'], { cwd: dir });
  assert.equal(r.code, 3, r.stderr);
  const rows = Object.fromEntries(
    r.stdout
      .split('\n')
      .map((l) => l.split('│').map((c) => c.trim()))
      .filter((c) => c[1] === 'items' || c[1] === 'events')
      .map((c) => [c[1], c.slice(2)]),
  );
  const [total, sampled, written, rejected, verified] = rows.items as string[];
  assert.equal(total, '20000');
  assert.ok(Number(sampled) >= 400 && Number(sampled) < 480, `about 400 sampled (${sampled})`);
  assert.equal(Number(written) + Number(rejected), Number(sampled));
  assert.ok(Number(rejected) >= 5 && Number(rejected) <= 20, `the NaN rows of the sample are rejected (${rejected})`);
  assert.equal(verified, 'yes');
  assert.deepEqual(
    (rows.events as string[]).slice(0, 5),
    ['3000', '400', '400', '0', 'yes'],
    'a table without a key: its first rows',
  );
  assert.match(r.stdout, /items: rejected: column score: NaN cannot be stored: MySQL double has no NaN or infinity/);
  assert.match(r.stdout, /estimated copy time of the full run: \d+s/);
  assert.match(
    r.stdout,
    /scratch tables dropped: (items|events)__ferrytest_([0-9a-f]{6}), (items|events)__ferrytest_\2\n/,
  );

  assert.deepEqual(await mysqlExec(target, 'SHOW TABLES'), [{ [`Tables_in_${dbName(target)}`]: 'items' }]);
  assert.deepEqual(await mysqlExec(target, 'SELECT id, label FROM items ORDER BY id'), [
    { id: 1, label: 'live' },
    { id: 2, label: 'data' },
    { id: 3, label: 'here' },
  ]);

  // a percentage, and the scratch tables kept to look at
  const kept = await dryRun(file, { percent: 5, keep: true });
  const items = kept.tables.find((t) => t.table === 'items')!;
  assert.ok(items.sampled >= 1000 && items.sampled < 1100, `5% of 20000 (${items.sampled})`);
  assert.equal(kept.tables.find((t) => t.table === 'events')!.sampled, 150);
  assert.ok(items.rowsPerSecond > 0 && items.estimatedSeconds >= 1);
  assert.deepEqual([...kept.kept].sort(), [`events${kept.suffix}`, `items${kept.suffix}`]);
  const [{ n }] = (await mysqlExec(target, `SELECT count(*) n FROM \`items${kept.suffix}\``)) as { n: number }[];
  assert.equal(Number(n), items.written);
  assert.ok(kept.findings.some((f) => f.code === 'SAMPLE_REJECTS' && f.table === 'items'));
});

test('a target that does not give back what it was given is caught, down to the rows', async () => {
  const target = await freshPg('ferry_safety_dry_pg');
  // a trigger that changes some values of every new table (think of an extension or a proxy rewriting data)
  await pgExec(
    target,
    `CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id % 50 = 0 THEN NEW.label := upper(NEW.label); END IF; RETURN NEW; END $$;
     CREATE FUNCTION add_shout() RETURNS event_trigger LANGUAGE plpgsql AS $$
       DECLARE r record;
       BEGIN
         FOR r IN SELECT objid::regclass AS t FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' LOOP
           IF r.t::text LIKE 'items%' THEN EXECUTE format('CREATE TRIGGER shout BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION shout()', r.t); END IF;
         END LOOP;
       END $$;
     CREATE EVENT TRIGGER add_shout ON ddl_command_end EXECUTE FUNCTION add_shout();`,
  );
  const { file } = await planFor(await source(), target, () => {}, { rowsPerChunk: 5000, tables: ['items'] });
  try {
    const r = await dryRun(file, { sample: 400 });
    assert.equal(r.ok, false);
    const items = r.tables[0]!;
    assert.equal(items.match, false);
    assert.match(
      items.differences[0]!,
      /^\(id\) = \d*50: column label \(string\): source "item \d+", target "ITEM \d+"$/,
    );
    assert.ok(r.findings.some((f) => f.code === 'SAMPLE_MISMATCH' && f.severity === 'error'));
    assert.deepEqual(
      (await pgExec(target, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).rows,
      [],
      'scratch tables dropped',
    );
  } finally {
    await pgExec(target, 'DROP EVENT TRIGGER add_shout');
  }
});

test('the sample takes the path a run takes: column batches into Parquet, rows for a chunk with a value columns cannot carry', async () => {
  const src = await freshPg('ferry_safety_dry_columns');
  await pgExec(
    src,
    `CREATE TABLE events (id bigint PRIMARY KEY, at timestamp(6) NOT NULL, amount numeric(12,2), note text);
     INSERT INTO events SELECT g, '2024-01-01'::timestamp + g * interval '1 minute', g * 0.5, 'note ' || g FROM generate_series(1, 4000) g;
     UPDATE events SET at = 'infinity' WHERE id = 3;
     ANALYZE events;
     CREATE TABLE log (at timestamp(6) NOT NULL, line text);
     INSERT INTO log SELECT '2024-01-01'::timestamp + g * interval '1 second', 'line ' || g FROM generate_series(1, 3000) g`,
  );
  const lake = tmpDir('ferry-safety-dry-lake-');
  const { file } = await planFor(src, `file:${lake}`, () => {}, { rowsPerChunk: 1000 });
  const r = await dryRun(file, { sample: 400 });
  const events = r.tables.find((t) => t.table === 'events')!;
  // eight slices of the key: the first holds id 3, whose infinite timestamp has no column form
  assert.deepEqual(events.as, { columns: 7, rows: 1 });
  assert.equal(events.sampled, 400);
  assert.equal(events.rejected, 1, 'Parquet cannot hold an infinite timestamp: rejected, as in a run');
  assert.match(events.rejects[0]!, /infinity/);
  assert.equal(events.match, true, 'what was handed over, as columns and as rows, is what the target gives back');
  // a table without a key: its first rows, cut out of the column batches
  const log = r.tables.find((t) => t.table === 'log')!;
  assert.deepEqual([log.as, log.sampled, log.written, log.match], [{ columns: 1, rows: 0 }, 400, 400, true]);
  assert.deepEqual(readdirSync(lake), [], 'the scratch prefix is removed');
});

/** The scratch tables in a PostgreSQL database now. */
async function scratchTables(url: string): Promise<string[]> {
  const r = await pgExec(url, "SELECT tablename FROM pg_tables WHERE tablename LIKE '%\\_\\_ferrytest\\_%' ORDER BY 1");
  return r.rows.map((x: { tablename: string }) => x.tablename);
}

/** Starts `ferry test` slowly (a throttled source) and sends it `signal` once its first scratch table exists. */
async function interruptedTest(
  signal: NodeJS.Signals,
): Promise<{ target: string; file: string; dir: string; code: number | null; stderr: string }> {
  const target = await freshPg(`ferry_safety_dry_${signal.toLowerCase()}`);
  const { file, dir } = await planFor(await source(), target, (p) => (p.settings.throttle = { rowsPerSecond: 2000 }), {
    rowsPerChunk: 5000,
  });
  const child = ferrySpawn(['test', file, '--sample', '6000'], { cwd: dir });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  for (let i = 0; i < 1200 && (await scratchTables(target)).length === 0; i++)
    await new Promise((r) => setTimeout(r, 50));
  assert.notDeepEqual(await scratchTables(target), [], 'the dry run made a scratch table');
  child.kill(signal);
  return { target, file, dir, code: await exited, stderr };
}

test('an interrupted dry run drops its scratch tables before it exits', async () => {
  const { target, code, stderr } = await interruptedTest('SIGINT');
  assert.equal(code, 130, stderr);
  assert.match(stderr, /^ferry: ferry test was interrupted; its scratch tables are dropped$/m);
  assert.deepEqual(await scratchTables(target), []);
});

test('a dry run killed outright leaves records the next one finds: it drops those scratch tables first, saying so', async () => {
  const { target, file, dir, code } = await interruptedTest('SIGKILL');
  assert.equal(code, null, 'killed');
  const left = await scratchTables(target);
  assert.notDeepEqual(left, [], 'a scratch table was left behind');
  const next = ferry(['test', file, '--sample', '100'], { cwd: dir });
  assert.equal(next.code, 0, next.stderr);
  const [line] = next.stdout.split('\n').filter((l) => l.startsWith('scratch tables an earlier test left dropped: '));
  assert.deepEqual(
    line!
      .slice(line!.indexOf(': ') + 2)
      .split(', ')
      .sort(),
    left,
  );
  assert.deepEqual(await scratchTables(target), []);
  const again = ferry(['test', file, '--sample', '100'], { cwd: dir });
  assert.doesNotMatch(again.stdout, /an earlier test left/, 'the records are gone with the tables');
});
