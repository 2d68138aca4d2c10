// Reads back the Parquet files ferry wrote (PLAIN values, RLE/bit-packed levels, data page
// v1, the codecs of compress.ts), row group by row group, into canonical values: what
// `ferry verify` compares with the source.
import type { CanonicalType, Column } from '../../../core/types.js';
import type { RandomAccess } from '../../../stores/store.js';
import { codecById, type Codec } from './compress.js';
import { fixedWidth, leafDecoder, type ValueDecoder } from './codec.js';
import { PHYSICAL_ID } from './write.js';
import { ThriftReader, type ThriftStruct } from './thrift.js';
import { parseNative, type Leaf, type Shape } from '../typemap.js';

export class NotFerryParquet extends Error {}

interface FileLeaf {
  name: string;
  physical: number;
  /** optional flag of each list level, outermost first, then of the leaf */
  optional: boolean[];
  index: number;
}

/** Top-level columns of the file's schema and their (single) leaf, in column-chunk order. */
function fileColumns(schema: ThriftStruct[]): Map<string, FileLeaf> {
  const out = new Map<string, FileLeaf>();
  let pos = 1;
  let leafIndex = 0;
  const walk = (optional: boolean[]): { physical: number; optional: boolean[] } => {
    const el = schema[pos++]!;
    const children = (el[5] as number | undefined) ?? 0;
    const opt = [...optional, el[3] !== 0];
    if (children === 0) return { physical: el[1] as number, optional: opt };
    if (children !== 1) throw new NotFerryParquet('a group column with several fields');
    // a LIST group holds one repeated group that holds the element
    const repeated = schema[pos++]!;
    if (repeated[3] !== 2 || ((repeated[5] as number | undefined) ?? 0) !== 1)
      throw new NotFerryParquet('a group column that is not a three-level LIST');
    return walk(opt);
  };
  const top = (schema[0]![5] as number | undefined) ?? 0;
  for (let i = 0; i < top; i++) {
    const name = Buffer.from(schema[pos]![4] as Buffer).toString('utf8');
    const { physical, optional } = walk([]);
    out.set(name, { name, physical, optional, index: leafIndex++ });
  }
  return out;
}

/** Decodes `count` levels of the RLE / bit-packing hybrid. */
export function decodeLevels(buf: Buffer, start: number, end: number, bitWidth: number, count: number): Uint8Array {
  const out = new Uint8Array(count);
  const byteWidth = (bitWidth + 7) >> 3;
  const mask = (1 << bitWidth) - 1;
  let p = start;
  let i = 0;
  while (i < count && p < end) {
    let header = 0;
    let shift = 0;
    for (;;) {
      const b = buf[p++]!;
      header |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
    if (header & 1) {
      const n = (header >>> 1) * 8;
      let acc = 0;
      let bits = 0;
      for (let k = 0; k < n; k++) {
        while (bits < bitWidth) {
          acc |= buf[p++]! << bits;
          bits += 8;
        }
        if (i < count) out[i++] = acc & mask;
        acc >>>= bitWidth;
        bits -= bitWidth;
      }
    } else {
      let v = 0;
      for (let b = 0; b < byteWidth; b++) v |= buf[p++]! << (8 * b);
      const run = header >>> 1;
      out.fill(v, i, Math.min(count, i + run));
      i += run;
    }
  }
  return out;
}

const bitWidthOf = (max: number) => (max === 0 ? 0 : 32 - Math.clz32(max));

/** Reads the values of one column chunk into one value per row. */
class ColumnReader {
  private readonly maxDef: number;
  private readonly maxRep: number;
  private readonly depth: number;
  private readonly nullDef: number[] = [];
  private readonly emptyDef: number[] = [];
  private readonly width: number | undefined;

  constructor(
    private readonly leaf: Leaf,
    private readonly fileLeaf: FileLeaf,
    private readonly decode: ValueDecoder,
  ) {
    const opt = fileLeaf.optional;
    this.depth = opt.length - 1;
    let def = 0;
    for (let k = 0; k < this.depth; k++) {
      this.nullDef.push(def);
      def += opt[k] ? 1 : 0;
      this.emptyDef.push(def);
      def += 1;
    }
    this.maxDef = def + (opt[this.depth] ? 1 : 0);
    this.maxRep = this.depth;
    this.width = fixedWidth(leaf);
  }

  read(chunk: Buffer, codec: Codec, numValues: number, rows: number): unknown[] {
    const values: unknown[] = [];
    const stack: unknown[][] = [];
    let row: unknown;
    let started = false;
    let seen = 0;
    let pos = 0;
    while (seen < numValues) {
      const tr = new ThriftReader(chunk, pos);
      const header = tr.struct();
      pos = tr.pos;
      const compressed = header[3] as number;
      if (header[1] !== 0) throw new NotFerryParquet(`page type ${String(header[1])}`);
      const dph = header[5] as ThriftStruct;
      const n = dph[1] as number;
      if (dph[2] !== 0) throw new NotFerryParquet(`value encoding ${String(dph[2])}`);
      const body = codec.decompress(chunk.subarray(pos, pos + compressed));
      pos += compressed;
      let p = 0;
      let reps: Uint8Array | undefined;
      let defs: Uint8Array | undefined;
      if (this.maxRep > 0) {
        const len = body.readUInt32LE(p);
        reps = decodeLevels(body, p + 4, p + 4 + len, bitWidthOf(this.maxRep), n);
        p += 4 + len;
      }
      if (this.maxDef > 0) {
        const len = body.readUInt32LE(p);
        defs = decodeLevels(body, p + 4, p + 4 + len, bitWidthOf(this.maxDef), n);
        p += 4 + len;
      }
      const isBool = this.leaf.physical === 'BOOLEAN';
      let bit = 0;
      const next = (): unknown => {
        if (isBool) return this.decode(body, p * 8 + bit++);
        if (this.width !== undefined) {
          const v = this.decode(body, p);
          p += this.width;
          return v;
        }
        const len = body.readUInt32LE(p);
        const v = this.decode(body.subarray(p + 4, p + 4 + len), 0);
        p += 4 + len;
        return v;
      };
      if (this.depth === 0) {
        for (let i = 0; i < n; i++) values.push(!defs || defs[i] === this.maxDef ? next() : null);
      } else {
        for (let i = 0; i < n; i++) {
          const r = reps![i]!;
          const d = defs![i]!;
          if (r === 0) {
            if (started) values.push(row);
            started = true;
          }
          let k = r;
          for (; k < this.depth; k++) {
            let x: unknown[] | null;
            if (this.fileLeaf.optional[k] && d === this.nullDef[k]) x = null;
            else x = [];
            if (k === 0) row = x;
            else stack[k - 1]!.push(x);
            if (x === null || d === this.emptyDef[k]) break;
            stack[k] = x;
          }
          if (k === this.depth) stack[k - 1]!.push(d === this.maxDef ? next() : null);
        }
      }
      seen += n;
    }
    if (this.depth > 0 && started) values.push(row);
    if (values.length !== rows)
      throw new NotFerryParquet(`a column chunk with ${values.length} values for ${rows} rows`);
    return values;
  }
}

function leafOf(shape: Shape): Leaf {
  return 'leaf' in shape ? shape.leaf : leafOf(shape.list);
}

function elementType(t: CanonicalType): CanonicalType {
  if (t.kind === 'array') return elementType(t.element);
  return t.kind === 'set' ? { kind: 'string' } : t;
}

/**
 * Rows of a Parquet file as canonical values of `columns` (only the `wanted` positions are
 * filled), in batches of `batchRows`, one row group in memory at a time.
 */
export async function* readParquet(
  file: RandomAccess,
  columns: Column[],
  wanted: number[],
  batchRows: number,
): AsyncIterable<unknown[][]> {
  if (file.size < 12) throw new NotFerryParquet('a file too short to be Parquet');
  const tail = await file.read(file.size - 8, file.size);
  if (tail.toString('latin1', 4) !== 'PAR1') throw new NotFerryParquet('no Parquet footer');
  const metaLen = tail.readUInt32LE(0);
  const meta = new ThriftReader(await file.read(file.size - 8 - metaLen, file.size - 8)).struct();
  const inFile = fileColumns(meta[2] as ThriftStruct[]);
  // a nullable column the file lacks was added to the table after the file was written: NULL
  const absent = wanted.filter((ci) => columns[ci]!.nullable && !inFile.has(columns[ci]!.name));
  const readers = wanted
    .filter((ci) => !absent.includes(ci))
    .map((ci) => {
      const c = columns[ci]!;
      const fl = inFile.get(c.name);
      if (!fl) throw new NotFerryParquet(`no column ${c.name}`);
      const leaf = leafOf(parseNative(c.nativeType).shape);
      if (fl.physical !== PHYSICAL_ID[leaf.physical])
        throw new NotFerryParquet(`column ${c.name} stored as another physical type than ${c.nativeType} needs`);
      return { ci, index: fl.index, reader: new ColumnReader(leaf, fl, leafDecoder(leaf, elementType(c.type))) };
    });
  for (const rg of (meta[4] as ThriftStruct[] | undefined) ?? []) {
    const rows = rg[3] as number;
    const chunks = rg[1] as ThriftStruct[];
    const cols: unknown[][] = [];
    for (const r of readers) {
      const md = chunks[r.index]![3] as ThriftStruct;
      const start = (md[11] as number | undefined) ?? (md[9] as number);
      const bytes = await file.read(start, start + (md[7] as number));
      cols.push(r.reader.read(bytes, await codecById(md[4] as number), md[5] as number, rows));
    }
    for (let from = 0; from < rows; from += batchRows) {
      const to = Math.min(rows, from + batchRows);
      const out: unknown[][] = [];
      for (let i = from; i < to; i++) {
        const row = new Array<unknown>(columns.length);
        for (let k = 0; k < readers.length; k++) row[readers[k]!.ci] = cols[k]![i];
        for (const ci of absent) row[ci] = null;
        out.push(row);
      }
      yield out;
    }
  }
}
