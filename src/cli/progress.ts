// Progress of a run: a line per table on a terminal, fitted to 80 columns, and plain log lines
// otherwise. Numbers are abbreviated (12.3k, 4.5M) rather than cut; an ETA is shown only once a
// table's own rate gives one.
import cliProgress from 'cli-progress';
import type { RunEvent } from '../pipeline/copy/events.js';

interface TableProgress {
  rows: number;
  /** rows earlier runs copied: not in this run's rate */
  resumed: number;
  total: number;
  /** when this run began copying the table: its rate counts from there, not from the run's start */
  started?: number;
  bar?: cliProgress.SingleBar;
}

const WIDTH = 80;
const NAME = 16;
const BAR = 12;

/** Rows a second this run copies into the table since it began on it (rows earlier runs copied left out). */
function rate(p: TableProgress): number {
  if (p.started === undefined) return 0;
  return (p.rows - p.resumed) / Math.max(0.001, (Date.now() - p.started) / 1000);
}

/** 950, 12.3k, 4.5M, 1.2G: at most five characters. */
export function abbreviate(n: number): string {
  const units = ['', 'k', 'M', 'G', 'T'];
  let i = 0;
  while (Math.abs(n) >= 999.5 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return i === 0 ? String(Math.round(n)) : `${n < 9.95 ? n.toFixed(1) : Math.round(n)}${units[i]}`;
}

/** 45s, 12m05s, 3h07m; empty when there is nothing to go by yet. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function eta(p: TableProgress): string {
  const r = rate(p);
  if (r === 0 || p.total <= p.rows) return '';
  return duration((p.total - p.rows) / r);
}

/** A name in `width` characters: cut in the middle with an ellipsis, so its start and end both show. */
export function fitName(name: string, width: number): string {
  if (name.length <= width) return name.padEnd(width);
  const head = Math.ceil((width - 1) / 2);
  return `${name.slice(0, head)}…${name.slice(name.length - (width - 1 - head))}`;
}

/** One table's line, at most 80 columns: name, bar, percent, rows, rate, ETA and phase. */
export function progressLine(
  name: string,
  rows: number,
  total: number,
  rowsPerSecond: number,
  etaText: string,
  phase: string,
): string {
  const fraction = total > 0 ? Math.min(1, rows / total) : 0;
  const filled = Math.round(fraction * BAR);
  const line = [
    fitName(name, NAME),
    '█'.repeat(filled) + '░'.repeat(BAR - filled),
    `${Math.floor(fraction * 100)}%`.padStart(4),
    `${abbreviate(rows)}/${abbreviate(total)}`.padStart(11),
    rowsPerSecond > 0 ? `${abbreviate(rowsPerSecond)}/s`.padStart(7) : ''.padStart(7),
    etaText ? `ETA ${etaText}`.padEnd(10) : ''.padEnd(10),
    phase,
  ].join(' ');
  return line.length > WIDTH ? line.slice(0, WIDTH - 1) + '…' : line.trimEnd();
}

export interface ProgressReporter {
  onEvent: (e: RunEvent) => void;
  /** ends the bars (idempotent) */
  stop: () => void;
}

export function progressReporter(write: (line: string) => void, tty: boolean): ProgressReporter {
  const tables = new Map<string, TableProgress>();
  const multi = tty
    ? new cliProgress.MultiBar(
        {
          format: (_options, params, payload: { table: string; rate: number; eta: string; phase: string }) =>
            progressLine(payload.table, params.value, params.total, payload.rate, payload.eta, payload.phase),
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_grey,
      )
    : undefined;
  let stopped = false;
  let lastLine = 0;
  const applied = { changes: 0, transactions: 0 };
  const onEvent = (e: RunEvent) => {
    if (e.type === 'start') {
      const chunksDone = e.tables.reduce((n, t) => n + t.chunksDone, 0);
      if (chunksDone > 0)
        write(
          `resuming: ${chunksDone} chunks (${e.tables.reduce((n, t) => n + t.rowsDone, 0)} rows) were copied by earlier runs and are not copied again`,
        );
      for (const t of e.tables) {
        const p: TableProgress = {
          rows: t.rowsDone,
          resumed: t.rowsDone,
          total: Math.max(t.rowsEstimate, t.rowsDone),
        };
        p.bar = multi?.create(p.total, p.rows, { table: t.name, rate: 0, phase: 'waiting', eta: '' });
        tables.set(t.name, p);
      }
      if (!tty) write(`run ${e.runId}: ${e.tables.length} tables`);
      return;
    }
    if (e.type === 'chunks') {
      if (!tty) write(`${e.table}: ${e.chunks} chunks${e.done > 0 ? `, ${e.done} copied by earlier runs` : ''}`);
      return;
    }
    if (e.type === 'paused' || e.type === 'resumed') {
      const line =
        e.type === 'paused'
          ? `paused outside the schedule windows${e.until ? ` until ${e.until}` : ''}`
          : 'resumed: a schedule window opened';
      if (multi) multi.log(line + '\n');
      else write(line);
      return;
    }
    if (e.type === 'following') {
      stop();
      write(
        `following live changes from ${e.from} (Ctrl-C stops once the batch in hand is applied; the same command goes on)`,
      );
      return;
    }
    if (e.type === 'applied') {
      applied.changes += e.changes;
      applied.transactions += e.transactions;
      if (Date.now() - lastLine > 5000) {
        lastLine = Date.now();
        const lag = e.lagSeconds === undefined ? '' : `, lag ${e.lagSeconds.toFixed(1)} s`;
        write(`applied ${applied.changes} changes in ${applied.transactions} transactions${lag}, at ${e.position}`);
      }
      return;
    }
    const p = tables.get(e.table);
    if (e.type === 'phase') {
      // the rate counts from the table's copy, so a table that waited for its wave is not made slow by the wait
      if (p && e.phase === 'copy') p.started ??= Date.now();
      p?.bar?.update({ phase: e.phase });
      if (!tty) write(`${e.table}: ${e.phase}`);
    } else if (e.type === 'progress' && p) {
      p.started ??= Date.now();
      p.rows += e.rows;
      if (p.rows > p.total) {
        p.total = p.rows;
        p.bar?.setTotal(p.total);
      }
      p.bar?.update(p.rows, { rate: rate(p), eta: eta(p) });
      if (!tty && Date.now() - lastLine > 5000) {
        lastLine = Date.now();
        write(
          `${e.table}: ${p.rows.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')} rows, ${Math.round(rate(p)).toLocaleString('en-US')} rows/s${eta(p) ? `, ETA ${eta(p)}` : ''}`,
        );
      }
    } else if (e.type === 'table-done' && p) {
      p.bar?.update(p.rows, { phase: 'done', eta: '' });
      if (!tty) write(`${e.table}: done, ${p.rows.toLocaleString('en-US')} rows`);
    }
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    multi?.stop();
  };
  return { onEvent, stop };
}
