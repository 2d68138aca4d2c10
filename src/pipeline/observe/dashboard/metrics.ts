// The dashboard's /metrics: the model's numbers as Prometheus metrics (prom-client), in a
// registry of the server's own (never prom-client's global one), with the process metrics.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { DashboardSnapshot } from './model.js';

export interface DashboardMetrics {
  contentType: string;
  /** the metrics' text, from one snapshot of the model */
  render(): Promise<string>;
}

export function dashboardMetrics(snapshot: () => DashboardSnapshot): DashboardMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // every metric of a scrape reads the same snapshot
  let now: DashboardSnapshot | undefined;
  const current = () => (now ??= snapshot());

  new Counter({
    name: 'ferry_rows_copied_total',
    help: 'Rows written into each target table by the chunks done (by this run and the runs it resumed after)',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of current().tables) this.inc({ table: t.name }, t.rowsWritten);
    },
  });
  new Gauge({
    name: 'ferry_chunks',
    help: 'Chunks of each table by state (pending, running, done, failed)',
    labelNames: ['table', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of current().tables)
        for (const [state, n] of Object.entries(t.chunks)) this.set({ table: t.name, state }, n);
    },
  });
  new Counter({
    name: 'ferry_rejected_rows_total',
    help: 'Rows of each table the mapping or the target refused (in the reject files with their reasons)',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of current().tables) this.inc({ table: t.name }, t.rejects);
    },
  });
  new Gauge({
    name: 'ferry_cdc_lag_seconds',
    help: 'Seconds from the source commit of the last applied transaction to its apply on the target (when following)',
    registers: [registry],
    collect() {
      this.reset();
      const lag = current().cdc?.lagSeconds;
      if (lag !== undefined) this.set(lag);
    },
  });
  new Counter({
    name: 'ferry_cdc_changes_applied_total',
    help: 'Row changes of the live stream applied to each target table, by the source operation (insert, update, delete)',
    labelNames: ['table', 'op'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of current().cdc?.counts ?? []) this.inc({ table: c.table, op: c.op }, c.changes);
    },
  });
  new Gauge({
    name: 'ferry_verify_mismatched_rows',
    help: 'Rows known to differ between source and target at the latest verify (at least: the count difference or the differing keys it sampled)',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of current().verification?.results ?? []) this.set({ table: v.table }, v.mismatchedRows);
    },
  });
  new Gauge({
    name: 'ferry_verify_mismatched_chunks',
    help: 'Chunks whose digests differed between source and target at the latest verify',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of current().verification?.results ?? []) this.set({ table: v.table }, v.mismatchedChunks);
    },
  });

  return {
    contentType: registry.contentType,
    async render() {
      now = undefined;
      try {
        return await registry.metrics();
      } finally {
        now = undefined;
      }
    },
  };
}
