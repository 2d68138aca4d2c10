// The report a person reads: the verdict first and true to the verification, numbers with
// thousands separators and totals, charts inline, and text from the databases shown, never run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { StateStore } from '../../src/pipeline/session/checkpoints.js';
import { tmpDir } from '../helpers.js';
import { ferry } from './support.js';

function report(dir: string): { md: string; html: string } {
  const r = ferry(['report'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const [, md, html] = /report of run \S+:\n\s+(\S+\.md)\n\s+(\S+\.html)/.exec(r.stdout)!;
  return { md: readFileSync(md!, 'utf8'), html: readFileSync(html!, 'utf8') };
}

const verdictOf = (html: string) => /<div class="verdict (\w+)"><strong>([^<]+)<\/strong>/.exec(html)?.slice(1);

test('the verdict follows the verification: verified, then mismatches, then copied again and not verified', () => {
  const root = tmpDir();
  const demo = ferry(['demo', '--dir', join(root, 'shop')]);
  assert.equal(demo.code, 0, demo.stderr);
  const dir = join(root, 'shop');

  const verified = report(dir);
  assert.match(verified.md, /^# ferry run \S+\n\n\*\*Verdict: migrated and verified\.\*\*/);
  assert.deepEqual(verdictOf(verified.html), ['good', 'migrated and verified']);
  // 3,750 order items and 5,820 rows in all, with separators, in the plan, timings and verification totals
  assert.match(verified.md, /\| 3 \| order_item \| order_item \| 5 \| order_id, line \| 3,750 \|/);
  assert.match(verified.md, /\| \*\*total\*\* \|  \| 4 tables \|  \|  \| 5,820 \|/);
  assert.match(verified.md, /\| \*\*total\*\* \|  \| 5,820 \| 5,820 \| 13 \| 0 \| 0 \|/);
  assert.match(verified.md, /Total: 5,820 rows copied by this run in/);
  // the charts: one bar per table and phase, and the rows written over time, as inline SVG
  const timeline = /<svg id="timeline"[\s\S]*?<\/svg>/.exec(verified.html)![0];
  for (const t of ['customer', 'product', 'order', 'order_item'])
    assert.match(timeline, new RegExp(`<title>${t}: copy [\\d.]+ s`));
  assert.match(verified.html, /<svg id="throughput"[\s\S]*?<polygon points="[\d., ]+"/);
  // one file that loads nothing
  assert.doesNotMatch(verified.html, /<script|<link|\bsrc=|url\(|https?:\/\//);

  const target = new Database(join(dir, 'shop-migrated.db'));
  target.prepare("UPDATE customer SET name = name || '!' WHERE id = 7").run();
  target.close();
  assert.equal(ferry(['verify', 'ferry.plan.yaml'], { cwd: dir }).code, 3);
  const mismatched = report(dir);
  assert.deepEqual(verdictOf(mismatched.html), ['bad', 'mismatches']);
  assert.match(mismatched.md, /\*\*Verdict: mismatches\.\*\* verification found differences in customer/);
  assert.match(mismatched.md, /\| customer \| mismatch \| 500 \| 500 \|/);

  // a later run of the plan: the earlier verification does not speak for it
  assert.equal(ferry(['rollback', '--force'], { cwd: dir }).code, 0);
  assert.equal(ferry(['run', 'ferry.plan.yaml'], { cwd: dir }).code, 0);
  const again = report(dir);
  assert.deepEqual(verdictOf(again.html), ['warn', 'copied, not verified']);
  assert.match(again.md, /Verified at \S+: \*\*\w+\*\* \(before this run finished: verify again\)/);
});

test('a run that did not finish is reported incomplete; text from the databases is shown as text', () => {
  const root = tmpDir();
  assert.equal(ferry(['demo', '--dir', join(root, 'shop')]).code, 0);
  const dir = join(root, 'shop');
  const state = new StateStore(join(dir, '.ferry'), { existing: true });
  const finished = state.run()!;
  const grant = "GRANT SELECT ON `shop`.* TO 'app'@'%'";
  state.addFindings(finished.id, [
    {
      severity: 'warning',
      code: 'PRIVILEGE',
      table: '<img onerror=x>',
      message: `the account lacks a privilege | <script>alert(1)</script> *not emphasis*`,
      action: `run ${grant}`,
    },
  ]);
  const shown = report(dir);
  assert.ok(shown.html.includes('run GRANT SELECT ON <code>shop</code>.* TO &#39;app&#39;@&#39;%&#39;'), shown.html);
  assert.doesNotMatch(shown.html, /<script>|<img /);
  assert.match(shown.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(shown.md, /the account lacks a privilege \\\| <script>/);

  state.startRun(finished.planHash, finished.planFile, 'run');
  state.close();
  const incomplete = report(dir);
  assert.deepEqual(verdictOf(incomplete.html), ['bad', 'incomplete']);
  assert.match(
    incomplete.md,
    /\*\*Verdict: incomplete\.\*\* the run has not finished; running the same command resumes it/,
  );
});

test('a run into object storage is reported with the phases it had: its manifest, no foreign keys', () => {
  const root = tmpDir();
  const dir = join(root, 'shop');
  assert.equal(ferry(['demo', '--dir', dir]).code, 0);
  const planned = ferry(
    [
      'plan',
      '--source',
      `sqlite:${join(dir, 'shop.db')}`,
      '--target',
      `file:${join(root, 'lake')}`,
      '-o',
      'lake.plan.yaml',
    ],
    { cwd: dir },
  );
  assert.equal(planned.code, 0, planned.stderr);
  const run = ferry(['run', 'lake.plan.yaml'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  const { md } = report(dir);
  assert.match(md, /\| table \| prepare s \| copy s \| manifest s \| rows copied \| rows\/s \|/);
  assert.doesNotMatch(md, /indexes s|foreign keys s/);
  const status = ferry(['status', 'lake.plan.yaml', '--json'], { cwd: dir });
  assert.equal(status.code, 0, status.stderr);
  const tables = (JSON.parse(status.stdout) as { tables: { state: string }[] }).tables;
  assert.deepEqual(
    tables.map((t) => t.state),
    ['linked', 'linked', 'linked', 'linked'],
  );
});
