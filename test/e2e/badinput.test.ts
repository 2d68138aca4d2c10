// Bad input gets one line that names the problem and what to do, and no stack trace.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshMysql, freshPg, hostPort, mysqlExec, mysqlUser, pgExec, re, tmpDir, MYSQL_BASE } from '../helpers.js';
import type { FerryError } from '../../src/core/errors.js';
import { makePlan } from '../../src/pipeline/plan/assess.js';
import { ferry, planFor } from './support.js';

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /);
  return lines[0]!;
}

test('a malformed plan names the file, line and field', () => {
  const dir = tmpDir();
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    'ferry: 1\nsource: { url: "sqlite:x.db" }\ntarget: { url: "sqlite:y.db" }\nsettings: { parallelism: zero }\nwaves: []\n',
  );
  const r = ferry(['run', file]);
  assert.equal(r.code, 2);
  assert.match(oneLine(r.stderr), /bad\.yaml:4:\d+: settings\.parallelism: .*number/);
});

test('a missing plan file says how to make one', () => {
  const r = ferry(['run', join(tmpDir(), 'nope.yaml')]);
  assert.equal(r.code, 2);
  assert.match(oneLine(r.stderr), /cannot read plan .*nope\.yaml.*ferry plan --source/);
});

test('an unknown table is named', async () => {
  const src = await freshPg('ferry_bad_src');
  await pgExec(src, 'CREATE TABLE real_one (id int PRIMARY KEY)');
  const r = ferry([
    'plan',
    '--source',
    src,
    '--target',
    `sqlite:${join(tmpDir(), 't.db')}`,
    '--tables',
    'real_one,ghost',
    '-o',
    join(tmpDir(), 'p.yaml'),
  ]);
  assert.equal(r.code, 2);
  assert.match(oneLine(r.stderr), /table ghost does not exist in the source/);
});

test('an unreachable host is named with what to check', () => {
  const r = ferry(['assess', '--source', 'postgres://postgres@127.0.0.1:1/nowhere']);
  assert.equal(r.code, 1);
  assert.match(oneLine(r.stderr), /cannot reach PostgreSQL at 127\.0\.0\.1:1/i);
});

test('a wrong password is refused without showing it', async () => {
  const user = mysqlUser('ferry_pw', ['%', 'localhost']);
  await mysqlExec(
    MYSQL_BASE,
    `CREATE USER '${user}'@'%' IDENTIFIED BY 'right-secret'; CREATE USER '${user}'@'localhost' IDENTIFIED BY 'right-secret'`,
  );
  const r = ferry(['assess', '--source', `mysql://${user}:\${env:FERRY_TEST_PW}@${hostPort(MYSQL_BASE)}/mysql`], {
    env: { FERRY_TEST_PW: 'wrong-secret-123' },
  });
  assert.equal(r.code, 1);
  const line = oneLine(r.stderr);
  assert.match(line, re`refused the password for user ${user}`);
  assert.doesNotMatch(line + r.stdout, /wrong-secret-123/);
});

test('a value that does not fit the target is rejected with its reason, and the run stops at the error budget', async () => {
  const src = await freshPg('ferry_fit_src');
  await pgExec(src, 'CREATE TABLE amounts (id int PRIMARY KEY, qty int NOT NULL)');
  await pgExec(
    src,
    'INSERT INTO amounts SELECT g, CASE WHEN g = 77 THEN 70000 ELSE g END FROM generate_series(1, 200) g',
  );
  const dst = await freshMysql('ferry_fit_dst');
  const { file, dir } = await planFor(src, dst, (p) => {
    p.waves[0]!.tables[0]!.columns[1]!.type = 'smallint';
  });
  const r = ferry(['run', file], { cwd: dir });
  assert.equal(r.code, 4);
  assert.match(oneLine(r.stderr), /1 rows were rejected and the plan allows 0.*amounts.*reject files/);
  const rejects = readFileSync(join(dir, '.ferry', 'rejects', 'amounts.ndjson'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(rejects.length, 1);
  assert.match(rejects[0]!, /column qty: 70000 is outside the range of int16/);
  // with a budget for it, the run resumes and finishes; the other 199 rows are there once
  writeFileSync(file, readFileSync(file, 'utf8').replace('maxRejects: 0', 'maxRejects: 1'));
  const again = ferry(['run', file], { cwd: dir });
  assert.equal(again.code, 4, again.stderr);
  const [{ n }] = (await mysqlExec(dst, 'SELECT count(*) n FROM amounts')) as { n: number }[];
  assert.equal(Number(n), 199);
});

test('a bad number is refused where it is given, in one line (plus where help is), before anything is written', () => {
  const dir = tmpDir();
  const plan = ['plan', '--source', 'sqlite:x.db', '--target', 'sqlite:y.db', '-o', 'p.yaml'];
  for (const [args, option, expected] of [
    [[...plan, '--parallelism', 'banana'], '--parallelism <n>', 'a whole number, at least 1'],
    [[...plan, '--parallelism', '0'], '--parallelism <n>', 'a whole number, at least 1'],
    [[...plan, '--rows-per-chunk', '-5'], '--rows-per-chunk <n>', 'a whole number, at least 1'],
    [[...plan, '--rows-per-chunk', '2.5'], '--rows-per-chunk <n>', 'a whole number, at least 1'],
    [['test', 'p.yaml', '--sample', '-3'], '--sample <n>', 'a whole number, at least 1'],
    [['test', 'p.yaml', '--percent', '0'], '--percent <p>', 'a percentage, more than 0 and at most 100'],
    [['test', 'p.yaml', '--percent', 'lots'], '--percent <p>', 'a percentage, more than 0 and at most 100'],
    [['verify', 'p.yaml', '--sample', 'x'], '--sample <n>', 'a whole number, at least 0'],
  ] as const) {
    const r = ferry([...args], { cwd: dir });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const [line, hint, ...rest] = r.stderr.trim().split('\n');
    assert.match(line!, re`option '${option}' argument '${args.at(-1)}' is invalid. expected ${expected}`);
    assert.equal(hint, '(add --help for usage)');
    assert.deepEqual(rest, []);
    assert.deepEqual(readdirSync(dir), [], 'nothing written');
  }
});

test('makePlan refuses a parallelism or chunk size that is not a whole number, before connecting', async () => {
  for (const opts of [{ parallelism: Number.NaN }, { parallelism: 0 }, { rowsPerChunk: -5 }, { rowsPerChunk: 1.5 }])
    await assert.rejects(
      makePlan({ source: 'sqlite:/nonexistent/x.db', target: 'sqlite:/nonexistent/y.db', ...opts }),
      (e: FerryError) => e.code === 'PLAN_INVALID' && /must be a whole number, at least 1/.test(e.message),
    );
});

test('an endpoint that can only be written to is refused as a source, in one line, before anything is read or written', () => {
  const dir = tmpDir();
  for (const [args, kind] of [
    [['assess', '--source', `file:${dir}`], 'objectstore'],
    [['plan', '--source', `file:${dir}`, '--target', 'sqlite:t.db', '-o', 'p.yaml'], 'objectstore'],
  ] as const) {
    const r = ferry([...args], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      oneLine(r.stderr),
      `ferry: ${kind} endpoints can only be targets: use a PostgreSQL, MySQL or SQLite database as the source`,
    );
    assert.deepEqual(readdirSync(dir), [], 'nothing written');
  }
});
