// The large-value benchmark's results: a table on the terminal, bench/results-large.json, and
// its section of bench/results.md.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Environment } from './environment.js';
import { readResults, writeResultsMarkdown } from './report.js';

export interface LargeCase {
  source: string;
  target: string;
  /** "PostgreSQL → Parquet (folder)" */
  title: string;
  kind: 'text' | 'bytes';
  /** the value's size in MiB */
  mb: number;
  runSeconds: number;
  runPeakRssMb: number;
  /** absent where the target rejects the value (nothing to verify) */
  verifySeconds?: number;
  verifyPeakRssMb?: number;
  /** a case kept from an earlier run, which a narrowed run did not measure again: when and at which commit */
  earlier?: { measuredAt: string; ferryCommit: string };
}

export interface LargeResults {
  environment: Environment;
  repeat: number;
  /** the 1-minute load average at the start and at the end of the run (2 cores shared with other work) */
  load?: [number, number];
  cases: LargeCase[];
}

/**
 * The results of a narrowed run merged into the earlier ones: its cases replace theirs (same
 * source, target, kind and size); the others are kept, marked with when they were measured.
 */
export function mergeLargeResults(earlier: LargeResults | undefined, now: LargeResults): LargeResults {
  if (!earlier) return now;
  const id = (c: LargeCase) => `${c.source}\u0000${c.target}\u0000${c.kind}\u0000${c.mb}`;
  const measured = new Set(now.cases.map(id));
  const kept = earlier.cases
    .filter((c) => !measured.has(id(c)))
    .map((c) => ({
      ...c,
      earlier: c.earlier ?? {
        measuredAt: earlier.environment.measuredAt,
        ferryCommit: earlier.environment.ferryCommit,
      },
    }));
  const order = (c: LargeCase) => earlier.cases.findIndex((e) => id(e) === id(c));
  const cases = [...kept, ...now.cases].sort((a, b) => order(a) - order(b));
  return { ...now, cases };
}

export const LARGE_RESULTS_FILE = 'results-large.json';

const sizesOf = (cases: LargeCase[]) => [...new Set(cases.map((c) => c.mb))].sort((a, b) => a - b);

function headers(mbs: number[]): string[] {
  return [
    'source → target',
    'value',
    ...mbs.map((mb) => `run s, ${mb} MiB`),
    's per MiB between sizes',
    `peak RSS MB, ${mbs.at(-1)} MiB`,
    `RSS MB per MiB`,
    `verify s, ${mbs.at(-1)} MiB`,
  ];
}

/** One line per pair and kind: the run's time at each size, the time each further MiB took, memory, verify. */
function rows(results: LargeResults): string[][] {
  const mbs = sizesOf(results.cases);
  const groups = new Map<string, LargeCase[]>();
  for (const c of results.cases) {
    const key = `${c.title}\u0000${c.kind}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()].map((group) => {
    const at = (mb: number) => group.find((c) => c.mb === mb);
    const measured = mbs.filter((mb) => at(mb));
    const first = at(measured[0]!)!;
    const last = at(measured.at(-1)!)!;
    const perMib = measured
      .slice(1)
      .map((mb, i) => ((at(mb)!.runSeconds - at(measured[i]!)!.runSeconds) / (mb - measured[i]!)).toFixed(3))
      .join(' / ');
    const rssPerMib = last.mb > first.mb ? (last.runPeakRssMb - first.runPeakRssMb) / (last.mb - first.mb) : NaN;
    return [
      first.title + (group.some((c) => c.earlier) ? ' †' : ''),
      first.kind,
      ...mbs.map((mb) => at(mb)?.runSeconds.toFixed(2) ?? ''),
      perMib,
      last.runPeakRssMb.toFixed(0),
      Number.isNaN(rssPerMib) ? '' : rssPerMib.toFixed(1),
      last.verifySeconds?.toFixed(2) ?? 'rejected',
    ];
  });
}

export function printLargeTable(results: LargeResults): void {
  const head = headers(sizesOf(results.cases));
  const body = rows(results);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  console.log(['', line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), ''].join('\n'));
}

/** Which rows an earlier run measured (a narrowed run measured the others). */
function earlierNote(cases: LargeCase[]): string[] {
  const runs = [
    ...new Set(cases.flatMap((c) => (c.earlier ? [`commit ${c.earlier.ferryCommit}, ${c.earlier.measuredAt}`] : []))),
  ];
  return runs.length === 0
    ? []
    : ['', `Rows marked † are from an earlier run (${runs.join('; ')}), not measured again.`];
}

/** The section of bench/results.md. */
export function largeMarkdown(results: LargeResults): string {
  const e = results.environment;
  const head = headers(sizesOf(results.cases));
  const tableLine = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    '## Large values (`npm run bench:large`)',
    '',
    `Measured ${e.measuredAt} on the same kind of machine; ferry commit ${e.ferryCommit}` +
      (results.load
        ? `; load average ${results.load[0].toFixed(1)} at the start, ${results.load[1].toFixed(1)} at the end (2 cores).`
        : '.'),
    ...earlierNote(results.cases),
    '',
    tableLine(head),
    tableLine(head.map((_, i) => (i < 2 ? '---' : '---:'))),
    ...rows(results).map(tableLine),
    '',
    'Each source table holds one row whose value is text (UTF-8 of every width, with quotes, backslashes, tabs and',
    'newlines) or bytes (every byte value) of the size shown. "run s" is the wall time of the whole `ferry run`',
    'process (plan made beforehand, not counted), the fastest of ' +
      `${results.repeat} run(s); "s per MiB between sizes" is the extra time each further MiB took from one size to the`,
    'next (the same figure at every step: time linear in the size). "RSS MB per MiB" is how much the peak RSS',
    'grew per MiB of the value from the smallest to the largest size. `ferry verify` then read both sides and',
    'compared them (exit 0 in every case). DynamoDB holds items of at most 400 KB: there the run rejects the row',
    '(exit 4). MariaDB is a private server with `max_allowed_packet` 1 GB (the default 16 MB refuses such rows).',
    '',
  ].join('\n');
}

export function readLargeResults(benchDir: string): LargeResults | undefined {
  return readResults<LargeResults>(join(benchDir, LARGE_RESULTS_FILE));
}

export function writeLargeResults(benchDir: string, results: LargeResults): void {
  writeFileSync(join(benchDir, LARGE_RESULTS_FILE), JSON.stringify(results, null, 2) + '\n');
  writeResultsMarkdown(benchDir);
  console.log(`results written to ${join(benchDir, LARGE_RESULTS_FILE)} and results.md`);
}
