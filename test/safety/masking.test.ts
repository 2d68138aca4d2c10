// Masked data stays masked: canary values in a hashed and in a masked column, in rows the
// mapping refuses, rows the target refuses and rows that go through, every command with debug
// logs and a umask that takes nothing away; then every file ferry wrote and every line it
// printed is searched for them, and every file and folder of the state folder and the backup
// is its owner's alone.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parsePlan, planToYaml } from '../../src/core/plan.js';
import { freshPg, pgExec, tmpDir } from '../helpers.js';
import { ferry, type CliResult } from '../e2e/support.js';
import { assertNowhere, filesUnder, foldersUnder } from './canaries.js';

let umask: number;
before(() => (umask = process.umask(0)));
after(() => process.umask(umask));

test('a hashed and a masked canary appear in no file ferry writes and nothing it prints, rejected or not', async () => {
  const tag = randomBytes(4).toString('hex');
  const key = randomBytes(24).toString('base64');
  const email = (n: number) => `Hc4n4ry.${tag}.${n}@example.com`;
  const phone = (n: number) => `+33 Mc4n4ry ${tag} 000${n}`;
  const mask = (v: string) => '*'.repeat(v.length - 4) + v.slice(-4);
  const hmac = (v: string) => createHmac('sha256', key).update(v).digest('hex');
  const canaries = [1, 2, 3, 4].flatMap((n) => [email(n), phone(n)]);

  const src = await freshPg('ferry_safety_mask_src');
  const dst = await freshPg('ferry_safety_mask_dst');
  await pgExec(
    src,
    `CREATE TABLE people (id int PRIMARY KEY, email text, phone text, age int, note text);
     CREATE TABLE visits (email text, day date)`,
  );
  // 1 goes through; 2 the target refuses (note is NOT NULL there); 3 the mapping refuses (age into smallint)
  await pgExec(
    src,
    'INSERT INTO people VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10), ($11, $12, $13, $14, $15)',
    [
      ...[1, email(1), phone(1), 30, 'through'],
      ...[2, email(2), phone(2), 40, null],
      ...[3, email(3), phone(3), 100_000, 'too old'],
    ],
  );
  await pgExec(
    src,
    `INSERT INTO people SELECT g, 'user' || g || '@example.com', '+33 6000' || g, 20, 'n' FROM generate_series(10, 30) g`,
  );
  await pgExec(
    src,
    `INSERT INTO visits VALUES ($1, '2024-01-01'), ($2, '2024-01-02'), ('someone@example.com', '2024-01-03')`,
    [email(4), email(1)],
  );

  const dir = tmpDir('ferry-safety-mask-');
  const env = { FERRY_MASK_KEY: key, FERRY_BACKUP_KEY: randomBytes(32).toString('base64') };
  const printed: CliResult[] = [];
  const cli = (args: string[], expected: number) => {
    const r = ferry(['--log-level', 'debug', '--json-logs', ...args], { cwd: dir, env });
    printed.push(r);
    assert.equal(r.code, expected, `ferry ${args.join(' ')}: ${r.stderr}`);
    return r;
  };

  cli(['assess', '--source', src, '--target', dst], 0);
  cli(['plan', '--source', src, '--target', dst, '-o', 'plan.yaml', '--if-exists', 'drop'], 0);
  const planFile = join(dir, 'plan.yaml');
  const plan = parsePlan(readFileSync(planFile, 'utf8'));
  plan.settings.maxRejects = 10;
  plan.settings.backup = { before: true, to: 'backups' };
  for (const t of plan.waves.flatMap((w) => w.tables))
    for (const c of t.columns) {
      if (c.source === 'email') c.transform = { hash: { salt: '${env:FERRY_MASK_KEY}' } };
      if (c.source === 'phone') c.transform = { mask: { keepFirst: 0, keepLast: 4, char: '*' } };
      if (c.source === 'age') c.type = 'smallint';
      if (c.source === 'note') c.nullable = false;
    }
  writeFileSync(planFile, planToYaml(plan));

  const dry = cli(['test', 'plan.yaml', '--sample', '100'], 3);
  assert.match(dry.stdout, /100000 is outside the range of int16/);
  cli(['run', 'plan.yaml'], 4);

  // the rejects as the state store and the reject file keep them: transformed columns transformed
  const rejected = readFileSync(join(dir, '.ferry', 'rejects', 'people.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { refusedBy: string; reason: string; columns: string[]; row: unknown[] });
  assert.deepEqual(
    rejected.map((r) => [r.refusedBy, r.columns, r.row]),
    [
      ['mapping', ['id', 'email', 'phone', 'age', 'note'], [3, hmac(email(3)), mask(phone(3)), 100_000, 'too old']],
      ['target', ['id', 'email', 'phone', 'age', 'note'], [2, hmac(email(2)), mask(phone(2)), 40, null]],
    ],
  );
  assert.match(rejected[0]!.reason, /column age: 100000 is outside the range of int16/);
  assert.match(rejected[1]!.reason, /null value in column "note"/);
  const stored = (await pgExec(dst, 'SELECT id, email, phone FROM people ORDER BY id LIMIT 1')).rows[0];
  assert.deepEqual(stored, { id: 1, email: hmac(email(1)), phone: mask(phone(1)) });

  // the rejected rows are known: verify fails on them alone, and names no value of theirs
  cli(['verify', 'plan.yaml'], 3);
  await pgExec(
    dst,
    `UPDATE people SET email = 'tampered', phone = 'tampered' WHERE id = 1; DELETE FROM visits WHERE day = '2024-01-01'`,
  );
  const differs = cli(['verify', 'plan.yaml'], 3);
  assert.match(
    differs.stdout,
    /\(id\) = 1: column email \(string\): values differ \(the plan transforms this column: values not shown\)/,
  );
  assert.match(differs.stdout, /row \(…, "2024-01-01"\): missing in target/);
  cli(['report'], 0);
  cli(['audit', 'verify'], 0);

  const state = join(dir, '.ferry');
  const backups = join(dir, 'backups');
  const written = [...filesUnder(state), ...filesUnder(backups)];
  for (const expected of ['state.db', 'audit', 'reports', join('rejects', 'people.ndjson'), 'manifest.json', '.sealed'])
    assert.ok(
      written.some((f) => f.includes(expected)),
      `ferry wrote ${expected}`,
    );
  for (const f of written) assert.equal(statSync(f).mode & 0o777, 0o600, `${f} is 0600`);
  for (const d of [state, ...foldersUnder(state), backups, ...foldersUnder(backups)])
    assert.equal(statSync(d).mode & 0o777, 0o700, `${d} is 0700`);
  assertNowhere(canaries, filesUnder(dir), printed);
  const held = await pgExec(dst, 'SELECT string_agg(p::text, ' + "'|'" + ') AS t FROM people p');
  for (const c of canaries) assert.ok(!String(held.rows[0].t).includes(c), `the target holds ${c}`);
});
