// Backups: sealed files (AES-256-GCM frames) that detect any change, cut or reordering; a
// backup of the source and of the target's existing tables; verify that names a tampered or
// truncated file; restore into any engine; object storage as the destination.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { after, before, test } from 'node:test';
import type { Connector } from '../../src/core/contracts.js';
import type { FerryError } from '../../src/core/errors.js';
import { canonicalText } from '../../src/core/values.js';
import { definitionOf, MANIFEST, targetTableOf, type Manifest } from '../../src/pipeline/safety/backup/format.js';
import { verifyBackup } from '../../src/pipeline/safety/backup/verify.js';
import { backupPlan } from '../../src/pipeline/safety/backup/writer.js';
import { restoreBackup } from '../../src/pipeline/safety/restore.js';
import { keyFromText, OpenStream, SealStream, type BackupKey } from '../../src/pipeline/safety/backup/sealed.js';
import { startDenyingProxy, startS3, type S3Server } from '../connectors/objectstore-servers.js';
import { freshMysql, freshPg, freshSqlite, mysqlExec, pgExec, tmpDir } from '../helpers.js';
import { ferry, ferryAsync, open, planFor } from '../e2e/support.js';

const KEY_TEXT = randomBytes(32).toString('base64');
const KEY = keyFromText(KEY_TEXT, 'test');
process.env.FERRY_SAFETY_KEY = KEY_TEXT;

async function seal(data: Buffer, key: BackupKey = KEY): Promise<Buffer> {
  return readAll(Readable.from([data]).pipe(new SealStream(key)));
}

async function unseal(data: Buffer, key: BackupKey = KEY): Promise<Buffer> {
  return readAll(Readable.from([data]).pipe(new OpenStream(key, 'file.sealed')));
}

/** The frames of a sealed file: [header, ...frames]. */
function frames(sealed: Buffer): Buffer[] {
  const out = [sealed.subarray(0, 24)];
  for (let at = 24; at < sealed.length;) {
    const end = at + 4 + 1 + 12 + sealed.readUInt32BE(at) + 16;
    out.push(sealed.subarray(at, end));
    at = end;
  }
  return out;
}

test('sealed files: round trip in frames; a change, a swap, a cut, an addition or another key is refused', async () => {
  const data = randomBytes(200_000);
  const sealed = await seal(data);
  assert.deepEqual(await unseal(sealed), data);
  assert.deepEqual(await unseal(await seal(Buffer.alloc(0))), Buffer.alloc(0));
  const [header, f1, f2, f3, f4] = frames(sealed) as Buffer[];
  assert.equal(frames(sealed).length, 5, 'four frames of at most 64 KiB');
  assert.notDeepEqual(sealed.subarray(0, 8), Buffer.alloc(8));

  const refused = async (bytes: Buffer, why: RegExp, key?: BackupKey) =>
    assert.rejects(
      unseal(bytes, key),
      (e: FerryError) => e.code === 'BACKUP_INVALID' && /^file\.sealed: /.test(e.message) && why.test(e.message),
    );
  const flipped = Buffer.from(sealed);
  flipped[30_000] ^= 0x01;
  await refused(flipped, /frame 1 fails authentication/);
  await refused(Buffer.concat([header!, f2!, f1!, f3!, f4!]), /frame 1 fails authentication/);
  await refused(Buffer.concat([header!, f1!, f2!, f3!]), /cut off after frame 3/);
  await refused(sealed.subarray(0, sealed.length - 10), /cut off after frame 3/);
  await refused(Buffer.concat([sealed, f4!]), /data after its last frame/);
  // the last frame of another file of the same key does not end this one
  const other = frames(await seal(randomBytes(10)));
  await refused(Buffer.concat([header!, f1!, f2!, f3!, other[1]!]), /frame 4 fails authentication/);
  await refused(sealed, /frame 1 fails authentication/, keyFromText(randomBytes(32).toString('hex'), 'test'));
  assert.throws(() => keyFromText('too short', 'FERRY_X'), /the backup key in FERRY_X is not 32 bytes/);
});

let s3: S3Server;
before(async () => {
  s3 = await startS3('ferry-safety-backups');
});
after(async () => s3?.stop());

const EDGE_SQL = `
CREATE TABLE edge_values (id bigint PRIMARY KEY, f float8, r real, n numeric(30,10), b bytea, t text, ts timestamptz(6), j jsonb, a int[], d date);
INSERT INTO edge_values VALUES
  (1, 'NaN', 'Infinity', 12345678901234567890.0123456789, '\\x00ff10', 'zoë ✓ 李', '0001-01-01 00:00:00.000001+00', '{"k": [1, 2.50, null]}', '{1,NULL,3}', '4713-01-01 BC'),
  (2, '-0', '-Infinity', -0.0000000001, '\\x', '', '2038-01-19 03:14:07.999999+00', 'null', '{}', '294276-12-31'),
  (3, 1.7976931348623157e308, 3.4028235e38, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (9223372036854775807, '-Infinity', 'NaN', 0, '\\xdeadbeef', 'tab\there', '2024-02-29 12:00:00+00', '[]', '{-2147483648}', '2024-02-29');
CREATE TABLE plain (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO plain SELECT g, 'name ' || g FROM generate_series(1, 2500) g;
`;

/** Every row of a table as canonical text, sorted. */
async function contents(conn: Connector, table: string): Promise<string[]> {
  const info = (await conn.introspect({ tables: [table] })).tables[0]!;
  const t = targetTableOf(definitionOf(info), table, [], conn, conn.kind);
  const rows: string[] = [];
  for await (const b of conn.target!().readBack(t, {}, 500))
    for (const r of b.rows) rows.push(r.map((v, i) => canonicalText(v, t.columns[i]!.type)).join('|'));
  return rows.sort();
}

async function source(): Promise<string> {
  const url = await freshPg('ferry_safety_backup_src');
  await pgExec(url, EDGE_SQL);
  return url;
}

test('backup, verify, restore: exact values back in the same engine, every row in another; tampering is named', async () => {
  const src = await source();
  // the target already holds one of the plan's tables: it is backed up too
  const dst = await freshMysql('ferry_safety_backup_dst');
  await mysqlExec(
    dst,
    "CREATE TABLE plain (id int PRIMARY KEY, name text); INSERT INTO plain VALUES (1, 'kept'), (2, 'as it was')",
  );
  const { file, dir } = await planFor(
    src,
    dst,
    (p) =>
      (p.settings.backup = {
        before: false,
        to: join(tmpDir('ferry-safety-bk-'), 'backups'),
        keyEnv: 'FERRY_SAFETY_KEY',
      }),
    { rowsPerChunk: 1000 },
  );

  const made = ferry(['backup', file], { cwd: dir });
  assert.equal(made.code, 0, made.stderr);
  const location = /backup \S+: (\S+) \(/.exec(made.stdout)![1]!;
  const manifest = JSON.parse(readFileSync(join(location, MANIFEST), 'utf8')) as Manifest;
  assert.deepEqual(
    manifest.parts.map((p) => [p.side, p.engine, p.tables.map((t) => [t.name, t.rows, t.files.length])]),
    [
      [
        'source',
        'postgres',
        [
          ['edge_values', 4, 1],
          ['plain', 2500, 3],
        ],
      ],
      ['target', 'mysql', [['plain', 2, 1]]],
    ],
  );
  assert.equal(manifest.keyId, KEY.id);
  assert.doesNotMatch(readFileSync(join(location, MANIFEST), 'utf8'), new RegExp(KEY_TEXT.replace(/[+/=]/g, '.')));
  assert.doesNotMatch(
    readFileSync(join(location, manifest.parts[0]!.tables[1]!.files[0]!.path)).toString('latin1'),
    /name 1/,
    'encrypted',
  );

  const ok = ferry(['backup', 'verify', location, '--key-env', 'FERRY_SAFETY_KEY']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /is intact: 3 tables, 5 files, 2506 rows/);

  // the same engine gets every value back exactly (NaN, -0, infinities, bytes, microseconds, BC dates)
  const again = await freshPg('ferry_safety_backup_again');
  const restored = ferry([
    'restore',
    location,
    '--target',
    again,
    '--key-env',
    'FERRY_SAFETY_KEY',
    '--state-dir',
    join(dir, '.ferry'),
  ]);
  assert.equal(restored.code, 0, restored.stderr);
  const [a, b] = [await open(src), await open(again)];
  try {
    for (const t of ['edge_values', 'plain']) assert.deepEqual(await contents(b, t), await contents(a, t), t);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  // another engine: every row, through the same target contract a run uses
  const lite = freshSqlite('ferry_safety_backup_lite');
  const r = await restoreBackup(location, {
    target: lite,
    tables: ['plain'],
    key: { env: 'FERRY_SAFETY_KEY' },
    stateDir: join(dir, '.ferry'),
  });
  assert.deepEqual(r.tables, [{ table: 'plain', rows: 2500 }]);
  // the target's own tables as they were before
  const before = await freshMysql('ferry_safety_backup_before');
  await restoreBackup(location, {
    target: before,
    side: 'target',
    key: { env: 'FERRY_SAFETY_KEY' },
    stateDir: join(dir, '.ferry'),
  });
  assert.deepEqual(await mysqlExec(before, 'SELECT id, name FROM plain ORDER BY id'), [
    { id: 1, name: 'kept' },
    { id: 2, name: 'as it was' },
  ]);

  const files = manifest.parts[0]!.tables[1]!.files.map((f) => join(location, f.path));
  const pristine = files.map((f) => readFileSync(f));
  const manifestText = readFileSync(join(location, MANIFEST), 'utf8');
  const damaged = (expected: RegExp) => {
    const res = ferry(['backup', 'verify', location, '--key-env', 'FERRY_SAFETY_KEY']);
    assert.equal(res.code, 3, res.stdout + res.stderr);
    assert.match(res.stdout, expected);
    files.forEach((f, i) => writeFileSync(f, pristine[i]!));
    writeFileSync(join(location, MANIFEST), manifestText);
  };
  const flipped = Buffer.from(pristine[1]!);
  flipped[flipped.length >> 1] ^= 0x40;
  writeFileSync(files[1]!, flipped);
  damaged(/problem: .*source\/002-plain\/000002\.ndjson\.gz\.sealed: frame 1 fails authentication/);
  truncateSync(files[2]!, pristine[2]!.length - 100);
  damaged(/problem: .*000003\.ndjson\.gz\.sealed is \d+ bytes, the manifest says \d+ \(it was cut off\)/);
  rmSync(files[0]!);
  damaged(/problem: .*000001\.ndjson\.gz\.sealed is missing/);
  writeFileSync(join(location, MANIFEST), manifestText.replace('"rows": 2500', '"rows": 2499'));
  damaged(/manifest\.json was changed after the backup was made/);
  // a file of one backup swapped for a file of the same size of another is named too
  writeFileSync(files[0]!, Buffer.concat([pristine[1]!.subarray(0, 24), pristine[0]!.subarray(24)]));
  damaged(/000001\.ndjson\.gz\.sealed: frame 1 fails authentication/);

  // a restore reads through the same checks
  writeFileSync(files[1]!, flipped);
  await assert.rejects(
    restoreBackup(location, {
      target: freshSqlite('ferry_safety_backup_bad'),
      tables: ['plain'],
      key: { env: 'FERRY_SAFETY_KEY' },
      stateDir: join(dir, '.ferry'),
    }),
    /000002\.ndjson\.gz\.sealed: frame 1 fails authentication/,
  );
  writeFileSync(files[1]!, pristine[1]!);

  const wrongKey = ferry(['backup', 'verify', location], {
    env: { FERRY_BACKUP_KEY: randomBytes(32).toString('hex') },
  });
  assert.equal(wrongKey.code, 2);
  assert.match(
    wrongKey.stderr,
    /^ferry: the key given is not the key of backup \S+ \(it was made with key id [0-9a-f]{16}; this key's id is [0-9a-f]{16}\)/,
  );
});

test('the key is never kept beside the backup', async () => {
  const backups = tmpDir('ferry-safety-keyplace-');
  const keyFile = join(backups, 'backup.key');
  writeFileSync(keyFile, KEY_TEXT);
  const { file } = await planFor(await source(), freshSqlite('ferry_safety_keyplace_dst'));
  const r = ferry(['backup', file, '--to', backups, '--key-file', keyFile]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /the backup key file .*backup\.key is inside the backup folder/);
  assert.ok(!existsSync(join(backups, 'manifest.json')));
});

test('a backup to object storage verifies and restores', async () => {
  const src = await source();
  const { file } = await planFor(src, freshSqlite('ferry_safety_s3_dst'), () => {}, { rowsPerChunk: 1000 });
  const summary = await backupPlan(file, {
    to: `s3://${s3.bucket}/backups?endpoint=${s3.endpoint}&forcePathStyle=true&region=us-east-1`,
    key: { env: 'FERRY_SAFETY_KEY' },
  });
  assert.match(summary.location, /^s3:\/\/ferry-safety-backups\/backups\/\d{8}T\d{6}Z-[0-9a-f]{6}\?endpoint=/);
  const location = summary.location;
  const check = await verifyBackup(location, { env: 'FERRY_SAFETY_KEY' });
  assert.deepEqual({ ok: check.ok, files: check.files, rows: check.rows }, { ok: true, files: 4, rows: 2504 });
  const lite = freshSqlite('ferry_safety_s3_restored');
  const r = await restoreBackup(location, {
    target: lite,
    key: { env: 'FERRY_SAFETY_KEY' },
    stateDir: join(tmpDir(), '.ferry'),
  });
  assert.deepEqual(r.tables, [
    { table: 'edge_values', rows: 4 },
    { table: 'plain', rows: 2500 },
  ]);
});

test('a backup streams into S3 as it is sealed, with no local copy, in parts, and reads back every byte and character', async () => {
  const src = await freshPg('ferry_safety_s3_stream');
  // about 8 MiB of sealed data in one file (random bytes do not compress), and characters of
  // two and three bytes that the chunks of the decompressed file cut through
  await pgExec(
    src,
    `CREATE TABLE big (id int PRIMARY KEY, b bytea NOT NULL, t text NOT NULL);
     INSERT INTO big SELECT g, (SELECT decode(string_agg(md5(g || '-' || i), ''), 'hex') FROM generate_series(1, 64) i),
       repeat('李ë✓', 100 + g % 7) FROM generate_series(1, 8000) g;`,
  );
  const { file, dir } = await planFor(src, freshSqlite('ferry_safety_s3_stream_dst'), () => {}, {
    rowsPerChunk: 10_000,
  });
  const proxy = await startDenyingProxy(s3, () => false);
  try {
    const to = `s3://${s3.bucket}/streamed?endpoint=${proxy.endpoint}&forcePathStyle=true&region=us-east-1&partSize=5MiB`;
    // a backup that staged its files on the local disk fails here
    const made = await ferryAsync(['backup', file, '--to', to, '--key-env', 'FERRY_SAFETY_KEY'], {
      cwd: dir,
      env: { TMPDIR: join(dir, 'no-such-folder') },
    });
    assert.equal(made.code, 0, made.stderr);
    const location = /backup \S+: (\S+) \(/.exec(made.stdout)![1]!;
    const parts = proxy.requests.filter((r) => r.method === 'PUT' && /[?&]partNumber=/.test(r.url));
    assert.ok(parts.length >= 2, `the file went up in parts of 5 MiB (${parts.length})`);

    const check = await verifyBackup(location, { env: 'FERRY_SAFETY_KEY' });
    assert.deepEqual({ ok: check.ok, files: check.files, rows: check.rows }, { ok: true, files: 1, rows: 8000 });
    const again = await freshPg('ferry_safety_s3_stream_again');
    await restoreBackup(location, { target: again, key: { env: 'FERRY_SAFETY_KEY' }, stateDir: join(dir, '.ferry') });
    const [a, b] = [await open(src), await open(again)];
    try {
      assert.deepEqual(await contents(b, 'big'), await contents(a, 'big'));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  } finally {
    await proxy.stop();
  }
});

test('a backup location is one line when it holds credentials, an unknown or bad parameter, or is no location', async () => {
  const { file, dir } = await planFor(await source(), freshSqlite('ferry_safety_badplace_dst'));
  const secret = ferry(
    ['backup', file, '--to', 's3://AKIAEXAMPLE:topsecret99@bucket/x', '--key-env', 'FERRY_SAFETY_KEY'],
    {
      cwd: dir,
    },
  );
  assert.equal(secret.code, 2);
  assert.match(
    secret.stderr,
    /^ferry: the backup location s3:\/\/AKIAEXAMPLE:\S+@bucket\/x holds credentials: leave them out/,
  );
  assert.doesNotMatch(secret.stdout + secret.stderr, /topsecret99/);

  const refused = async (to: string, message: RegExp, action?: RegExp) =>
    assert.rejects(
      backupPlan(file, { to, key: { env: 'FERRY_SAFETY_KEY' } }),
      (e: FerryError) =>
        e.code === 'URL_INVALID' && message.test(e.message) && (!action || action.test(e.action ?? '')),
    );
  await refused(
    `s3://${s3.bucket}/x?regoin=eu-west-1`,
    /^backup location s3:\/\/ferry-safety-backups\/x\?regoin=eu-west-1: unknown option regoin$/,
    /^the parameters of an s3:\/\/ backup location are region, endpoint, forcePathStyle, sse, kmsKeyId, /,
  );
  await refused(`s3://${s3.bucket}/x?partSize=1MiB`, / partSize: at least 5MiB \(the S3 minimum\)$/);
  await refused(`file:${join(dir, 'backups')}?region=eu-west-1`, /is a folder, which takes no parameters$/);
  await refused('s3:bucket/x', /^"s3:bucket\/x" is not an S3 URL$/);
});
