// The dashboard of a run that follows live changes (`ferry run --follow --serve`) from MariaDB (a
// private server writing a row binlog): the changes applied and their lag reach the page's data
// and /metrics from the run's events and its state.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freshSqlite, mysqlExec } from '../helpers.js';
import { privateMariadb, type PrivateMariadb } from '../private-mariadb.js';
import { planFor } from './support.js';

const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const CHANGES = 10;

let server: PrivateMariadb;
before(async () => {
  server = await privateMariadb({ binlog: true });
});
after(async () => server?.stop());

interface Snapshot {
  cdc?: { start: string; applied?: string; changes: number; lagSeconds?: number };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what} never came`);
}

test('a followed run on the dashboard: changes applied, their lag over time, the CDC metrics', async () => {
  const source = await server.database('dashboard_follow');
  await mysqlExec(
    source,
    `CREATE TABLE notes (id int PRIMARY KEY, body varchar(40) NOT NULL);
     INSERT INTO notes SELECT seq, CONCAT('note ', seq) FROM seq_1_to_200`,
  );
  const { file, dir } = await planFor(source, freshSqlite('dashboard_follow'), (p) => {
    p.cdc = {
      slot: 'ferry_dashboard',
      publication: 'ferry_dashboard',
      heartbeatSeconds: 1,
      batch: { transactions: 200, changes: 2000, bytes: 2 ** 20, waitMs: 100 },
    };
  });
  const child = spawn(process.execPath, [CLI, 'run', file, '--follow', '--serve', '127.0.0.1:0'], { cwd: dir });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    const base = await until('the dashboard line', async () => /^dashboard: (http:\/\/\S+)\//m.exec(stdout)?.[1]);
    const snapshot = async () => (await (await fetch(`${base}/snapshot`)).json()) as Snapshot;
    await until('following', async () => (/following live changes from/.test(stdout) ? true : undefined));
    // the application: one row a transaction, each applied (and on the dashboard) before the next, so one batch each
    let cdc: Snapshot['cdc'];
    for (let i = 1; i <= CHANGES; i++) {
      await mysqlExec(source, `INSERT INTO notes VALUES (${1000 + i}, 'live ${i}')`);
      cdc = await until(`change ${i} on the dashboard`, async () => {
        const s = (await snapshot()).cdc;
        return s?.changes === i ? s : undefined;
      });
    }
    const [status] = (await mysqlExec(source, 'SHOW MASTER STATUS')) as { File: string; Position: number }[];
    assert.ok(cdc!.start !== '', JSON.stringify(cdc));
    assert.ok(cdc!.lagSeconds !== undefined && cdc!.lagSeconds >= 0, JSON.stringify(cdc));
    await until('the last position applied', async () =>
      (await snapshot()).cdc?.applied === `${status!.File}:${status!.Position}` ? true : undefined,
    );

    // the page is sent the lag over time, batch by batch
    const events = await fetch(`${base}/events`);
    const reader = events.body!.getReader();
    let sent = '';
    while (!/^data: .*\n\n/m.test(sent)) sent += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const pushed = JSON.parse(/^data: (.*)$/m.exec(sent)![1]!) as { lagSvg: string };
    assert.match(pushed.lagSvg, /^<figure><svg id="lag"[\s\S]*<polyline points="[\d., ]+"/);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(`^ferry_cdc_changes_applied_total\\{table="notes",op="insert"\\} ${CHANGES}$`, 'm'),
    );
    assert.match(metrics, /^ferry_cdc_lag_seconds \d+(\.\d+)?(e-\d+)?$/m);
    assert.match(metrics, /^ferry_rows_copied_total\{table="notes"\} 200$/m);

    // the first signal stops following; the dashboard stays until the next
    child.kill('SIGTERM');
    await until('the end of the run', async () => (/the run is over/.test(stdout) ? true : undefined));
    assert.equal((await snapshot()).cdc?.changes, CHANGES);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    // a failure above leaves the run following, or its dashboard up
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
