// Secrets are resolved everywhere a plan may refer to one: a hash transform's key, the backup
// key, the target's options (S3) and its URL (DynamoDB's endpoint). A variable that is not set
// or a file that cannot be read is one line, before anything is written; a literal key is
// refused as a literal password is; the hash is an HMAC keyed by the secret.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { parsePlan, planToYaml, type Plan } from '../../src/core/plan.js';
import { startS3, type S3Server } from '../connectors/objectstore-servers.js';
import { startDynalite } from '../connectors/dynamodb-local.js';
import { freshSqlite, tmpDir } from '../helpers.js';
import { ferry, ferryAsync, oneLine } from '../e2e/support.js';

const EMAILS = ['ada@example.com', 'grace@example.com', 'edsger@example.com'];

/** A SQLite source of three people, and a folder for a plan of it. */
function source(): { url: string; dir: string } {
  const url = freshSqlite('secret_places_src');
  const db = new Database(url.slice('sqlite:'.length));
  db.exec('CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT NOT NULL)');
  EMAILS.forEach((e, i) => db.prepare('INSERT INTO people VALUES (?, ?)').run(i + 1, e));
  db.close();
  return { url, dir: tmpDir('ferry-secret-places-') };
}

/** Writes plan.yaml in `dir` from `ferry plan`'s plan, edited. */
function writePlan(dir: string, src: string, target: string, edit: (p: Plan) => void, env = {}): string {
  const r = ferry(['plan', '--source', src, '--target', target, '-o', 'plan.yaml', '--if-exists', 'drop'], {
    cwd: dir,
    env,
  });
  assert.equal(r.code, 0, r.stderr);
  const file = join(dir, 'plan.yaml');
  const plan = parsePlan(readFileSync(file, 'utf8'));
  edit(plan);
  writeFileSync(file, planToYaml(plan));
  return file;
}

function emailColumn(plan: Plan) {
  return plan.waves[0]!.tables[0]!.columns.find((c) => c.source === 'email')!;
}

function tablesOf(sqliteUrl: string): string[] {
  const path = sqliteUrl.slice('sqlite:'.length);
  if (!existsSync(path)) return [];
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
      (r) => r.name,
    );
  } finally {
    db.close();
  }
}

function emailsIn(sqliteUrl: string): string[] {
  const db = new Database(sqliteUrl.slice('sqlite:'.length), { readonly: true });
  try {
    return (db.prepare('SELECT email FROM people ORDER BY id').all() as { email: string }[]).map((r) => r.email);
  } finally {
    db.close();
  }
}

const hmac = (key: string) => EMAILS.map((e) => createHmac('sha256', key).update(e).digest('hex'));

test('a hash transform is an HMAC keyed by its secret, from a variable or a file, never from the plan', () => {
  const { url, dir } = source();
  const target = freshSqlite('secret_places_hash');
  const salt = (ref: string) => (p: Plan) => (emailColumn(p).transform = { hash: { salt: ref } });
  const key1 = randomBytes(24).toString('base64');
  const key2 = randomBytes(24).toString('base64');

  // not set, not readable, too short: one line naming the column, before anything is written
  writePlan(dir, url, target, salt('${env:FERRY_PLACES_KEY}'));
  const unset = ferry(['run', 'plan.yaml'], { cwd: dir });
  assert.equal(unset.code, 2);
  assert.equal(
    oneLine(unset.stderr),
    'ferry: plan.yaml: people.email: environment variable FERRY_PLACES_KEY (the hash salt) is not set: export FERRY_PLACES_KEY before running ferry',
  );
  const short = ferry(['run', 'plan.yaml'], { cwd: dir, env: { FERRY_PLACES_KEY: 'pepper' } });
  assert.equal(short.code, 2);
  assert.match(
    oneLine(short.stderr),
    /^ferry: plan\.yaml: people\.email: the hash salt \$\{env:FERRY_PLACES_KEY\} has 6 characters, fewer than 16: use a random secret/,
  );
  writePlan(dir, url, target, salt('${file:/nonexistent/ferry-key}'));
  const unreadable = ferry(['run', 'plan.yaml'], { cwd: dir });
  assert.equal(unreadable.code, 2);
  assert.match(oneLine(unreadable.stderr), /people\.email: cannot read the hash salt file \/nonexistent\/ferry-key: /);
  assert.deepEqual(tablesOf(target), [], 'nothing was written');
  assert.ok(!existsSync(join(dir, '.ferry')), 'not even the state');

  // a literal key is refused where it is written, as a literal password is
  writePlan(dir, url, target, salt('pepper-pepper-pepper'));
  const literal = ferry(['run', 'plan.yaml'], { cwd: dir });
  assert.equal(literal.code, 2);
  assert.match(
    oneLine(literal.stderr),
    /plan\.yaml:\d+:\d+: waves\[0\]\.tables\[0\]\.columns\[1\]\.transform\.hash\.salt: the salt is written in the plan, so it is no secret: write \$\{env:NAME\} or \$\{file:path\} in its place/,
  );

  writePlan(dir, url, target, salt('${env:FERRY_PLACES_KEY}'));
  const first = ferry(['run', 'plan.yaml'], { cwd: dir, env: { FERRY_PLACES_KEY: key1 } });
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(emailsIn(target), hmac(key1));

  // the same key from a file: the same plan, its state kept
  const keyFile = join(tmpDir('ferry-secret-places-key-'), 'key');
  writeFileSync(keyFile, `${key1}\n`);
  writePlan(dir, url, target, salt(`\${file:${keyFile}}`));
  const moved = ferry(['run', 'plan.yaml'], { cwd: dir });
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(moved.stdout, /^nothing to do: every table of plan\.yaml was copied by run /);

  // another key writes other values: a new copy, state afresh
  writeFileSync(keyFile, key2);
  const rekeyed = ferry(['run', 'plan.yaml'], { cwd: dir });
  assert.equal(rekeyed.code, 0, rekeyed.stderr);
  assert.doesNotMatch(rekeyed.stdout, /nothing to do/);
  assert.deepEqual(emailsIn(target), hmac(key2));
  assert.notDeepEqual(hmac(key1), hmac(key2));
});

test('the backup key: a variable not set or a file not readable stops the run before it writes', () => {
  const { url, dir } = source();
  const target = freshSqlite('secret_places_backup');
  writePlan(dir, url, target, (p) => (p.settings.backup = { before: true, to: 'backups', keyEnv: 'FERRY_PLACES_BK' }));
  const unset = ferry(['run', 'plan.yaml'], { cwd: dir });
  assert.equal(unset.code, 2);
  assert.equal(
    oneLine(unset.stderr),
    'ferry: environment variable FERRY_PLACES_BK (the backup key) is not set: export FERRY_PLACES_BK before running ferry',
  );
  writePlan(dir, url, target, (p) => (p.settings.backup = { before: true, to: 'backups', keyFile: '/nonexistent/bk' }));
  const unreadable = ferry(['run', 'plan.yaml'], { cwd: dir });
  assert.equal(unreadable.code, 2);
  assert.match(oneLine(unreadable.stderr), /^ferry: cannot read the backup key file \/nonexistent\/bk: /);
  assert.deepEqual(tablesOf(target), [], 'nothing was written');
  assert.ok(!existsSync(join(dir, 'backups')));

  writePlan(dir, url, target, (p) => (p.settings.backup = { before: true, to: 'backups', keyEnv: 'FERRY_PLACES_BK' }));
  const run = ferry(['run', 'plan.yaml'], { cwd: dir, env: { FERRY_PLACES_BK: randomBytes(32).toString('hex') } });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(readdirSync(join(dir, 'backups')).length, 1);
});

let s3: S3Server;
before(async () => {
  s3 = await startS3();
});
after(async () => s3.stop());

test("S3 options and a backup location's parameters take references", async () => {
  const { url, dir } = source();
  const env = { FERRY_PLACES_S3: s3.endpoint, FERRY_PLACES_BK: randomBytes(32).toString('hex') };
  // planned for a folder (the CLI runs in this process's stead while s3rver answers in it), then pointed at S3
  writePlan(dir, url, `file:${tmpDir('ferry-secret-places-lake-')}`, (p) => {
    p.target.url = `s3://${s3.bucket}/places`;
    p.target.options = {
      endpoint: '${env:FERRY_PLACES_S3}',
      forcePathStyle: true,
      region: 'us-east-1',
      format: 'ndjson',
    };
    p.settings.backup = {
      before: true,
      to: `s3://${s3.bucket}/backups?endpoint=\${env:FERRY_PLACES_S3}&forcePathStyle=true&region=us-east-1`,
      keyEnv: 'FERRY_PLACES_BK',
    };
  });
  const unset = await ferryAsync(['run', 'plan.yaml'], { cwd: dir, env: { FERRY_PLACES_BK: env.FERRY_PLACES_BK } });
  assert.equal(unset.code, 2);
  assert.equal(
    oneLine(unset.stderr),
    'ferry: environment variable FERRY_PLACES_S3 is not set: export FERRY_PLACES_S3 before running ferry',
  );
  assert.ok(!existsSync(join(s3.dir, s3.bucket, 'places')), 'nothing was written');

  const run = await ferryAsync(['run', 'plan.yaml'], { cwd: dir, env });
  assert.equal(run.code, 0, run.stderr);
  const objects = readdirSync(join(s3.dir, s3.bucket), { recursive: true }).map(String);
  assert.ok(
    objects.some((k) => k.startsWith('places/people/') && k.includes('.ndjson')),
    objects.join(', '),
  );
  assert.ok(
    objects.some((k) => /^backups\/[^/]+\/manifest\.json/.test(k)),
    objects.join(', '),
  );
  assert.match(readFileSync(join(dir, 'plan.yaml'), 'utf8'), /endpoint: \$\{env:FERRY_PLACES_S3\}/);
});

test("DynamoDB's endpoint takes a reference", async () => {
  const dynamo = await startDynalite();
  try {
    const { url, dir } = source();
    const target = 'dynamodb://us-east-1?endpoint=${env:FERRY_PLACES_DDB}';
    writePlan(dir, url, target, () => {}, { FERRY_PLACES_DDB: dynamo.endpoint });
    const unset = ferry(['run', 'plan.yaml'], { cwd: dir });
    assert.equal(unset.code, 2);
    assert.equal(
      oneLine(unset.stderr),
      'ferry: environment variable FERRY_PLACES_DDB is not set: export FERRY_PLACES_DDB before running ferry',
    );
    const run = ferry(['run', 'plan.yaml'], { cwd: dir, env: { FERRY_PLACES_DDB: dynamo.endpoint } });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /copied 3 rows/);
  } finally {
    await dynamo.stop();
  }
});
