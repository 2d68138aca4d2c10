// What `ferry perf` prints for a person: a line per query, and for a failed one what failed,
// with the target's plan and the likely cause of a slower one.
import type { PerfResult, QueryCheck } from '../pipeline/perf/perf.js';

function time(ms: number | undefined): string {
  return ms === undefined ? '-' : `${ms < 10 ? ms.toFixed(2) : Math.round(ms).toLocaleString('en-US')} ms`;
}

export function queryLine(q: QueryCheck): string {
  const times = q.source && q.target ? `: p95 ${time(q.source.p95Ms)} → ${time(q.target.p95Ms)}` : '';
  return `${q.name}: ${q.status}${times}`;
}

/** `listed`: each query's line was printed as it was checked (on a terminal) */
export function perfLines(r: PerfResult, listed: boolean): string[] {
  const lines: string[] = [];
  for (const q of r.queries) {
    if (!listed || q.status !== 'ok') lines.push(queryLine(q));
    if (q.status === 'ok') continue;
    if (q.message) lines.push(`  ${q.message}`);
    for (const cause of q.causes ?? []) lines.push(`  likely cause: ${cause}`);
    if (q.explain) lines.push('  the target plans it as:', ...q.explain.split('\n').map((l) => `    ${l}`));
  }
  for (const s of r.skipped) lines.push(`skipped (${s.reason}): ${s.sql.replace(/\s+/g, ' ')}`);
  const failed = r.queries.filter((q) => q.status !== 'ok').length;
  lines.push(
    failed === 0
      ? `perf: ${r.queries.length} queries answer the same on the target, none more than ${r.threshold.slowerThan}× slower`
      : `perf: ${failed} of ${r.queries.length} queries fail the check`,
  );
  return lines;
}
