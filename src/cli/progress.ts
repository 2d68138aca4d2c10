// Progress of a run: bars per table on a terminal, plain log lines otherwise.
import cliProgress from 'cli-progress';
import type { RunEvent } from '../pipeline/copy/run.js';

interface TableProgress {
  rows: number;
  total: number;
  started: number;
  bar?: cliProgress.SingleBar;
}

function eta(p: TableProgress): string {
  const secs = (Date.now() - p.started) / 1000;
  const rate = secs > 0 ? p.rows / secs : 0;
  if (rate === 0 || p.total <= p.rows) return '';
  return `${Math.ceil((p.total - p.rows) / rate)}s`;
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
  const rate = (p: TableProgress) => Math.round(p.rows / Math.max(0.001, (Date.now() - p.started) / 1000));
  const onEvent = (e: RunEvent) => {
    if (e.type === 'start') {
      for (const t of e.tables) {
        const p: TableProgress = { rows: t.rowsDone, total: Math.max(t.rowsEstimate, t.rowsDone), started: Date.now() };
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
      if (!tty) write(`${e.table}: ${e.chunks} chunks`);
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
      p.bar?.update(p.rows, { rate: rate(p), eta_s2: eta(p) });
      if (!tty && Date.now() - lastLine > 5000) {
        lastLine = Date.now();
        write(`${e.table}: ${p.rows}/${p.total} rows, ${rate(p)} rows/s${eta(p) ? `, ETA ${eta(p)}` : ''}`);
      }
    } else if (e.type === 'table-done' && p) {
      p.bar?.update(p.rows, { phase: 'done' });
      if (!tty) write(`${e.table}: done, ${p.rows} rows`);
    }
  };
  return { onEvent, stop: () => multi?.stop() };
}
