// The live-changes case's results: a table on the terminal, bench/results-follow.json and its
// section of bench/results.md.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Environment } from './environment.js';
import { writeResultsMarkdown } from './report.js';

export interface SustainedRate {
  /** changes a second asked of the writer */
  rate: number;
  /** changes a second the writer wrote */
  written: number;
  /** changes a second applied: all written, over the time until the last one was in the target */
  applied: number;
  lagP50Ms: number;
  lagP95Ms: number;
  lagMaxMs: number;
  /** marker rows the lag was measured on */
  samples: number;
  /** VmHWM of the ferry process at the end of this rate */
  peakRssMb: number;
}

export interface FollowCase {
  source: string;
  target: string;
  /** seconds each rate was sustained */
  seconds: number;
  /** VmHWM of the ferry process once the copy was done and the first change applied */
  copyPeakRssMb: number;
  sustained: SustainedRate[];
  /** a backlog written while ferry was stopped, then applied */
  burst: { changes: number; seconds: number; applied: number };
  /** VmHWM of the ferry process over the whole case */
  peakRssMb: number;
}

export interface FollowResults {
  environment: Environment;
  cases: FollowCase[];
}

export const FOLLOW_RESULTS_FILE = 'results-follow.json';

const HEADERS = [
  'case',
  'changes/s asked',
  'written/s',
  'applied/s',
  'lag p50 ms',
  'lag p95 ms',
  'lag max ms',
  'markers',
  'peak RSS MB so far',
];

function rows(results: FollowResults): string[][] {
  const n = (v: number) => v.toLocaleString('en-US');
  return results.cases.flatMap((c) => [
    ...c.sustained.map((s) => [
      `${c.source} → ${c.target}`,
      n(s.rate),
      n(s.written),
      n(s.applied),
      n(s.lagP50Ms),
      n(s.lagP95Ms),
      n(s.lagMaxMs),
      n(s.samples),
      n(s.peakRssMb),
    ]),
    [
      `${c.source} → ${c.target}`,
      `backlog of ${n(c.burst.changes)}`,
      '',
      n(c.burst.applied),
      '',
      '',
      '',
      '',
      n(c.peakRssMb),
    ],
  ]);
}

export function printFollowTable(results: FollowResults): void {
  const all = [HEADERS, ...rows(results)];
  const widths = HEADERS.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  console.log(['', line(HEADERS), ...rows(results).map(line), ''].join('\n'));
}

/** The section of bench/results.md. */
export function followMarkdown(results: FollowResults): string {
  const e = results.environment;
  const tableLine = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const seconds = results.cases[0]?.seconds ?? 0;
  return [
    '## Live changes (`BENCH_CASES=follow npm run bench`)',
    '',
    `Measured ${e.measuredAt} on ${e.cpus} × ${e.cpuModel}, ${e.memoryGb} GB RAM, every server on the same machine; ferry commit ${e.ferryCommit}.`,
    '',
    tableLine(HEADERS),
    tableLine(HEADERS.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows(results).map(tableLine),
    '',
    ...results.cases.map(
      (c) =>
        `ferry peak RSS (VmHWM), ${c.source} → ${c.target}: ${c.copyPeakRssMb} MB after the copy, ${c.peakRssMb} MB at the end.`,
    ),
    '',
    'The sources are private servers: MariaDB writing a row binlog, PostgreSQL with wal_level=logical (both',
    'committing without waiting for an fsync); `ferry run PLAN --follow` (the CLI in a child process,',
    'plan defaults, cdc batch defaults) copies 10,000 rows, then follows. The writer paces small transactions',
    '(an insert, an update and a delete each) with a token bucket for ' +
      `${seconds} s per rate, and commits a marker row ten times a second.`,
    "Lag is the time from a marker's COMMIT returning to the marker first being seen in the target (polled every",
    '10 ms, one marker at a time, so a figure is at most about 10 ms plus a query too high). applied/s is every change',
    'written at that rate over the time until its last marker was in the target. The backlog row: ferry is stopped',
    '(SIGSTOP) while the writer writes as fast as the source takes it, then resumed (SIGCONT); applied/s is the',
    'backlog over the time from resuming to its last marker in the target (reading the binlog included).',
    'The DynamoDB target is dynalite, one single-threaded process on the same two cores: its rate bounds that case.',
    '',
  ].join('\n');
}

export function writeFollowResults(benchDir: string, results: FollowResults): void {
  writeFileSync(join(benchDir, FOLLOW_RESULTS_FILE), JSON.stringify(results, null, 2) + '\n');
  writeResultsMarkdown(benchDir);
  console.log(`results written to ${join(benchDir, FOLLOW_RESULTS_FILE)} and results.md`);
}
