// The cutover case (`BENCH_CASES=cutover npm run bench`, or alone: `npm run build && node
// dist/bench/cutover.js`): the frozen window of `ferry cutover` from a private PostgreSQL
// (wal_level=logical) into PostgreSQL while an application writes at a paced rate (CUTOVER_RATES,
// default 150,1000 writes/s: single-statement inserts and updates through an ordinary role on
// four connections). Each cutover (CUTOVER_REPEAT, default 5, per rate) starts afresh: a new
// source and target database, the writer started, `ferry run PLAN --follow` until it follows, three
// more seconds of writes, then `ferry cutover PLAN --json`; its frozenMs and the steps' timings
// (freeze, mark, drain, verify, sequences) are kept, and the median and p99 (the largest, with
// five) printed and written to bench/results-cutover.json.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { planToYaml } from '../src/core/plan.js';
import { makePlan } from '../src/pipeline/plan/assess.js';
import { privatePostgres, type PrivatePostgres } from '../test/private-postgres.js';
import { type BenchConfig, loadConfig, pgUrl } from './config.js';
import { dropPgDatabase, recreatePgDatabase } from './db.js';

const ACCOUNTS = 1000;
const CONNECTIONS = 4;
const TICK_MS = 10;
const WARM_MS = 3000;

/** a cutover's timings, as `ferry cutover --json` gives them: the frozen window and its steps */
interface Sample {
  frozenMs: number;
  freezeMs: number;
  markMs: number;
  drainMs: number;
  verifyMs: number;
  sequencesMs: number;
}

const STEPS = ['frozenMs', 'freezeMs', 'markMs', 'drainMs', 'verifyMs', 'sequencesMs'] as const;

/** Writes at `rate` a second through the role's connections until stopped; a refused write reconnects. */
function pacedWriter(url: string, rate: number): { stop(): Promise<number> } {
  let stopped = false;
  let tokens = 0;
  let done = 0;
  const start = Date.now();
  const loops = Array.from({ length: CONNECTIONS }, async (_, k) => {
    let client: pg.Client | undefined;
    let n = k;
    while (!stopped) {
      const due = Math.floor(((Date.now() - start) / 1000) * rate);
      if (tokens >= due) {
        await new Promise((r) => setTimeout(r, TICK_MS));
        continue;
      }
      tokens++;
      try {
        if (!client) {
          client = new pg.Client({ connectionString: url });
          client.on('error', () => {});
          await client.connect();
        }
        n += CONNECTIONS;
        await client.query(
          n % 2
            ? 'UPDATE account SET balance = balance + 1 WHERE id = $1'
            : 'INSERT INTO entry (account, amount) VALUES ($1, 1)',
          [1 + (n % ACCOUNTS)],
        );
        done++;
      } catch {
        await client?.end().catch(() => {});
        client = undefined;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await client?.end().catch(() => {});
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return done;
    },
  };
}

function ferry(
  config: BenchConfig,
  args: string[],
  cwd: string,
): { out: Promise<string>; code: Promise<number>; kill(): void } {
  const child = spawn(process.execPath, [...config.ferryCommand, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
  return { out: code.then(() => out), code, kill: () => child.kill('SIGKILL') };
}

async function following(config: BenchConfig, file: string, dir: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const s = ferry(config, ['status', file, '--json'], dir);
    if ((await s.code) === 0 && (JSON.parse(await s.out) as { phase: string }).phase === 'following') return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('ferry did not start following within two minutes');
}

async function oneCutover(config: BenchConfig, server: PrivatePostgres, rate: number, i: number): Promise<Sample> {
  const name = `bench_cutover_${rate}_${i}`;
  const source = await server.database(name);
  const role = `${name}_app`;
  const c = new pg.Client({ connectionString: source });
  await c.connect();
  await c.query(
    `CREATE TABLE account (id serial PRIMARY KEY, name text NOT NULL, balance numeric(12,2) NOT NULL);
     CREATE TABLE entry (id bigserial PRIMARY KEY, account int NOT NULL, amount numeric(12,2));
     INSERT INTO account (name, balance) SELECT 'account ' || g, 0 FROM generate_series(1, ${ACCOUNTS}) g;
     INSERT INTO entry (account, amount) SELECT 1 + g % ${ACCOUNTS}, 1 FROM generate_series(1, 20000) g;
     CREATE ROLE ${role} LOGIN;
     GRANT SELECT, INSERT, UPDATE ON account, entry TO ${role};
     GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${role};`,
  );
  await c.end();
  await recreatePgDatabase(name);
  const dir = join(config.logDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const plan = await makePlan({ source, target: pgUrl(name), ifExists: 'drop' });
  plan.settings.stateDir = join(dir, '.ferry');
  // the plan's defaults, with a heartbeat a second (a fresh beat for the lag check sooner)
  plan.cdc = {
    slot: name,
    publication: name,
    heartbeatSeconds: 1,
    batch: { transactions: 1000, changes: 10_000, bytes: 8 * 2 ** 20, waitMs: 200 },
  };
  const file = join(dir, 'plan.yaml');
  writeFileSync(file, planToYaml(plan, ''));
  const run = ferry(config, ['run', file, '--follow'], dir);
  const app = new URL(source);
  app.username = role;
  let writer: { stop(): Promise<number> } | undefined;
  try {
    // the application writes from the start: `ferry status` says following once a change is applied
    writer = pacedWriter(app.toString(), rate);
    await following(config, file, dir);
    await new Promise((r) => setTimeout(r, WARM_MS));
    const cut = ferry(config, ['cutover', file, '--json', '--max-freeze', '30s'], dir);
    if ((await cut.code) !== 0) throw new Error(`ferry cutover failed: ${await cut.out}`);
    const r = JSON.parse(await cut.out) as Sample;
    if ((await run.code) !== 0) throw new Error(`the follow process did not end with 0: ${await run.out}`);
    return Object.fromEntries(STEPS.map((k) => [k, r[k]])) as unknown as Sample;
  } finally {
    await writer?.stop();
    // a follow process a failed cutover left running
    run.kill();
    await run.code;
    // the target on the shared server (the source goes with the private one)
    await dropPgDatabase(name);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** the nearest-rank p99: with fewer than 100 samples, the largest */
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(0.99 * xs.length) - 1]!;

export async function runCutoverCases(config: BenchConfig): Promise<void> {
  const rates = (process.env.CUTOVER_RATES ?? '150,1000').split(',').map(Number);
  const repeat = Number(process.env.CUTOVER_REPEAT ?? 5);
  const server = await privatePostgres({
    settings: { wal_level: 'logical', max_replication_slots: 20, max_wal_senders: 10, max_connections: 60 },
  });
  const results: { rate: number; samples: Sample[] }[] = [];
  try {
    for (const rate of rates) {
      const samples: Sample[] = [];
      for (let i = 0; i < repeat; i++) {
        samples.push(await oneCutover(config, server, rate, i));
        console.log(`cutover at ${rate} writes/s, #${i + 1}: ${JSON.stringify(samples.at(-1))}`);
      }
      results.push({ rate, samples });
    }
  } finally {
    server.stop();
  }
  console.log(`\n| writes/s | cutovers | ${STEPS.map((k) => `${k} median / p99`).join(' | ')} |`);
  console.log(`|---:|---:|${STEPS.map(() => '---:').join('|')}|`);
  for (const { rate, samples } of results) {
    const col = (k: keyof Sample) => `${median(samples.map((s) => s[k]))} / ${p99(samples.map((s) => s[k]))}`;
    console.log(`| ${rate} | ${samples.length} | ${STEPS.map(col).join(' | ')} |`);
  }
  writeFileSync(join(config.benchDir, 'results-cutover.json'), JSON.stringify(results, null, 2) + '\n');
}

if (process.argv[1]?.endsWith('cutover.js')) await runCutoverCases(loadConfig());
