// The scale curve's results: a table on the terminal, bench/results-curve.json, a chart
// (bench/curve.svg) and their section of bench/results.md.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Environment } from './environment.js';
import { writeResultsMarkdown } from './report.js';

export interface CurvePoint {
  rows: number;
  wallSeconds: number;
  secondsPerMillion: number;
  peakRssMb: number;
  /** wall time over the raw extraction's (psql COPY … TO STDOUT) at the same size, where there is one */
  ratio?: number;
}

export interface CurveResults {
  environment: Environment;
  series: { title: string; points: CurvePoint[] }[];
}

export const CURVE_RESULTS_FILE = 'results-curve.json';
const CHART_FILE = 'curve.svg';

const millions = (rows: number) =>
  rows >= 1e6 ? `${Number((rows / 1e6).toFixed(1))}M` : `${Number((rows / 1e3).toFixed(1))}k`;
const HEADERS = ['case', 'rows', 'wall s', 's per 1M rows', 'peak RSS MB', 'ratio to raw extraction'];

function rows(results: CurveResults): string[][] {
  return results.series.flatMap((s) =>
    s.points.map((p) => [
      s.title,
      millions(p.rows),
      p.wallSeconds.toFixed(1),
      p.secondsPerMillion.toFixed(2),
      p.peakRssMb.toFixed(0),
      p.ratio?.toFixed(2) ?? '',
    ]),
  );
}

export function printCurveTable(results: CurveResults): void {
  const body = rows(results);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(['', line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), ''].join('\n'));
}

const COLORS = ['#1f77b4', '#d62728'];

/** Two panels side by side, rows on a logarithmic axis: seconds per million rows, and peak RSS (with the 200 MB goal). */
function chart(results: CurveResults): string {
  const all = results.series.flatMap((s) => s.points);
  const xs = [...new Set(all.map((p) => p.rows))].sort((a, b) => a - b);
  const [w, h, left, top, bottom] = [360, 240, 50, 30, 40];
  const logMin = Math.log10(xs[0]!);
  const logSpan = Math.max(Math.log10(xs.at(-1)!) - logMin, 1e-9);
  const x = (rows: number) => left + ((Math.log10(rows) - logMin) / logSpan) * (w - left - 20);
  const panel = (offset: number, title: string, value: (p: CurvePoint) => number, floor: number, goal?: number) => {
    const max = Math.max(floor, ...all.map(value)) * 1.15;
    const y = (v: number) => top + (1 - v / max) * (h - top - bottom);
    const parts = [
      `<g transform="translate(${offset},0)">`,
      `<text x="${w / 2}" y="16" text-anchor="middle" font-size="13">${title}</text>`,
      `<line x1="${left}" y1="${y(0)}" x2="${w - 20}" y2="${y(0)}" stroke="#888"/>`,
      `<line x1="${left}" y1="${top}" x2="${left}" y2="${y(0)}" stroke="#888"/>`,
      ...[0, 0.25, 0.5, 0.75, 1].map(
        (f) =>
          `<text x="${left - 4}" y="${y(max * f) + 4}" text-anchor="end" font-size="10">${(max * f).toFixed(max * f >= 10 ? 0 : 1)}</text>`,
      ),
      ...xs.map(
        (r) => `<text x="${x(r)}" y="${h - bottom + 14}" text-anchor="middle" font-size="10">${millions(r)}</text>`,
      ),
      `<text x="${w / 2}" y="${h - 6}" text-anchor="middle" font-size="11">rows</text>`,
    ];
    if (goal !== undefined)
      parts.push(
        `<line x1="${left}" y1="${y(goal)}" x2="${w - 20}" y2="${y(goal)}" stroke="#2ca02c" stroke-dasharray="4 3"/>`,
        `<text x="${w - 22}" y="${y(goal) - 4}" text-anchor="end" font-size="10" fill="#2ca02c">goal ${goal} MB</text>`,
      );
    results.series.forEach((s, i) => {
      const points = s.points.map((p) => `${x(p.rows).toFixed(1)},${y(value(p)).toFixed(1)}`);
      parts.push(
        `<polyline fill="none" stroke="${COLORS[i]}" stroke-width="2" points="${points.join(' ')}"/>`,
        ...s.points.map(
          (p) => `<circle cx="${x(p.rows).toFixed(1)}" cy="${y(value(p)).toFixed(1)}" r="3" fill="${COLORS[i]}"/>`,
        ),
      );
    });
    parts.push('</g>');
    return parts.join('\n');
  };
  const legend = results.series.map(
    (s, i) =>
      `<rect x="${60 + i * 260}" y="${h + 4}" width="12" height="12" fill="${COLORS[i]}"/><text x="${78 + i * 260}" y="${h + 14}" font-size="12">${s.title}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * w}" height="${h + 24}" font-family="sans-serif">`,
    '<rect width="100%" height="100%" fill="white"/>',
    panel(0, 'seconds per million rows', (p) => p.secondsPerMillion, 1),
    panel(w, 'peak RSS, MB', (p) => p.peakRssMb, 200, 200),
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}

/** The section of bench/results.md. */
export function curveMarkdown(results: CurveResults): string {
  const e = results.environment;
  const tableLine = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    '## Scale curve (`BENCH_CASES=curve npm run bench`)',
    '',
    `Measured ${e.measuredAt} on ${e.cpus} × ${e.cpuModel}, ${e.memoryGb} GB RAM, shared at the time with other`,
    `work (up to 8 jobs building and testing at once): absolute times are noisy, the flatness is the point; ferry commit ${e.ferryCommit}.`,
    '',
    `![seconds per million rows and peak RSS at each size](${CHART_FILE})`,
    '',
    tableLine(HEADERS),
    tableLine(HEADERS.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows(results).map(tableLine),
    '',
    'The benchmark dataset (customers, orders, order_items: 10/30/60% of the rows, with indexes and foreign keys)',
    'generated server-side at each size; one `ferry plan` + `ferry run` per case and size. MariaDB → PostgreSQL',
    'loads an empty database with its indexes and foreign keys; PostgreSQL → Parquet writes zstd Parquet files to a',
    "folder, then `psql -c 'COPY … TO STDOUT'` reads the same tables to /dev/null: the ratio is ferry's wall time over",
    'that one run of the raw extraction. Peak RSS is the larger of the two ferry processes (GNU time); the goal is',
    'under 200 MB at every size.',
    '',
  ].join('\n');
}

export function writeCurveResults(benchDir: string, results: CurveResults): void {
  writeFileSync(join(benchDir, CURVE_RESULTS_FILE), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(benchDir, CHART_FILE), chart(results));
  writeResultsMarkdown(benchDir);
}
