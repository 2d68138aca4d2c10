// The report as Markdown: the verdict first, then the run, the plan, findings, timings,
// rejected rows and verification, in sections the HTML form renders one by one.
import { redactUrl } from '../../core/url.js';
import type { CommandSteps, ReportData } from './report-data.js';

type Cell = string | number;

/** A whole number with thousands separators; other values as they are. */
export function count(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : String(n);
}

function seconds(ms: number): string {
  return (ms / 1000).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function table(head: string[], rows: Cell[][], totals?: Cell[]): string {
  if (rows.length === 0) return '_none_\n';
  const cell = (c: Cell) =>
    (typeof c === 'number' ? count(c) : c).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const line = (r: Cell[]) => `| ${r.map(cell).join(' | ')} |`;
  const all = totals ? [...rows, totals.map((c, i) => (i === 0 ? `**${cell(c)}**` : c))] : rows;
  return ['', line(head), `| ${head.map(() => '---').join(' | ')} |`, ...all.map(line)].join('\n') + '\n';
}

export interface ReportSection {
  /** the section's heading; undefined for the run's own table under the headline */
  title?: string;
  markdown: string;
}

export const VERDICT_TITLE: Record<ReportData['verdict']['kind'], string> = {
  verified: 'migrated and verified',
  mismatches: 'mismatches',
  'rejected rows': 'rejected rows',
  'not verified': 'copied, not verified',
  incomplete: 'incomplete',
};

export function verdictTitle(d: ReportData): string {
  return VERDICT_TITLE[d.verdict.kind];
}

/** The title and the verdict, above every section. */
export function headline(d: ReportData): string {
  return `# ferry run ${d.run.id}\n\n**Verdict: ${verdictTitle(d)}.** ${d.verdict.detail}.\n`;
}

function runSection(d: ReportData): string {
  const { run, plan } = d;
  return table(
    ['', 'run'],
    [
      ['plan', `${run.planFile} (hash ${run.planHash})`],
      ['source', plan ? redactUrl(plan.source.url) : '?'],
      ['target', plan ? redactUrl(plan.target.url) : '?'],
      ['started', run.started],
      ['finished', run.finished ?? '(not finished)'],
      ['status', run.status + (run.error ? `: ${run.error}` : '')],
    ],
  );
}

function planSection(d: ReportData): string {
  const estimates = d.tables.map(({ t }) => t.rowEstimate);
  return (
    table(
      ['wave', 'source table', 'target table', 'columns', 'chunk key', 'rows (estimate)'],
      d.tables.map(({ t, wave }) => [
        wave,
        t.source,
        t.target,
        t.columns.filter((c) => !c.exclude).length,
        t.chunking.key.join(', ') || '(one chunk)',
        t.rowEstimate ?? '?',
      ]),
      estimates.every((e) => e !== undefined)
        ? ['total', '', `${d.tables.length} tables`, '', '', estimates.reduce<number>((n, e) => n + (e ?? 0), 0)]
        : undefined,
    ) +
    (d.plan
      ? `\nparallelism ${count(d.plan.settings.parallelism)}, batch ${count(d.plan.settings.batchRows)} rows, error budget ${count(d.plan.settings.maxRejects)} rejected rows, zero dates: ${d.plan.source.zeroDates}\n`
      : '')
  );
}

function findingsSection(d: ReportData): string {
  return table(
    ['severity', 'where', 'finding', 'action'],
    d.findings.map((f) => [f.severity, [f.table, f.column].filter(Boolean).join('.'), f.message, f.action]),
  );
}

const rate = (rows: number, ms: number): Cell => (ms > 0 ? Math.round((rows * 1000) / ms) : '');

function timingsSection(d: ReportData): string {
  const byTable = new Map<string, ReportData['phases']>();
  for (const p of d.phases) byTable.set(p.table, [...(byTable.get(p.table) ?? []), p]);
  const length = (p?: { started: number; finished: number }) => (p ? p.finished - p.started : 0);
  const secs = (p?: { started: number; finished: number }) => (p ? seconds(length(p)) : '');
  // the phases the run went through, in their order (a target names its own: object storage's
  // manifest, no foreign keys into DynamoDB)
  const phases = [...new Set(d.phases.map((p) => p.phase))];
  const rows: Cell[][] = [...byTable].map(([name, ps]) => {
    const copy = ps.find((p) => p.phase === 'copy');
    return [
      name,
      ...phases.map((phase) => secs(ps.find((p) => p.phase === phase))),
      copy?.rows ?? 0,
      rate(copy?.rows ?? 0, length(copy)),
    ];
  });
  const total =
    d.phases.length > 0
      ? Math.max(...d.phases.map((p) => p.finished)) - Math.min(...d.phases.map((p) => p.started))
      : 0;
  const copied = d.phases.filter((p) => p.phase === 'copy').reduce((n, p) => n + p.rows, 0);
  let md = table(['table', ...phases.map((phase) => `${phase} s`), 'rows copied', 'rows/s'], rows, [
    'total',
    ...phases.map(() => ''),
    copied,
    rate(copied, total),
  ]);
  md += `\nTotal: ${count(copied)} rows copied by this run in ${seconds(total)} s${total > 0 ? ` (${count(Math.round((copied * 1000) / total))} rows/s)` : ''}.\n`;
  if (d.resumed.length > 0) {
    const chunks = d.resumed.reduce((n, r) => n + r.chunks, 0);
    const resumedRows = d.resumed.reduce((n, r) => n + r.rows, 0);
    md += `\nThis run resumed after ${count(chunks)} chunks (${count(resumedRows)} rows) copied by earlier runs; the rates above count only the rows it copied itself.\n`;
    md += table(
      ['table', 'chunks resumed', 'rows resumed'],
      d.resumed.map((r) => [r.table, r.chunks, r.rows]),
    );
  }
  return md;
}

function rejectsSection(d: ReportData, rejectsDir: string): string {
  const shown = 50;
  return (
    table(
      ['table', 'chunk', 'reason'],
      d.rejects.slice(0, shown).map((r) => [r.table, r.chunk, r.reason]),
    ) + (d.rejects.length > shown ? `\n…and ${count(d.rejects.length - shown)} more (see ${rejectsDir}).\n` : '')
  );
}

function verificationSection(d: ReportData): string {
  const v = d.verification;
  if (!v) return `_not verified yet: run \`ferry verify ${d.run.planFile}\`_\n`;
  const results = v.results;
  const sum = (pick: (r: (typeof results)[number]) => number) => results.reduce((n, r) => n + pick(r), 0);
  let md = `Verified at ${v.run.started}: **${v.run.status}**${d.verificationStale ? ' (before this run finished: verify again)' : ''}\n`;
  md += table(
    ['table', 'status', 'source rows', 'target rows', 'chunks', 'mismatched chunks', 'rejected'],
    v.results.map((r) => [r.table, r.status, r.sourceRows, r.targetRows, r.chunks, r.mismatchedChunks, r.rejected]),
    [
      'total',
      '',
      sum((r) => r.sourceRows),
      sum((r) => r.targetRows),
      sum((r) => r.chunks),
      sum((r) => r.mismatchedChunks),
      sum((r) => r.rejected),
    ],
  );
  const samples = v.results.flatMap((r) => r.sample.map((s) => [r.table, s] as Cell[]));
  if (samples.length > 0) md += '\nDiffering rows (sample):\n' + table(['table', 'difference'], samples);
  return md;
}

/** A command's run and its steps, headed `<what> <run id>: <status>`. */
function stepsSection(what: string, c: CommandSteps): string {
  return (
    `${what} ${c.run.id}: **${c.run.status}**${c.run.error ? ` (${c.run.error})` : ''}\n` +
    table(
      ['time', 'step'],
      c.steps.map((s) => [s.time, s.event]),
    )
  );
}

function followSection(f: NonNullable<ReportData['follow']>): string {
  const { stream } = f;
  const lag =
    stream.committed && stream.appliedAt
      ? `${seconds(Math.max(0, Date.parse(stream.appliedAt) - Date.parse(stream.committed)))} s`
      : '';
  let md = table(
    ['', 'live changes'],
    [
      ["stream start (the copy's snapshot)", stream.start],
      ['applied up to', stream.applied ?? '(nothing applied yet)'],
      ['applied at', stream.appliedAt ?? ''],
      ['lag of the last batch', lag],
      ['row changes applied (every run)', stream.changes],
      ['live changes rejected (every run)', f.rejects],
      ...(f.run
        ? ([
            ['this run: transactions applied', f.run.transactions],
            ['this run: row changes applied', f.run.changes],
            ['this run: row changes rejected', f.run.rejects],
            ['this run: stopped at', f.run.position],
          ] as Cell[][])
        : []),
      ...(f.addedColumns.length > 0
        ? [['columns added on the source (make the plan again before a fresh run)', f.addedColumns.join(', ')]]
        : []),
    ],
  );
  if (stream.counts.length > 0)
    md +=
      '\nRow changes applied, by table and operation:\n' +
      table(
        ['table', 'operation', 'changes'],
        stream.counts.map((c) => [c.table, c.op, c.changes]),
      );
  return md;
}

export function reportSections(d: ReportData, rejectsDir: string): ReportSection[] {
  return [
    { markdown: runSection(d) },
    { title: 'Plan', markdown: planSection(d) },
    { title: 'Findings', markdown: findingsSection(d) },
    { title: 'Timings', markdown: timingsSection(d) },
    ...(d.follow ? [{ title: 'Live changes', markdown: followSection(d.follow) }] : []),
    { title: 'Rejected rows', markdown: rejectsSection(d, rejectsDir) },
    { title: 'Verification', markdown: verificationSection(d) },
    ...(d.cutover ? [{ title: 'Cutover', markdown: stepsSection('Cutover', d.cutover) }] : []),
    ...(d.wayBack.length > 0
      ? [
          {
            title: 'The way back',
            markdown: d.wayBack.map((c) => stepsSection(`ferry ${c.run.command}`, c)).join('\n'),
          },
        ]
      : []),
  ];
}

export function reportMarkdown(d: ReportData, sections: ReportSection[]): string {
  return headline(d) + sections.map((s) => (s.title ? `\n## ${s.title}\n${s.markdown}` : s.markdown)).join('');
}
