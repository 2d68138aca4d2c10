// Progress of a run: bars per table on a terminal, plain log lines otherwise.
import cliProgress from 'cli-progress';
import type { RunEvent } from '../pipeline/copy/events.js';

interface TableProgress {
  rows: number;
  /** rows earlier runs copied: not in this run's rate */
  resumed: number;
  total: number;
  started: number;
  bar?: cliProgress.SingleBar;
}

/** Rows a second this run copies (rows earlier runs copied left out). */
function rate(p: TableProgress): number {
  return (p.rows - p.resumed) / Math.max(0.001, (Date.now() - p.started) / 1000);
}

function eta(p: TableProgress): string {
  const r = rate(p);
  if (r === 0 || p.total <= p.rows) return '';
  return `${Math.ceil((p.total - p.rows) / r)}s`;
}

export function progressReporter(
  write: (line: string) => void,
  tty: boolean,
): { onEvent: (e: RunEvent) => void; stop: () => void } {
  const tables = new Map<string, TableProgress>();
  const multi = tty
    ? new cliProgress.MultiBar(
        {
          format: ' {table} |{bar}| {value}/{total} rows | {rate} rows/s | ETA {eta_s2} | {phase}',
          hideCursor: true,
          clearOnComplete: false,
          autopadding: true,
        },
        cliProgress.Presets.shades_grey,
      )
    : undefined;
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
          started: Date.now(),
        };
        p.bar = multi?.create(p.total, p.rows, {
          table: t.name.padEnd(16).slice(0, 16),
          rate: 0,
          phase: 'waiting',
          eta_s2: '',
        });
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
      multi?.stop();
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
      p?.bar?.update({ phase: e.phase });
      if (!tty) write(`${e.table}: ${e.phase}`);
    } else if (e.type === 'progress' && p) {
      p.rows += e.rows;
      if (p.rows > p.total) {
        p.total = p.rows;
        p.bar?.setTotal(p.total);
      }
      p.bar?.update(p.rows, { rate: Math.round(rate(p)), eta_s2: eta(p) });
      if (!tty && Date.now() - lastLine > 5000) {
        lastLine = Date.now();
        write(`${e.table}: ${p.rows}/${p.total} rows, ${Math.round(rate(p))} rows/s${eta(p) ? `, ETA ${eta(p)}` : ''}`);
      }
    } else if (e.type === 'table-done' && p) {
      p.bar?.update(p.rows, { phase: 'done' });
      if (!tty) write(`${e.table}: done, ${p.rows} rows`);
    }
  };
  return { onEvent, stop: () => multi?.stop() };
}
