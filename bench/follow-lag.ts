// The live-changes case (`BENCH_CASES=follow npm run bench`, or alone: `npm run build && node
// dist/bench/follow-lag.js`): a private MariaDB writing a row binlog and a private PostgreSQL
// with wal_level=logical (FOLLOW_SOURCES, default mariadb,postgres) are each copied by `ferry run
// PLAN --follow` (the CLI in a child process) into PostgreSQL and into DynamoDB (dynalite); then an
// application writes at a paced rate (FOLLOW_RATES, default 1000,5000 changes/s) for
// FOLLOW_SECONDS (default 60), and then as fast as it can while ferry is stopped (SIGSTOP), to
// see how fast ferry applies a backlog once it runs again (SIGCONT).
//
// Lag is sampled from marker rows: ten times a second the writer commits a marker row, notes when
// its COMMIT returned, and a poller asks the target for each marker in turn every 10 ms; the lag
// of a marker is the time it was first seen in the target less its commit time (both clocks are
// this machine's; the polling adds up to 10 ms plus a query's time).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { planToYaml } from '../src/core/plan.js';
import { makePlan } from '../src/pipeline/plan/assess.js';
import { startDynalite, type LocalDynamo } from '../test/connectors/dynamodb-local.js';
import { privateMariadb } from '../test/private-mariadb.js';
import { privatePostgres } from '../test/private-postgres.js';
import { type BenchConfig, loadConfig, pgUrl } from './config.js';
import { recreatePgDatabase } from './db.js';
import { describeEnvironment } from './environment.js';
import { type FollowCase, type FollowResults, printFollowTable, writeFollowResults } from './follow-report.js';

/** Rows of the copied table; each paced transaction inserts one, updates one and deletes one. */
const SEEDED = 10_000;
const CHANGES_PER_TRANSACTION = 3;
const MARKERS_PER_SECOND = 10;
/** How often the pacer sends what the token bucket allows. */
const TICK_MS = 10;
/** Changes the burst writes while ferry is stopped. */
const BURST_CHANGES = 60_000;

interface Target {
  name: string;
  url: string;
  /** whether the marker row with this id is in the target */
  hasMarker(id: number): Promise<boolean>;
  close(): Promise<void>;
}

async function postgresTarget(): Promise<Target> {
  const db = 'bench_follow';
  await recreatePgDatabase(db);
  const client = new pg.Client({ connectionString: pgUrl(db) });
  await client.connect();
  return {
    name: 'PostgreSQL',
    url: pgUrl(db),
    hasMarker: async (id) => {
      try {
        return (await client.query('SELECT 1 FROM markers WHERE id = $1', [id])).rowCount === 1;
      } catch {
        return false; // not created yet
      }
    },
    close: () => client.end(),
  };
}

async function dynamoTarget(dynamo: LocalDynamo): Promise<Target> {
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1' });
  return {
    name: 'DynamoDB',
    url: dynamo.url,
    hasMarker: async (id) => {
      try {
        const r = await client.send(
          new GetItemCommand({ TableName: 'markers', Key: { id: { N: String(id) } }, ConsistentRead: true }),
        );
        return r.Item !== undefined;
      } catch {
        return false;
      }
    },
    close: async () => client.destroy(),
  };
}

/** A session of the application on the source: SQL text of several statements at once. */
interface SourceSession {
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

async function sourceSession(url: string): Promise<SourceSession> {
  if (!url.startsWith('postgres')) return mysql.createConnection({ uri: url, multipleStatements: true });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** The application: small transactions paced by a token bucket, and marker rows for the lag. */
class Writer {
  changes = 0;
  /** commit time (ms) of each marker, by id */
  readonly markerCommits = new Map<number, number>();
  private next = SEEDED + 1;
  private marker = 0;

  constructor(
    private readonly conn: SourceSession,
    private readonly markerConn: SourceSession,
  ) {}

  private transaction(): string {
    const n = this.next++;
    this.changes += CHANGES_PER_TRANSACTION;
    return `START TRANSACTION;
      INSERT INTO events VALUES (${n}, ${n % 500}, ${n % 1000}.25, 'event ${n}', ${Date.now()});
      UPDATE events SET amount = amount + 1, written_at = ${Date.now()} WHERE id = ${n - SEEDED / 2};
      DELETE FROM events WHERE id = ${n - SEEDED}; COMMIT`;
  }

  async writeMarker(): Promise<void> {
    const id = ++this.marker;
    await this.markerConn.query(`INSERT INTO markers VALUES (${id}, ${Date.now()})`);
    this.markerCommits.set(id, Date.now());
    this.changes++;
  }

  get lastMarker(): number {
    return this.marker;
  }

  /**
   * Writes `rate` changes a second for `seconds` (a token bucket: each tick sends the transactions
   * the time since the start allows, less those sent), and markers on their own connection, on
   * time whatever the changes' pace; returns the changes a second written, markers included.
   */
  async paced(rate: number, seconds: number): Promise<number> {
    const start = Date.now();
    const startChanges = this.changes;
    const end = start + seconds * 1000;
    const markers = (async () => {
      for (let due = start; due < end; due += 1000 / MARKERS_PER_SECOND) {
        await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
        await this.writeMarker();
      }
    })();
    let sent = 0;
    while (Date.now() < end) {
      const due = Math.floor(((Date.now() - start) / 1000) * rate) - sent;
      const statements: string[] = [];
      for (let c = 0; c < due; c += CHANGES_PER_TRANSACTION) statements.push(this.transaction());
      sent += statements.length * CHANGES_PER_TRANSACTION;
      if (statements.length) await this.conn.query(statements.join(';'));
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    await markers;
    return (this.changes - startChanges) / ((Date.now() - start) / 1000);
  }

  /** Writes `total` changes as fast as the source takes them, then a marker. */
  async burst(total: number): Promise<number> {
    const startChanges = this.changes;
    while (this.changes - startChanges < total) {
      const statements: string[] = [];
      for (let i = 0; i < 200; i++) statements.push(this.transaction());
      await this.conn.query(statements.join(';'));
    }
    await this.writeMarker();
    return this.changes - startChanges;
  }
}

/** Polls the target for each marker in turn; records the lag of each as it is first seen. */
class LagProbe {
  readonly lags: number[] = [];
  private seen = 0;
  private stopped = false;
  private running?: Promise<void>;

  constructor(
    private readonly target: Target,
    private readonly writer: Writer,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Waits until the marker `id` is in the target (a timeout means ferry fell behind for good). */
  async reached(id: number, timeoutMs = 600_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.seen < id) {
      if (Date.now() > until) throw new Error(`marker ${id} did not reach ${this.target.name} in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Forgets the lags so far (those of a phase measured apart). */
  reset(): void {
    this.lags.length = 0;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const id = this.seen + 1;
      const committed = this.writer.markerCommits.get(id);
      if (committed !== undefined && (await this.target.hasMarker(id))) {
        this.lags.push(Date.now() - committed);
        this.seen = id;
        continue;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** The ferry process's peak resident set (VmHWM), MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM for process ${pid}`);
  return Number(m[1]) / 1024;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function follow(
  config: BenchConfig,
  file: string,
  dir: string,
  log: string,
): { child: ChildProcess; stderr(): string } {
  const child = spawn(process.execPath, [...config.ferryCommand, 'run', file, '--follow'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.on('exit', () => writeFileSync(log, stderr));
  return { child, stderr: () => stderr };
}

async function followCase(
  config: BenchConfig,
  sourceName: string,
  sourceUrl: string,
  target: Target,
  rates: number[],
  seconds: number,
): Promise<FollowCase> {
  const app = await sourceSession(sourceUrl);
  const series = sourceUrl.startsWith('postgres') ? `generate_series(1, ${SEEDED}) AS s(seq)` : `seq_1_to_${SEEDED}`;
  await app.query(
    `DROP TABLE IF EXISTS events, markers;
     CREATE TABLE events (id bigint PRIMARY KEY, account int NOT NULL, amount decimal(12,2) NOT NULL, note varchar(100), written_at bigint NOT NULL);
     CREATE TABLE markers (id int PRIMARY KEY, written_at bigint NOT NULL);
     INSERT INTO events SELECT seq, seq % 500, seq / 100, CONCAT('event ', seq), 0 FROM ${series}`,
  );
  const tag = `${sourceName}-${target.name}`.toLowerCase();
  const dir = join(config.dataDir, `follow-${tag}`);
  const plan = await makePlan({ source: sourceUrl, target: target.url, ifExists: 'drop' });
  plan.settings.stateDir = join(dir, '.ferry');
  const file = join(dir, 'ferry.plan.yaml');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, planToYaml(plan));

  const markerConn = await sourceSession(sourceUrl);
  const writer = new Writer(app, markerConn);
  const probe = new LagProbe(target, writer);
  const ferry = follow(config, file, dir, join(config.logDir, `follow-${tag}.log`));
  const exited = new Promise<number | null>((resolve) => ferry.child.on('exit', (code) => resolve(code)));
  probe.start();
  try {
    // the copy and the handoff: the first marker arrives once changes are applied
    await writer.writeMarker();
    await probe.reached(writer.lastMarker, 120_000);
    const copyPeakRssMb = Math.round(peakRssMb(ferry.child.pid!));

    const sustained: FollowCase['sustained'] = [];
    for (const rate of rates) {
      probe.reset();
      const before = writer.changes;
      const start = Date.now();
      const achieved = await writer.paced(rate, seconds);
      await writer.writeMarker();
      await probe.reached(writer.lastMarker);
      const applySeconds = (Date.now() - start) / 1000;
      sustained.push({
        rate,
        written: Math.round(achieved),
        applied: Math.round((writer.changes - before) / applySeconds),
        lagP50Ms: percentile(probe.lags, 50),
        lagP95Ms: percentile(probe.lags, 95),
        lagMaxMs: Math.max(...probe.lags),
        samples: probe.lags.length,
        peakRssMb: Math.round(peakRssMb(ferry.child.pid!)),
      });
      console.log(`  ${target.name} at ${rate}/s: ${JSON.stringify(sustained.at(-1))}`);
    }

    // the burst: a backlog written while ferry is stopped, applied as fast as ferry goes
    ferry.child.kill('SIGSTOP');
    const burst = await writer.burst(BURST_CHANGES);
    const start = Date.now();
    ferry.child.kill('SIGCONT');
    await probe.reached(writer.lastMarker);
    const burstSeconds = (Date.now() - start) / 1000;
    const result: FollowCase = {
      source: sourceName,
      target: target.name,
      seconds,
      copyPeakRssMb,
      sustained,
      burst: { changes: burst, seconds: burstSeconds, applied: Math.round(burst / burstSeconds) },
      peakRssMb: Math.round(peakRssMb(ferry.child.pid!)),
    };
    console.log(`  ${target.name} burst: ${JSON.stringify(result.burst)}, peak RSS ${result.peakRssMb} MB`);
    return result;
  } finally {
    await probe.stop();
    ferry.child.kill('SIGCONT');
    ferry.child.kill('SIGTERM');
    const code = await exited;
    await app.end();
    await markerConn.end();
    if (code !== 0) throw new Error(`ferry run --follow into ${target.name} ended with ${code}: ${ferry.stderr()}`);
  }
}

function rates(): number[] {
  const text = process.env.FOLLOW_RATES ?? '1000,5000';
  const list = text.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < CHANGES_PER_TRANSACTION))
    throw new Error(`FOLLOW_RATES=${text} is not a list of changes per second (e.g. 1000,5000)`);
  return list;
}

function followSeconds(): number {
  const text = process.env.FOLLOW_SECONDS ?? '60';
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`FOLLOW_SECONDS=${text} is not a positive number of seconds`);
  return n;
}

interface FollowSource {
  name: string;
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

// the application's durability is not what is measured: commits that wait for no fsync let one
// connection write 5,000 changes a second on a busy 2-core machine
async function mariadbSource(): Promise<FollowSource> {
  const server = await privateMariadb({
    binlog: true,
    settings: ['--innodb-flush-log-at-trx-commit=2', '--sync-binlog=0', '--innodb-buffer-pool-size=128M'],
  });
  return { name: 'MariaDB', database: (n) => server.database(n), stop: () => server.stop() };
}

async function postgresSource(): Promise<FollowSource> {
  const server = await privatePostgres({
    settings: { wal_level: 'logical', max_replication_slots: 10, max_wal_senders: 10, synchronous_commit: 'off' },
  });
  return { name: 'PostgreSQL', database: (n) => server.database(n), stop: async () => server.stop() };
}

/** FOLLOW_SOURCES (default mariadb,postgres): the sources followed. */
function sources(): (() => Promise<FollowSource>)[] {
  const text = process.env.FOLLOW_SOURCES ?? 'mariadb,postgres';
  const known: Record<string, () => Promise<FollowSource>> = { mariadb: mariadbSource, postgres: postgresSource };
  return text.split(',').map((name) => {
    const make = known[name.trim()];
    if (!make) throw new Error(`FOLLOW_SOURCES=${text}: ${name} is not a source (mariadb, postgres)`);
    return make;
  });
}

/** The follow case: each source (a private server) into PostgreSQL and DynamoDB. */
export async function runFollowCases(config: BenchConfig): Promise<FollowResults> {
  const cases: FollowCase[] = [];
  for (const makeSource of sources()) {
    const source = await makeSource();
    const dynamo = await startDynalite();
    try {
      for (const make of [postgresTarget, () => dynamoTarget(dynamo)]) {
        const target = await make();
        try {
          const url = await source.database(`bench_follow_${target.name.toLowerCase()}`);
          cases.push(await followCase(config, source.name, url, target, rates(), followSeconds()));
        } finally {
          await target.close();
        }
      }
    } finally {
      await dynamo.stop();
      await source.stop();
    }
  }
  const results = { environment: await describeEnvironment(), cases };
  printFollowTable(results);
  writeFollowResults(config.benchDir, results);
  return results;
}

if (process.argv[1]?.endsWith('follow-lag.js')) {
  const config = loadConfig();
  mkdirSync(config.logDir, { recursive: true });
  await runFollowCases(config);
}
