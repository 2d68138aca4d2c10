// Binlog row values -> canonical values, exactly as the copy reads the same row. @vlasky/zongji
// decodes a row image into what mysql2 gives a query (strings for decimals, dates and times,
// Buffers for bytes and bits) with the connection settings of binlog.ts; the few values it gives
// otherwise are put in mysql2's form here, and then the copy's own decoder (codec.ts) runs.
import { FerryError } from '../../core/errors.js';
import { valueDecoder, wireType, type CodecColumn } from './codec.js';

type Fix = (v: unknown) => unknown;

/**
 * zongji reads a YEAR as 1900 plus the stored byte, so the year 0000 (stored 0) comes as 1900,
 * a year MySQL cannot hold (1901..2155); an enum's empty value (index 0, an invalid value stored
 * in a non-strict session) comes as undefined.
 */
function wireFix(col: CodecColumn): Fix | undefined {
  switch (wireType(col).kind) {
    case 'year':
      return (v) => (v === 1900 ? 0 : v);
    case 'enum':
      return (v) => (v === undefined ? '' : v);
    default:
      return undefined;
  }
}

/**
 * The decoder of a binlog row (zongji's object of column name -> value) into the values of
 * `columns`, in their order. A column the row does not have means the table's definition in the
 * binlog is not the one the plan was made from: a one-line error.
 */
export function binlogRowDecoder(
  table: string,
  columns: CodecColumn[],
  /** columns added to the table while it was followed: NULL in a row logged before */
  added: string[] = [],
): (row: Record<string, unknown>) => unknown[] {
  const steps = columns.map((c) => {
    const fix = wireFix(c);
    const decode = valueDecoder(c);
    return { name: c.name, decode: fix ? (v: unknown) => decode(fix(v)) : decode };
  });
  return (row) =>
    steps.map(({ name, decode }) => {
      if (!(name in row)) {
        if (added.includes(name)) return null;
        throw new FerryError(
          'UNSUPPORTED',
          `a binlog row of ${table} has no column ${name}: the table's definition changed since the plan was made`,
          'make the plan again (ferry plan) and copy the table afresh',
        );
      }
      const v = row[name];
      return v === null ? null : decode(v);
    });
}
