// The report's charts as inline SVG, so the HTML stays one file that loads nothing: a timeline
// of each table's phases, and the rows written per second over the run.
import type { ChunkWritten, ReportData } from './report-data.js';
import { count } from './report-markdown.js';

const WIDTH = 900;
const LABEL = 180;
const PLOT = WIDTH - LABEL - 20;
const ROW = 20;

const PHASE_COLOURS: Record<string, string> = {
  prepare: '#8c959f',
  copy: '#0969da',
  indexes: '#8250df',
  manifest: '#8250df',
  analyze: '#1a7f37',
  'foreign keys': '#bc4c00',
};
const OTHER_PHASE = '#57606a';

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function shortLabel(s: string): string {
  return s.length > 26 ? `${s.slice(0, 25)}…` : s;
}

/** Round steps for an axis from 0 to at least `max`: about five ticks. */
function ticks(max: number): number[] {
  if (max <= 0) return [0];
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; out.at(-1) === undefined || out.at(-1)! < max; v += step) out.push(v);
  return out;
}

function secondsLabel(ms: number): string {
  return `${(ms / 1000).toLocaleString('en-US', { maximumFractionDigits: 2 })} s`;
}

/** Each table's phases on one time axis, from the run's first phase to its last. */
export function timelineChart(d: ReportData): string {
  if (d.phases.length === 0) return '';
  const start = Math.min(...d.phases.map((p) => p.started));
  const span = Math.max(1, Math.max(...d.phases.map((p) => p.finished)) - start);
  const tables = [...new Set(d.phases.map((p) => p.table))];
  const x = (ms: number) => LABEL + ((ms - start) / span) * PLOT;
  const top = 24;
  const height = top + tables.length * ROW + 30;
  const bars = d.phases.map((p) => {
    const y = top + tables.indexOf(p.table) * ROW + 3;
    const w = Math.max(1, x(p.finished) - x(p.started));
    return `<rect x="${x(p.started).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${ROW - 6}" fill="${PHASE_COLOURS[p.phase] ?? OTHER_PHASE}"><title>${escapeXml(`${p.table}: ${p.phase} ${secondsLabel(p.finished - p.started)}${p.rows ? `, ${count(p.rows)} rows` : ''}`)}</title></rect>`;
  });
  const labels = tables.map(
    (t, i) =>
      `<text x="${LABEL - 8}" y="${top + i * ROW + ROW / 2 + 4}" text-anchor="end">${escapeXml(shortLabel(t))}</text>`,
  );
  const axisY = top + tables.length * ROW + 4;
  const axis = ticks(span)
    .filter((v) => v <= span)
    .map(
      (v) =>
        `<line x1="${x(start + v).toFixed(1)}" y1="${top}" x2="${x(start + v).toFixed(1)}" y2="${axisY}" stroke="#d0d7de"/><text x="${x(start + v).toFixed(1)}" y="${axisY + 14}" text-anchor="middle">${secondsLabel(v)}</text>`,
    );
  const phases = [...new Set(d.phases.map((p) => p.phase))];
  const legend = phases.map(
    (p, i) =>
      `<rect x="${LABEL + i * 130}" y="4" width="12" height="12" fill="${PHASE_COLOURS[p] ?? OTHER_PHASE}"/><text x="${LABEL + i * 130 + 16}" y="14">${escapeXml(p)}</text>`,
  );
  return svg('timeline', 'Phases of each table over the run', height, [...axis, ...bars, ...labels, ...legend]);
}

/** Rows written per second, in equal slices of the run's time, from the chunks it wrote. */
export function throughputChart(chunks: ChunkWritten[]): string {
  if (chunks.length < 2) return '';
  const start = Math.min(...chunks.map((c) => c.at));
  const span = Math.max(...chunks.map((c) => c.at)) - start;
  if (span <= 0) return '';
  const slices = Math.min(60, Math.max(5, Math.ceil(chunks.length / 4)));
  const sliceMs = span / slices;
  const rows = new Array<number>(slices).fill(0);
  for (const c of chunks) rows[Math.min(slices - 1, Math.floor((c.at - start) / sliceMs))]! += c.rows;
  const rates = rows.map((r) => (r * 1000) / sliceMs);
  const { top, plotHeight, y, grid } = valueAxis(Math.max(...rates), (v) => count(Math.round(v)));
  const x = (i: number) => LABEL + (i / slices) * PLOT;
  const points = rates.flatMap((r, i) => [
    `${x(i).toFixed(1)},${y(r).toFixed(1)}`,
    `${x(i + 1).toFixed(1)},${y(r).toFixed(1)}`,
  ]);
  const area = `<polygon points="${x(0)},${y(0)} ${points.join(' ')} ${x(slices)},${y(0)}" fill="#0969da" fill-opacity="0.25" stroke="#0969da"/>`;
  const unit = `<text x="${LABEL - 8}" y="${top - 8}" text-anchor="end">rows/s</text>`;
  return svg('throughput', 'Rows written per second over the run', top + plotHeight + 26, [
    ...grid,
    area,
    ...timeAxis(span, top + plotHeight + 16),
    unit,
  ]);
}

/** A value over time as a line (the dashboard's lag of live changes); `points` in order of time. */
export function lineChart(id: string, title: string, unit: string, points: { at: number; value: number }[]): string {
  if (points.length < 2) return '';
  const start = points[0]!.at;
  const span = points.at(-1)!.at - start;
  if (span <= 0) return '';
  const { top, plotHeight, y, grid } = valueAxis(Math.max(...points.map((p) => p.value)), (v) =>
    v.toLocaleString('en-US', { maximumFractionDigits: 2 }),
  );
  const x = (at: number) => LABEL + ((at - start) / span) * PLOT;
  const line = `<polyline points="${points.map((p) => `${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')}" fill="none" stroke="#bc4c00" stroke-width="2"/>`;
  const unitLabel = `<text x="${LABEL - 8}" y="${top - 8}" text-anchor="end">${escapeXml(unit)}</text>`;
  return svg(id, title, top + plotHeight + 26, [...grid, line, ...timeAxis(span, top + plotHeight + 16), unitLabel]);
}

/** A vertical axis from 0 to at least `max`, its grid lines and labels, and where a value goes on it. */
function valueAxis(max: number, label: (v: number) => string) {
  const axisTicks = ticks(max);
  const top = 20;
  const plotHeight = 160;
  const scale = axisTicks.at(-1)! || 1;
  const y = (v: number) => top + plotHeight - (v / scale) * plotHeight;
  const grid = axisTicks.map(
    (v) =>
      `<line x1="${LABEL}" y1="${y(v).toFixed(1)}" x2="${LABEL + PLOT}" y2="${y(v).toFixed(1)}" stroke="#d0d7de"/><text x="${LABEL - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${label(v)}</text>`,
  );
  return { top, plotHeight, y, grid };
}

/** Labels of elapsed time under a plot that spans `span` milliseconds. */
function timeAxis(span: number, labelY: number): string[] {
  return ticks(span)
    .filter((v) => v <= span)
    .map(
      (v) =>
        `<text x="${(LABEL + (v / span) * PLOT).toFixed(1)}" y="${labelY}" text-anchor="middle">${secondsLabel(v)}</text>`,
    );
}

function svg(id: string, title: string, height: number, parts: string[]): string {
  return `<figure><svg id="${id}" role="img" aria-label="${escapeXml(title)}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" font-size="11" font-family="system-ui,sans-serif" fill="#1b1f24">${parts.join('')}</svg><figcaption>${escapeXml(title)}</figcaption></figure>`;
}
