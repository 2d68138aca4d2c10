// `ferry report [RUN]`: a Markdown and a self-contained HTML record of a run, its verdict first
// (report-data.ts gathers it, report-markdown.ts writes it, report-charts.ts draws it).
import { join, resolve } from 'node:path';
import { Marked } from 'marked';
import { redact } from '../../core/secrets.js';
import { requireRun, StateStore } from '../session/checkpoints.js';
import { writePrivateFile } from '../session/private-files.js';
import { gatherReport, type ReportData } from './report-data.js';
import { throughputChart, timelineChart } from './report-charts.js';
import { reportMarkdown, reportSections, verdictTitle, type ReportSection } from './report-markdown.js';

export interface ReportOptions {
  stateDir?: string;
  runId?: string;
}

export interface ReportFiles {
  runId: string;
  markdown: string;
  html: string;
}

export function writeReport(opts: ReportOptions = {}): ReportFiles {
  const state = new StateStore(resolve(opts.stateDir ?? '.ferry'), { existing: true });
  try {
    const run = requireRun(state, opts.runId);
    const data = gatherReport(state, run);
    const sections = reportSections(data, join(state.dir, 'rejects'));
    const dir = state.folder('reports');
    const mdFile = join(dir, `${run.id}.md`);
    const htmlFile = join(dir, `${run.id}.html`);
    writePrivateFile(mdFile, redact(reportMarkdown(data, sections)));
    writePrivateFile(htmlFile, redact(toHtml(data, sections)));
    return { runId: run.id, markdown: mdFile, html: htmlFile };
  } finally {
    state.close();
  }
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// Text from the source and the target (names, reasons, SQL in findings) is shown, never run as HTML.
const markdown = new Marked({ gfm: true, renderer: { html: ({ text }) => escapeHtml(text) } });

const VERDICT_CLASS: Record<ReportData['verdict']['kind'], string> = {
  verified: 'good',
  mismatches: 'bad',
  'rejected rows': 'warn',
  'not verified': 'warn',
  incomplete: 'bad',
};

function sectionHtml(d: ReportData, s: ReportSection): string {
  if (!s.title) return markdown.parse(s.markdown, { async: false });
  const charts = s.title === 'Timings' ? timelineChart(d) + throughputChart(d.chunks) : '';
  return `<section><h2>${escapeHtml(s.title)}</h2>${charts}${markdown.parse(s.markdown, { async: false })}</section>`;
}

function toHtml(d: ReportData, sections: ReportSection[]): string {
  const title = `ferry run ${d.run.id}`;
  const banner = `<div class="verdict ${VERDICT_CLASS[d.verdict.kind]}"><strong>${escapeHtml(verdictTitle(d))}</strong> ${markdown.parseInline(d.verdict.detail, { async: false })}</div>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:75rem;color:#1b1f24;padding:0 1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td{font-variant-numeric:tabular-nums}tr:last-child td strong{font-weight:700}
code{background:#f6f8fa;padding:0 .2rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #d0d7de}
.verdict{padding:.8rem 1rem;border-radius:6px;margin:1rem 0;font-size:1.05rem}.verdict strong{text-transform:uppercase;margin-right:.6rem}
.good{background:#dafbe1;border:1px solid #1a7f37}.warn{background:#fff8c5;border:1px solid #9a6700}.bad{background:#ffebe9;border:1px solid #cf222e}
figure{margin:1rem 0}figcaption{color:#57606a;font-size:12px}svg{max-width:100%;height:auto}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
${banner}
${sections.map((s) => sectionHtml(d, s)).join('\n')}
</body></html>
`;
}
