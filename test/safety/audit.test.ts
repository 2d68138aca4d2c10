// The audit log: one line per step, chained by SHA-256; `ferry audit verify` finds an edited,
// removed or cut-off line, and a chain rewritten from an edit onwards.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { freshSqlite } from '../helpers.js';
import { ferry, planFor } from '../e2e/support.js';

test('every step of a run is one chained line; edits, removals and cuts are found and named', async () => {
  const source = freshSqlite('ferry_safety_audit_src');
  const db = new Database(source.slice('sqlite:'.length));
  db.exec(
    'CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))',
  );
  db.exec(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) INSERT INTO parent SELECT i, 'p' || i FROM n",
  );
  db.exec(
    'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 900) INSERT INTO child SELECT i, 1 + i % 300 FROM n',
  );
  db.close();
  const { file, dir } = await planFor(source, freshSqlite('ferry_safety_audit_dst'), () => {}, { rowsPerChunk: 200 });
  const summary = await runPlan(file);
  const stateDir = join(dir, '.ferry');
  const log = join(stateDir, 'audit', `${summary.runId}.jsonl`);
  const original = readFileSync(log, 'utf8');
  const lines = original
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

  const events = lines.map((l) => l.event);
  assert.equal(events[0], 'run started');
  assert.equal(events.at(-1), 'run finished');
  assert.equal(events.filter((e) => e === 'chunk written').length, 2 + 5, 'one line per chunk');
  for (const e of ['checked', 'snapshot taken', 'table prepared', 'table finished', 'foreign keys added'])
    assert.ok(events.includes(e), e);
  for (const [i, l] of lines.entries()) {
    assert.equal(l.seq, i + 1);
    assert.equal(l.plan, summary.planHash);
    assert.equal(l.run, summary.runId);
    assert.equal(typeof l.user, 'string');
    assert.match(String(l.time), /^\d{4}-\d\d-\d\dT/);
    assert.equal(l.prev, i === 0 ? '' : lines[i - 1]!.hash);
  }
  assert.deepEqual(lines.find((l) => l.event === 'table prepared' && l.table === 'child')?.action, 'created');

  const verify = () => ferry(['audit', 'verify', '--state-dir', stateDir]);
  const ok = verify();
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`${summary.runId}: intact, ${lines.length} lines`));

  const text = original.split('\n');
  const tampered = (content: string, expected: RegExp) => {
    writeFileSync(log, content);
    const r = verify();
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, expected);
    writeFileSync(log, original);
  };
  const chunkLine = lines.findIndex((l) => l.event === 'chunk written');
  tampered(
    text.map((l, i) => (i === chunkLine ? l.replace(/"rows":\d+/, '"rows":999') : l)).join('\n'),
    new RegExp(`BROKEN: line ${chunkLine + 1} was changed`),
  );
  tampered(text.filter((_, i) => i !== 2).join('\n'), /BROKEN: line 3 does not follow line 2/);
  tampered(
    text.slice(0, -2).join('\n') + '\n',
    new RegExp(`ends at line ${lines.length - 1} but the state recorded ${lines.length} lines`),
  );

  // an edit with every later hash recomputed makes a valid chain, but not the one the state recorded
  let prev = '';
  const forged = lines.map((l, i) => {
    const body = JSON.stringify({ ...l, ...(i === chunkLine ? { rows: 999 } : {}), prev, hash: undefined });
    prev = createHash('sha256').update(body).digest('hex');
    return `${body.slice(0, -1)},"hash":"${prev}"}`;
  });
  tampered(forged.join('\n') + '\n', /BROKEN: the log does not end where the state recorded/);

  assert.deepEqual(readdirSync(join(stateDir, 'audit')), [`${summary.runId}.jsonl`]);
});

test('every command that acts on a plan opens and closes its log the same way: started, then finished with its status or failed with its one line', async () => {
  const source = freshSqlite('ferry_safety_audit_cmd_src');
  const db = new Database(source.slice('sqlite:'.length));
  db.exec("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO item VALUES (1, 'one'), (2, 'two')");
  db.close();
  const { file, dir } = await planFor(source, freshSqlite('ferry_safety_audit_cmd_dst'));
  const eventsOf = (runId: string) =>
    readFileSync(join(dir, '.ferry', 'audit', `${runId}.jsonl`), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  await runPlan(file);
  const verified = await verifyPlan(file);
  const lines = eventsOf(verified.runId);
  assert.deepEqual(
    lines.map((l) => l.event),
    ['verify started', 'table verified', 'verify finished'],
  );
  assert.equal(lines.at(-1)!.status, 'match');
  assert.equal(lines[1]!.sample, undefined, 'counts, never the values of differing rows');
  // a run that fails: its log ends with the error's one line, and so does its record
  const { file: casting } = await planFor(source, freshSqlite('ferry_safety_audit_cmd_cast'), (p) => {
    p.waves[0]!.tables[0]!.columns.find((c) => c.source === 'name')!.type = 'INTEGER';
  });
  await assert.rejects(runPlan(casting), /2 rows were rejected and the plan allows 0/);
  const state = new Database(join(dirname(casting), '.ferry', 'state.db'), { readonly: true });
  const run = state.prepare("SELECT id, status, error FROM runs WHERE command = 'run'").get() as Record<string, string>;
  state.close();
  assert.equal(run.status, 'failed');
  const failed = readFileSync(join(dirname(casting), '.ferry', 'audit', `${run.id}.jsonl`), 'utf8')
    .trimEnd()
    .split('\n');
  const last = JSON.parse(failed.at(-1)!) as Record<string, string>;
  assert.equal(last.event, 'run failed');
  assert.equal(last.error, run.error);
  assert.match(last.error!, /^2 rows were rejected and the plan allows 0; the last in item: see the reject files/);
});
