// The results: a table on the terminal, bench/results.json and bench/results.md (which also
// holds the scale curve's, the large-value benchmark's and the live-changes sections, from their JSON files).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseResult, Measurement } from './cases.js';
import type { Environment } from './environment.js';
import { LARGE_RESULTS_FILE, largeMarkdown, type LargeResults } from './large-report.js';
import { FOLLOW_RESULTS_FILE, followMarkdown, type FollowResults } from './follow-report.js';
import { CURVE_RESULTS_FILE, curveMarkdown, type CurveResults } from './curve-report.js';

export interface MemoryPoint {
  rows: number;
  peakRssMb: number;
}

export interface BenchResults {
  environment: Environment;
  dataset: { rows: number; tables: Record<string, number> };
  /** `ferry plan` flags used (none: the plan's defaults). */
  ferryPlanFlags: string[];
  /** Runs per tool and case: the fastest is shown, the ratio is the median over the rounds. */
  repeat: number;
  cases: CaseResult[];
  /** ferry's peak RSS, MariaDB → PostgreSQL, at a tenth of the dataset and at the full dataset. */
  ferryMemory: MemoryPoint[];
}

const HEADERS = ['case', 'tool', 'rows', 'wall s', 'rows/s', 'ratio', 'peak RSS MB', 'indexes/FKs'];
const RIGHT_ALIGNED = new Set(['rows', 'wall s', 'rows/s', 'ratio', 'peak RSS MB', 'indexes/FKs']);

const count = (n: number) => Math.round(n).toLocaleString('en-US');

function row(title: string, m: Measurement, ratio?: number): string[] {
  return [
    title,
    m.tool,
    count(m.rows),
    m.wallSeconds.toFixed(1),
    count(m.rowsPerSecond),
    ratio === undefined ? '' : ratio.toFixed(2),
    m.peakRssMb === undefined ? '' : m.peakRssMb.toFixed(0),
    `${m.indexes}/${m.foreignKeys}`,
  ];
}

function rows(results: BenchResults): string[][] {
  return results.cases.flatMap((c) => [row(c.title, c.ferry, c.ratio), row(c.title, c.reference)]);
}

/** Where the target server ran alone (dynalite), the CPU it and each tool used in every run. */
function cpuLines(results: BenchResults): string[] {
  const perRun = (m: Measurement) =>
    m.runs.map((_, i) => `${m.cpuRuns![i]!.toFixed(1)} / ${m.serverCpuRuns![i]!.toFixed(1)}`).join(', ');
  return results.cases
    .filter((c) => c.ferry.serverCpuRuns && c.reference.serverCpuRuns)
    .map(
      (c) =>
        `${c.title}, CPU seconds of each run (the tool / ${c.ferry.targetDb}): ${c.ferry.tool} ${perRun(c.ferry)}; ${c.reference.tool} ${perRun(c.reference)}.`,
    );
}

function memoryLine(points: MemoryPoint[]): string[] {
  if (points.length === 0) return [];
  return [
    `ferry peak RSS, MariaDB → PostgreSQL: ${points.map((p) => `${p.peakRssMb.toFixed(0)} MB at ${count(p.rows)} rows`).join(', ')}.`,
  ];
}

export function printTable(results: BenchResults): void {
  const body = rows(results);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (RIGHT_ALIGNED.has(HEADERS[i]!) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ');
  console.log(
    [
      '',
      line(HEADERS),
      widths.map((w) => '-'.repeat(w)).join('  '),
      ...body.map(line),
      '',
      ...memoryLine(results.ferryMemory),
    ].join('\n'),
  );
}

function markdown(results: BenchResults): string {
  const e = results.environment;
  const d = results.dataset;
  const tableLine = (cells: string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [
    '# ferry benchmark results',
    '',
    `Measured ${e.measuredAt} on ${e.cpus} × ${e.cpuModel}, ${e.memoryGb} GB RAM, with the database servers on the same machine.`,
    '',
    `Dataset: ${count(d.rows)} rows (${Object.entries(d.tables)
      .map(([table, n]) => `${table} ${count(n)}`)
      .join(', ')}).`,
    `Versions: Node ${e.node}, PostgreSQL ${e.postgres}, MariaDB ${e.mariadb}, SQLite ${e.sqlite}, ${e.pgloader}, ${e.pgDump}; ferry commit ${e.ferryCommit}` +
      (results.ferryPlanFlags.length ? `, planned with ${results.ferryPlanFlags.join(' ')}.` : ', plan defaults.'),
    '',
    tableLine(HEADERS),
    tableLine(HEADERS.map((h) => (RIGHT_ALIGNED.has(h) ? '---:' : '---'))),
    ...rows(results).map(tableLine),
    '',
    ...memoryLine(results.ferryMemory).flatMap((l) => [l, '']),
    ...cpuLines(results).flatMap((l) => [l, '']),
    'Wall time covers the whole load into an empty PostgreSQL database: for ferry `ferry plan` plus `ferry run`,',
    'for the references the tool itself; every tool creates the indexes and foreign keys (last column) and every',
    'target is checked to hold exactly the source row counts and the same values in a sample of rows.',
    `Each tool ran ${results.repeat} time(s) per case, taking turns with the other (a round is one run of each); the`,
    'wall time shown is the fastest run. ratio = ferry wall time / reference wall time within a round, the median over the rounds',
    "(at most 1.00: ferry is faster); the rounds' ratios and every run's wall time are in results.json. This machine's speed",
    'drifts by up to a third over minutes, which moves both runs of a round alike. Peak RSS is the largest resident set of',
    'the tool process (GNU time) over all runs.',
    '',
  ].join('\n');
}

export function readResults<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

/**
 * The `## ` sections of a results.md that no JSON file generates: measurements written by hand
 * (paired A/B runs, profiles), kept as they are when the generated sections are rewritten.
 */
function handWrittenSections(path: string, generated: string[]): string[] {
  if (!existsSync(path)) return [];
  const headingOf = (section: string) => section.slice(0, section.indexOf('\n'));
  const generatedHeadings = new Set(generated.flatMap((g) => g.match(/^## .*$/gm) ?? []));
  return readFileSync(path, 'utf8')
    .split(/^(?=## )/m)
    .filter((s) => s.startsWith('## ') && !generatedHeadings.has(headingOf(s)))
    .map((s) => s.trimEnd() + '\n');
}

/** bench/results.md from the results of the benchmarks, each from its JSON file, and the sections written by hand. */
export function writeResultsMarkdown(benchDir: string): void {
  const main = readResults<BenchResults>(join(benchDir, 'results.json'));
  const large = readResults<LargeResults>(join(benchDir, LARGE_RESULTS_FILE));
  const follow = readResults<FollowResults>(join(benchDir, FOLLOW_RESULTS_FILE));
  const curve = readResults<CurveResults>(join(benchDir, CURVE_RESULTS_FILE));
  const generated = [
    ...(curve ? [curveMarkdown(curve)] : []),
    ...(large ? [largeMarkdown(large)] : []),
    ...(follow ? [followMarkdown(follow)] : []),
  ];
  const path = join(benchDir, 'results.md');
  const sections = [
    main ? markdown(main) : '# ferry benchmark results\n',
    ...handWrittenSections(path, generated),
    ...generated,
  ];
  writeFileSync(path, sections.join('\n'));
}

export function writeResults(benchDir: string, results: BenchResults): void {
  writeFileSync(join(benchDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeResultsMarkdown(benchDir);
  console.log(`results written to ${join(benchDir, 'results.json')} and results.md`);
}
