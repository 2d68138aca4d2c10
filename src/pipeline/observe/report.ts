// `ferry report [RUN]`: a Markdown and a self-contained HTML record of a run: plan summary,
// findings, timings per table and phase, rows/s, rejects and the verification result.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parsePlan, type Plan } from '../../core/plan.js';
import { redact } from '../../core/secrets.js';
import { redactUrl } from '../../core/url.js';
import { requireRun, StateStore } from '../session/checkpoints.js';
import { writePrivateFile } from '../session/private-files.js';

export interface ReportOptions {
  stateDir?: string;
  runId?: string;
}

export interface ReportFiles {
  runId: string;
  markdown: string;
  html: string;
}

type Cell = string | number;

function table(head: string[], rows: Cell[][]): string {
  if (rows.length === 0) return '_none_\n';
  const esc = (c: Cell) => String(c).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return (
    [
      '',
      `| ${head.join(' | ')} |`,
      `| ${head.map(() => '---').join(' | ')} |`,
      ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
    ].join('\n') + '\n'
  );
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}

export function writeReport(opts: ReportOptions = {}): ReportFiles {
  const state = new StateStore(resolve(opts.stateDir ?? '.ferry'), { existing: true });
  try {
    const run = requireRun(state, opts.runId);
    let plan: Plan | undefined;
    try {
      plan = parsePlan(readFileSync(run.planFile, 'utf8'), run.planFile);
    } catch {
      plan = undefined;
    }
    const phases = state.phases(run.id);
    const findings = state.findings(run.id);
    const rejects = state.rejects(run.planHash);
    const verification = state.latestVerification(run.planHash);
    const tables = plan ? plan.waves.flatMap((w, i) => w.tables.map((t) => ({ t, wave: i + 1 }))) : [];
    const md: string[] = [];
    md.push(`# ferry run ${run.id}\n`);
    md.push(
      table(
        ['', 'run'],
        [
          ['plan', `${run.planFile} (hash ${run.planHash})`],
          ['source', plan ? redactUrl(plan.source.url) : '?'],
          ['target', plan ? redactUrl(plan.target.url) : '?'],
          ['started', run.started],
          ['finished', run.finished ?? '(not finished)'],
          ['status', run.status + (run.error ? `: ${run.error}` : '')],
        ],
      ),
    );
    md.push('\n## Plan\n');
    md.push(
      table(
        ['wave', 'source table', 'target table', 'columns', 'chunk key', 'rows (estimate)'],
        tables.map(({ t, wave }) => [
          wave,
          t.source,
          t.target,
          t.columns.filter((c) => !c.exclude).length,
          t.chunking.key.join(', ') || '(one chunk)',
          t.rowEstimate ?? '?',
        ]),
      ),
    );
    if (plan)
      md.push(
        `\nparallelism ${plan.settings.parallelism}, batch ${plan.settings.batchRows} rows, error budget ${plan.settings.maxRejects} rejected rows, zero dates: ${plan.source.zeroDates}\n`,
      );
    md.push('\n## Findings\n');
    md.push(
      table(
        ['severity', 'where', 'finding', 'action'],
        findings.map((f) => [f.severity, [f.table, f.column].filter(Boolean).join('.'), f.message, f.action]),
      ),
    );
    md.push('\n## Timings\n');
    const byTable = new Map<string, typeof phases>();
    for (const p of phases) byTable.set(p.table, [...(byTable.get(p.table) ?? []), p]);
    const timingRows: Cell[][] = [];
    for (const [name, ps] of byTable) {
      const copy = ps.find((p) => p.phase === 'copy');
      const secs = (p?: { started: number; finished: number }) => (p ? seconds(p.finished - p.started) : '');
      timingRows.push([
        name,
        secs(ps.find((p) => p.phase === 'prepare')),
        secs(copy),
        secs(ps.find((p) => p.phase === 'indexes')),
        secs(ps.find((p) => p.phase === 'foreign keys')),
        copy?.rows ?? 0,
        copy && copy.finished > copy.started ? Math.round((copy.rows * 1000) / (copy.finished - copy.started)) : '',
      ]);
    }
    md.push(
      table(['table', 'prepare s', 'copy s', 'indexes s', 'foreign keys s', 'rows copied', 'rows/s'], timingRows),
    );
    const total =
      phases.length > 0 ? Math.max(...phases.map((p) => p.finished)) - Math.min(...phases.map((p) => p.started)) : 0;
    const rows = phases.filter((p) => p.phase === 'copy').reduce((n, p) => n + p.rows, 0);
    md.push(
      `\nTotal: ${rows} rows copied by this run in ${seconds(total)} s${total > 0 ? ` (${Math.round((rows * 1000) / total)} rows/s)` : ''}.\n`,
    );
    // chunks runs before this one had copied: this run resumed after them and did not copy them again
    const earlier = new Set(
      state
        .runsOf(run.planHash, 'run')
        .filter((r) => r.started < run.started)
        .map((r) => r.id),
    );
    const resumed = tables
      .map(({ t }) => {
        const chunks = state.chunks(run.planHash, t.target).filter((c) => c.runId && earlier.has(c.runId));
        return { table: t.target, chunks: chunks.length, rows: chunks.reduce((n, c) => n + c.rows, 0) };
      })
      .filter((r) => r.chunks > 0);
    if (resumed.length > 0) {
      md.push(
        `\nThis run resumed after ${resumed.reduce((n, r) => n + r.chunks, 0)} chunks (${resumed.reduce((n, r) => n + r.rows, 0)} rows) copied by earlier runs; the rates above count only the rows it copied itself.\n`,
      );
      md.push(
        table(
          ['table', 'chunks resumed', 'rows resumed'],
          resumed.map((r) => [r.table, r.chunks, r.rows]),
        ),
      );
    }
    md.push('\n## Rejected rows\n');
    md.push(
      table(
        ['table', 'chunk', 'reason'],
        rejects.slice(0, 50).map((r) => [r.table, r.chunk, r.reason]),
      ),
    );
    if (rejects.length > 50) md.push(`\n…and ${rejects.length - 50} more (see ${join(state.dir, 'rejects')}).\n`);
    md.push('\n## Verification\n');
    if (!verification) md.push('_not verified yet: run `ferry verify PLAN`_\n');
    else {
      md.push(`Verified at ${verification.run.started}: **${verification.run.status}**\n\n`);
      md.push(
        table(
          ['table', 'status', 'source rows', 'target rows', 'chunks', 'mismatched chunks', 'rejected'],
          verification.results.map((v) => [
            v.table,
            v.status,
            v.sourceRows,
            v.targetRows,
            v.chunks,
            v.mismatchedChunks,
            v.rejected,
          ]),
        ),
      );
      const samples = verification.results.flatMap((v) => v.sample.map((s) => [v.table, s] as Cell[]));
      if (samples.length > 0) md.push('\nDiffering rows (sample):\n\n' + table(['table', 'difference'], samples));
    }
    const markdown = redact(md.join(''));
    const dir = state.folder('reports');
    const mdFile = join(dir, `${run.id}.md`);
    const htmlFile = join(dir, `${run.id}.html`);
    writePrivateFile(mdFile, markdown);
    writePrivateFile(htmlFile, toHtml(markdown, `ferry run ${run.id}`));
    return { runId: run.id, markdown: mdFile, html: htmlFile };
  } finally {
    state.close();
  }
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function inline(s: string): string {
  return escapeHtml(s)
    .replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')
    .replace(/`(.+?)`/g, '<code>$1</code>')
    .replace(/\b_(.+?)_\b/g, '<em>$1</em>');
}

/** Renders the small Markdown subset the report uses (headings, tables, paragraphs). */
function toHtml(markdown: string, title: string): string {
  const out: string[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i]!.startsWith('|')) {
        rows.push(
          lines[i]!.slice(1, -1)
            .split(/(?<!\\)\|/)
            .map((c) => c.trim().replace(/\\\|/g, '|')),
        );
        i++;
      }
      i--;
      const [head, , ...body] = rows;
      out.push(
        '<table><thead><tr>' +
          head!.map((c) => `<th>${inline(c)}</th>`).join('') +
          '</tr></thead><tbody>' +
          body
            .map(
              (r) =>
                '<tr>' +
                r
                  .map(
                    (c) =>
                      `<td class="${/^[\d.]+$/.test(c) ? 'n' : ''}${c === 'mismatch' || c === 'error' ? ' bad' : c === 'match' ? ' good' : ''}">${inline(c)}</td>`,
                  )
                  .join('') +
                '</tr>',
            )
            .join('') +
          '</tbody></table>',
      );
    } else if (line.startsWith('## ')) out.push(`<h2>${inline(line.slice(3))}</h2>`);
    else if (line.startsWith('# ')) out.push(`<h1>${inline(line.slice(2))}</h1>`);
    else if (line.trim()) out.push(`<p>${inline(line)}</p>`);
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:75rem;color:#1b1f24;padding:0 1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}td.bad{color:#b42318;font-weight:600}td.good{color:#1a7f37;font-weight:600}
code{background:#f6f8fa;padding:0 .2rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #d0d7de}
</style></head><body>
${out.join('\n')}
</body></html>
`;
}
