// Two answers to one query compared as canonical values (core/values.ts), so that engines'
// text forms (1.50 and 1.5, a boolean and MySQL's 1) do not count as differences.
import type { QueryResult } from '../../core/contracts.js';
import type { CanonicalType } from '../../core/types.js';
import { canonicalText } from '../../core/values.js';

export type Answer = Pick<QueryResult, 'columns' | 'rows'>;

function cellText(v: unknown, t: CanonicalType): string {
  // a condition is a boolean in PostgreSQL and an integer in MySQL
  if (t.kind === 'bool' && v !== null && v !== undefined) return v ? '1' : '0';
  return canonicalText(v, t);
}

function rowTexts(answer: Answer): string[] {
  const types = answer.columns.map((c) => c.type);
  return answer.rows.map((row) => types.map((t, i) => cellText(row[i], t)).join('\u0001'));
}

function shown(row: string): string {
  return `(${row
    .split('\u0001')
    .map((v) => (v === '\u0000' ? 'NULL' : v))
    .join(', ')})`;
}

/** What differs between the source's and the target's answers; undefined when they are the same. */
export function answerDifference(source: Answer, target: Answer, ordered: boolean): string | undefined {
  if (source.columns.length !== target.columns.length)
    return `the source answers ${source.columns.length} columns, the target ${target.columns.length}`;
  const a = rowTexts(source);
  const b = rowTexts(target);
  if (ordered) {
    const at = a.findIndex((row, i) => row !== b[i]);
    if (at >= 0 && at < b.length) return `row ${at + 1} differs: source ${shown(a[at]!)}, target ${shown(b[at]!)}`;
    if (a.length !== b.length) return `the source answers ${a.length} rows, the target ${b.length}`;
    return undefined;
  }
  const counts = new Map<string, number>();
  for (const row of a) counts.set(row, (counts.get(row) ?? 0) + 1);
  const onlyTarget: string[] = [];
  for (const row of b) {
    const n = counts.get(row) ?? 0;
    if (n === 0) onlyTarget.push(row);
    else counts.set(row, n - 1);
  }
  const onlySource = [...counts].filter(([, n]) => n > 0).map(([row]) => row);
  if (onlySource.length === 0 && onlyTarget.length === 0) return undefined;
  const parts = [`the source answers ${a.length} rows, the target ${b.length}`];
  if (onlySource.length > 0) parts.push(`only the source has ${shown(onlySource[0]!)}`);
  if (onlyTarget.length > 0) parts.push(`only the target has ${shown(onlyTarget[0]!)}`);
  return parts.join('; ');
}
