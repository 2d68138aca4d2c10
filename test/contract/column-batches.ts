// Canonical rows as column batches, built as a source's column reader builds them (the layouts are
// in core/columns.ts; core's rowsOfColumns turns batches back into rows).
import { daysFromCivil, US_PER_DAY } from '../../src/core/calendar.js';
import {
  BatchBuilder,
  columnDecoder,
  columnLayout,
  writeIntLE,
  type ColumnBatch,
  type ColumnBuilder,
  type ColumnDecoder,
} from '../../src/core/columns.js';
import type { CanonicalType } from '../../src/core/types.js';

/** Days since 1970-01-01 of a canonical date ("YYYY-MM-DD", any number of year digits, a sign for years BC). */
function daysOf(date: string): number {
  const [, y, m, d] = /^(-?\d+)-(\d\d)-(\d\d)/.exec(date)!;
  return daysFromCivil(Number(y), Number(m), Number(d));
}

/** Microseconds since 1970-01-01 00:00 (UTC) of a canonical timestamp (timestamptz ends in Z). */
function microsOf(stamp: string): bigint {
  const [, h, mi, s, fraction = ''] = / (\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z?$/.exec(stamp)!;
  const seconds = Number(h) * 3600 + Number(mi) * 60 + Number(s);
  return BigInt(daysOf(stamp)) * BigInt(US_PER_DAY) + BigInt(seconds) * 1_000_000n + BigInt(fraction.padEnd(6, '0'));
}

/** A canonical decimal's unscaled integer at `scale`. */
function unscaled(decimal: string, scale: number): bigint {
  const negative = decimal.startsWith('-');
  const [whole, fraction = ''] = (negative ? decimal.slice(1) : decimal).split('.');
  const n = BigInt(whole! + fraction.padEnd(scale, '0'));
  return negative ? -n : n;
}

function put(b: ColumnBuilder, d: ColumnDecoder, t: CanonicalType, v: unknown): void {
  if (v === null) return b.null();
  switch (d.layout) {
    case 'int32':
      return b.int32(t.kind === 'date' ? daysOf(v as string) : Number(v));
    case 'int64':
    case 'int128':
      if (t.kind === 'timestamp') return writeIntLE(b, microsOf(v as string), 8);
      if (t.kind === 'decimal') return writeIntLE(b, unscaled(v as string, d.scale), d.width);
      return writeIntLE(b, v as number | bigint, 8);
    case 'float64':
      return b.float64(v as number);
    case 'bool':
      return b.bool(v ? 1 : 0);
    case 'bytes': {
      const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v as Uint8Array);
      return b.bytes(bytes, 0, bytes.length);
    }
  }
}

class RowColumns extends BatchBuilder {
  constructor(
    private readonly types: CanonicalType[],
    batchRows: number,
  ) {
    super(
      types.map((t) => columnDecoder(t, columnLayout(t)!, 0)),
      batchRows,
    );
  }

  add(row: unknown[]): void {
    row.forEach((v, i) => put(this.builders[i]!, this.decoders[i]!, this.types[i]!, v));
    this.endRow();
  }
}

/**
 * Canonical rows of columns of `types` (each with a column layout) as batches of `batchRows`
 * rows. Like a source's, a batch's buffers are written again once the batch is recycled.
 */
export async function* columnBatchesOf(
  rows: unknown[][],
  types: CanonicalType[],
  batchRows: number,
): AsyncIterable<ColumnBatch> {
  const builder = new RowColumns(types, batchRows);
  for (const row of rows) {
    builder.add(row);
    yield* builder.ready.splice(0);
  }
  const rest = builder.rest();
  if (rest) yield rest;
}
