// A streaming Parquet writer (https://parquet.apache.org/docs/file-format/): rows go into
// per-column pages (PLAIN values, RLE/bit-packed levels, data page v1), pages are compressed
// as they fill, a row group is written out when it reaches its size, and the footer last.
// Memory stays at one row group's compressed pages plus one open page per column.
import type { CanonicalType, Column } from '../../../core/types.js';
import { ByteBuf, leafEncoder, statBytes, type ValueEncoder } from './codec.js';
import type { ColumnBatch, ColumnVector } from '../../../core/columns.js';
import type { Codec } from './compress.js';
import type { ColumnAppender } from './columns.js';
import { RowRefused } from '../temporal.js';
import { bin, byte, encodeStruct, i32, i64, list, struct, bool, type ThriftField, type ThriftValue } from './thrift.js';
import { parseNative, type Leaf, type Logical, type Shape } from '../typemap.js';

export const PHYSICAL_ID = {
  BOOLEAN: 0,
  INT32: 1,
  INT64: 2,
  FLOAT: 4,
  DOUBLE: 5,
  BYTE_ARRAY: 6,
  FIXED_LEN_BYTE_ARRAY: 7,
} as const;
const REPETITION = { REQUIRED: 0, OPTIONAL: 1, REPEATED: 2 } as const;
const ENCODING = { PLAIN: 0, RLE: 3 } as const;
const CONVERTED = {
  UTF8: 0,
  LIST: 3,
  ENUM: 4,
  DECIMAL: 5,
  DATE: 6,
  TIME_MILLIS: 7,
  TIME_MICROS: 8,
  TIMESTAMP_MILLIS: 9,
  TIMESTAMP_MICROS: 10,
  JSON: 19,
} as const;
const MAGIC = Buffer.from('PAR1');

export interface ParquetOptions {
  codec: Codec;
  /** uncompressed bytes of a page before it is cut */
  pageBytes: number;
  /** uncompressed bytes of a row group before it is written out */
  rowGroupBytes: number;
  rowGroupRows: number;
  /** key-value metadata of the footer */
  metadata: Record<string, string>;
  createdBy: string;
}

/** Where a writer's bytes go, with backpressure. */
export type Sink = (...chunks: Buffer[]) => Promise<void>;

function logicalType(l: Logical): ThriftValue {
  const unit = (u: 'MILLIS' | 'MICROS') => struct([u === 'MILLIS' ? 1 : 2, struct()]);
  switch (l.type) {
    case 'STRING':
      return struct([1, struct()]);
    case 'ENUM':
      return struct([4, struct()]);
    case 'DECIMAL':
      return struct([5, struct([1, i32(l.scale)], [2, i32(l.precision)])]);
    case 'DATE':
      return struct([6, struct()]);
    case 'TIME':
      return struct([7, struct([1, bool(l.utc)], [2, unit(l.unit)])]);
    case 'TIMESTAMP':
      return struct([8, struct([1, bool(l.utc)], [2, unit(l.unit)])]);
    case 'INTEGER':
      return struct([10, struct([1, byte(l.bits)], [2, bool(l.signed)])]);
    case 'JSON':
      return struct([12, struct()]);
    case 'UUID':
      return struct([14, struct()]);
  }
}

/** The legacy converted type that means the same as a logical type, for older readers. */
function convertedType(l: Logical | undefined): number | undefined {
  switch (l?.type) {
    case 'STRING':
      return CONVERTED.UTF8;
    case 'ENUM':
      return CONVERTED.ENUM;
    case 'JSON':
      return CONVERTED.JSON;
    case 'DECIMAL':
      return CONVERTED.DECIMAL;
    case 'DATE':
      return CONVERTED.DATE;
    case 'INTEGER':
      // INT_8..INT_64 are 15..18, UINT_8..UINT_64 are 11..14
      return (l.signed ? 15 : 11) + Math.log2(l.bits) - 3;
    case 'TIME':
      return l.utc ? (l.unit === 'MILLIS' ? CONVERTED.TIME_MILLIS : CONVERTED.TIME_MICROS) : undefined;
    case 'TIMESTAMP':
      return l.utc ? (l.unit === 'MILLIS' ? CONVERTED.TIMESTAMP_MILLIS : CONVERTED.TIMESTAMP_MICROS) : undefined;
    default:
      return undefined;
  }
}

function leafElement(name: string, leaf: Leaf, repetition: number): ThriftField[] {
  const l = leaf.logical;
  return [
    [1, i32(PHYSICAL_ID[leaf.physical])],
    [2, leaf.typeLength === undefined ? undefined : i32(leaf.typeLength)],
    [3, i32(repetition)],
    [4, bin(name)],
    [6, convertedType(l) === undefined ? undefined : i32(convertedType(l)!)],
    [7, l?.type === 'DECIMAL' ? i32(l.scale) : undefined],
    [8, l?.type === 'DECIMAL' ? i32(l.precision) : undefined],
    [10, l ? logicalType(l) : undefined],
  ];
}

/** Schema elements of a column in depth-first order (three-level lists for arrays). */
function schemaElements(name: string, shape: Shape, repetition: number): ThriftField[][] {
  if ('leaf' in shape) return [leafElement(name, shape.leaf, repetition)];
  return [
    [
      [3, i32(repetition)],
      [4, bin(name)],
      [5, i32(1)],
      [6, i32(CONVERTED.LIST)],
      [10, struct([3, struct()])],
    ],
    [
      [3, i32(REPETITION.REPEATED)],
      [4, bin('list')],
      [5, i32(1)],
    ],
    ...schemaElements('element', shape.list, REPETITION.OPTIONAL),
  ];
}

/**
 * Run-length / bit-packing hybrid encoding of levels (https://parquet.apache.org/docs/file-format/data-pages/encodings/):
 * runs of 8 or more equal levels are RLE runs; the levels between them are bit-packed in
 * groups of 8 (a group is topped up from the next run first). The bit-packed levels are
 * always a contiguous stretch of the input, packed from where they lie.
 */
export function encodeLevels(levels: Uint8Array, count: number, bitWidth: number): Buffer {
  const byteWidth = (bitWidth + 7) >> 3;
  // at worst every group of 8 is packed (bitWidth bytes) behind a header of its own (5 bytes)
  const out = Buffer.allocUnsafe(Math.ceil(count / 8) * (bitWidth + 5) + 16);
  let o = 0;
  const varint = (n: number) => {
    while (n >= 0x80) {
      out[o++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[o++] = n;
  };
  let packedStart = 0;
  let packed = 0;
  const flushPacked = () => {
    if (packed === 0) return;
    const groups = (packed + 7) >> 3;
    varint((groups << 1) | 1);
    let acc = 0;
    let bits = 0;
    const end = packedStart + groups * 8;
    for (let k = packedStart; k < end; k++) {
      // past the packed levels: padding zeros
      acc |= (k < packedStart + packed ? levels[k]! : 0) << bits;
      bits += bitWidth;
      while (bits >= 8) {
        out[o++] = acc & 0xff;
        acc >>>= 8;
        bits -= 8;
      }
    }
    packed = 0;
  };
  let i = 0;
  while (i < count) {
    const v = levels[i]!;
    let j = i + 1;
    while (j < count && levels[j] === v) j++;
    let run = j - i;
    if (packed % 8 !== 0) {
      const topUp = Math.min(run, 8 - (packed % 8));
      packed += topUp;
      run -= topUp;
    }
    if (run >= 8) {
      flushPacked();
      varint(run << 1);
      for (let b = 0; b < byteWidth; b++) out[o++] = (v >> (8 * b)) & 0xff;
    } else if (run > 0) {
      if (packed === 0) packedStart = j - run;
      packed += run;
    }
    i = j;
  }
  flushPacked();
  return out.subarray(0, o);
}

const bitWidthOf = (max: number) => (max === 0 ? 0 : 32 - Math.clz32(max));

/** `count` levels of one value, as a single run. */
function oneRun(count: number, value: number): Buffer {
  const out: number[] = [];
  let n = count * 2;
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n, value);
  return Buffer.from(out);
}

function withLength(b: Buffer): Buffer[] {
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32LE(b.length);
  return [len, b];
}

class Levels {
  data = new Uint8Array(4096);
  count = 0;
  push(v: number): void {
    if (this.count === this.data.length) {
      const next = new Uint8Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.count++] = v;
  }
}

/**
 * Page value buffers of finished files, by page size, for the pages of the next files: a file's
 * columns would otherwise each grow a fresh buffer to the page size (64 KB, doubled up to about
 * 320 KB), some 250 MB of short-lived buffers per 3M rows into Parquet.
 */
const spareValues = new Map<number, ByteBuf[]>();
/** about one file's columns: a file that ends gives its buffers to the next one to start */
const MAX_SPARE_VALUES = 16;

function valueBuffer(pageBytes: number): ByteBuf {
  // pages are cut at most 64 rows after they pass pageBytes: a quarter more is room enough for most
  return spareValues.get(pageBytes)?.pop() ?? new ByteBuf(Math.min(64 * 1024, pageBytes), Math.ceil(pageBytes * 1.25));
}

function giveBackValues(pageBytes: number, b: ByteBuf): void {
  let spares = spareValues.get(pageBytes);
  if (!spares) spareValues.set(pageBytes, (spares = []));
  b.pos = 0;
  if (spares.length < MAX_SPARE_VALUES) spares.push(b);
}

/** A finished page, compressed. */
interface Page {
  header: Buffer;
  body: Buffer;
  rawBytes: number;
}

/** One leaf column of a row group: its open page, and its finished pages (being compressed). */
class LeafWriter {
  readonly values: ByteBuf;
  readonly defs = new Levels();
  readonly reps = new Levels();
  private readonly encode: ValueEncoder;
  private readonly stats: boolean;
  pages: Promise<Page>[] = [];
  /** levels (values, nulls and empty lists) in the open page */
  pageLevels = 0;
  /** nulls (and empty lists) in the open page */
  pageNulls = 0;
  /** bytes of finished pages: compressed, and before compression */
  compressedBytes = 0;
  uncompressedBytes = 0;
  /** bytes of pages still being compressed */
  inflightBytes = 0;
  numValues = 0;
  nullCount = 0;
  min: number | bigint | undefined;
  max: number | bigint | undefined;

  constructor(
    readonly path: string[],
    readonly leaf: Leaf,
    readonly maxDef: number,
    readonly maxRep: number,
    encode: ValueEncoder,
    pageBytes: number,
  ) {
    this.values = valueBuffer(pageBytes);
    this.encode = encode;
    // min/max for integer-backed leaves outside lists: what engines prune row groups by
    this.stats = maxRep === 0 && (leaf.physical === 'INT32' || leaf.physical === 'INT64');
  }

  /** Levels of one value; `present` values are encoded. */
  put(v: unknown, rep: number, def: number): void {
    if (this.maxRep > 0) {
      this.reps.push(rep);
      this.defs.push(def);
    } else if (this.maxDef > 0 && (def !== this.maxDef || this.pageNulls > 0)) {
      // a flat column stores its levels only once the page has a null (until then they are all the highest)
      if (this.pageNulls === 0) {
        this.defs.count = 0;
        for (let i = 0; i < this.pageLevels; i++) this.defs.push(this.maxDef);
      }
      this.defs.push(def);
    }
    this.pageLevels++;
    if (def === this.maxDef) {
      const n = this.encode(v, this.values);
      if (this.stats && n !== undefined) {
        if (this.min === undefined || n < this.min) this.min = n;
        if (this.max === undefined || n > this.max) this.max = n;
      }
    } else {
      this.nullCount++;
      this.pageNulls++;
    }
  }

  /** The levels and values of one column of a batch (a flat leaf: one level a row). */
  putColumn(v: ColumnVector, rows: number, append: ColumnAppender): void {
    const nulls = v.nulls;
    if (nulls && this.maxDef === 0) throw new RowRefused(`column ${this.path[0]} cannot be NULL`);
    if (this.maxDef > 0 && (nulls || this.pageNulls > 0)) {
      if (this.pageNulls === 0) {
        this.defs.count = 0;
        for (let i = 0; i < this.pageLevels; i++) this.defs.push(1);
      }
      if (nulls) for (let r = 0; r < rows; r++) this.defs.push(1 - nulls[r]!);
      else for (let r = 0; r < rows; r++) this.defs.push(1);
      const added = rows - v.count;
      this.nullCount += added;
      this.pageNulls += added;
    }
    this.pageLevels += rows;
    const range = append(v, this.values);
    if (range && this.stats) {
      if (this.min === undefined || range.min < this.min) this.min = range.min;
      if (this.max === undefined || range.max > this.max) this.max = range.max;
    }
  }

  openBytes(): number {
    return this.values.pos + this.defs.count + this.reps.count;
  }

  /** Hands the open page to the compressor; it becomes a finished page when compressed. */
  cutPage(codec: Codec): void {
    const levelsInPage = this.pageLevels;
    if (levelsInPage === 0) return;
    const parts: Buffer[] = [];
    if (this.maxRep > 0)
      parts.push(...withLength(encodeLevels(this.reps.data, this.reps.count, bitWidthOf(this.maxRep))));
    if (this.maxDef > 0)
      // a page without nulls is one run of the highest level
      parts.push(
        ...withLength(
          this.pageNulls === 0 && this.maxRep === 0
            ? oneRun(levelsInPage, this.maxDef)
            : encodeLevels(this.defs.data, this.defs.count, bitWidthOf(this.maxDef)),
        ),
      );
    parts.push(this.leaf.physical === 'BOOLEAN' ? packBits(this.values) : this.values.bytes());
    let rawBytes = 0;
    for (const p of parts) rawBytes += p.length;
    this.inflightBytes += rawBytes;
    const page = codec.compressParts(parts).then((body) => {
      const header = encodeStruct([
        [1, i32(0)],
        [2, i32(rawBytes)],
        [3, i32(body.length)],
        [5, struct([1, i32(levelsInPage)], [2, i32(ENCODING.PLAIN)], [3, i32(ENCODING.RLE)], [4, i32(ENCODING.RLE)])],
      ]);
      this.inflightBytes -= rawBytes;
      this.compressedBytes += header.length + body.length;
      return { header, body, rawBytes };
    });
    // a failure is seen where the pages are awaited; this only keeps it from being unhandled meanwhile
    page.catch(() => {});
    this.pages.push(page);
    this.uncompressedBytes += rawBytes;
    this.numValues += levelsInPage;
    this.pageLevels = 0;
    this.pageNulls = 0;
    this.values.pos = 0;
    this.defs.count = 0;
    this.reps.count = 0;
  }

  statistics(): ThriftValue | undefined {
    if (this.maxRep > 0) return undefined;
    return struct(
      [3, i64(this.nullCount)],
      [5, this.max === undefined ? undefined : bin(statBytes(this.leaf, this.max))],
      [6, this.min === undefined ? undefined : bin(statBytes(this.leaf, this.min))],
    );
  }

  resetChunk(): void {
    this.pages = [];
    this.inflightBytes = 0;
    this.compressedBytes = 0;
    this.uncompressedBytes = 0;
    this.numValues = 0;
    this.nullCount = 0;
    this.min = undefined;
    this.max = undefined;
  }
}

/** Booleans, stored one per byte while the page is open, packed 8 to a byte (LSB first). */
function packBits(values: ByteBuf): Buffer {
  const n = values.pos;
  const out = Buffer.alloc((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (values.buf[i]) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

type ColumnPut = (v: unknown) => void;

/** The function that turns one column value into leaf levels and values (Dremel's striping for lists). */
function columnPut(
  name: string,
  shape: Shape,
  t: CanonicalType,
  required: boolean,
  leaves: LeafWriter[],
  pageBytes: number,
  path: string[] = [name],
): ColumnPut {
  if ('leaf' in shape) {
    const leaf = new LeafWriter(path, shape.leaf, required ? 0 : 1, 0, leafEncoder(shape.leaf, t), pageBytes);
    leaves.push(leaf);
    if (required)
      return (v) => {
        if (v === null || v === undefined) throw new RowRefused(`column ${name} cannot be NULL`);
        leaf.put(v, 0, 0);
      };
    return (v) => leaf.put(v, 0, v === null || v === undefined ? 0 : 1);
  }
  // nested lists: each list level adds a definition level for "present" (when optional) and
  // one for "non-empty"; its elements repeat at that list's repetition level
  const levels: { optional: boolean }[] = [{ optional: !required }];
  let inner: Shape = shape.list;
  let element = t.kind === 'array' ? t.element : t;
  const elementPath = [...path, 'list', 'element'];
  while ('list' in inner) {
    levels.push({ optional: true });
    inner = inner.list;
    element = element.kind === 'array' ? element.element : element;
    elementPath.push('list', 'element');
  }
  const depth = levels.length;
  let maxDef = 1;
  for (const l of levels) maxDef += (l.optional ? 1 : 0) + 1;
  const leaf = new LeafWriter(
    elementPath,
    inner.leaf,
    maxDef,
    depth,
    leafEncoder(inner.leaf, element.kind === 'set' ? { kind: 'string' } : element),
    pageBytes,
  );
  leaves.push(leaf);
  const put = (v: unknown, k: number, rep: number, def: number): void => {
    if (k === depth) {
      leaf.put(v, rep, v === null || v === undefined ? def : def + 1);
      return;
    }
    if (v === null || v === undefined) {
      if (!levels[k]!.optional) throw new RowRefused(`column ${name} cannot be NULL`);
      leaf.put(null, rep, def);
      return;
    }
    const present = def + (levels[k]!.optional ? 1 : 0);
    const items = v as unknown[];
    if (items.length === 0) {
      leaf.put(null, rep, present);
      return;
    }
    for (let i = 0; i < items.length; i++) put(items[i], k + 1, i === 0 ? rep : k + 1, present + 1);
  };
  return (v) => put(v, 0, 0, 0);
}

/** The leaves of a table's columns and the function that stripes one row into them. */
export class RowStriper {
  readonly leaves: LeafWriter[] = [];
  private readonly puts: ColumnPut[];
  readonly schema: ThriftField[][];

  constructor(columns: Column[], pageBytes: number) {
    const elements: ThriftField[][] = [
      [
        [4, bin('schema')],
        [5, i32(columns.length)],
      ],
    ];
    this.puts = columns.map((c) => {
      const { shape } = parseNative(c.nativeType);
      elements.push(...schemaElements(c.name, shape, c.nullable ? REPETITION.OPTIONAL : REPETITION.REQUIRED));
      return columnPut(c.name, shape, c.type, !c.nullable, this.leaves, pageBytes);
    });
    this.schema = elements;
  }

  put(row: unknown[]): void {
    const puts = this.puts;
    for (let i = 0; i < puts.length; i++) puts[i]!(row[i]);
  }

  /** Forgets the open pages (after a trial row). */
  clear(): void {
    for (const l of this.leaves) {
      l.values.pos = 0;
      l.defs.count = 0;
      l.reps.count = 0;
      l.pageLevels = 0;
      l.pageNulls = 0;
      l.resetChunk();
    }
  }
}

export interface WrittenFile {
  rows: number;
  bytes: number;
}

/** One Parquet file being written to a sink. */
export class ParquetFileWriter {
  private readonly striper: RowStriper;
  private offset = 0;
  private rows = 0;
  private groupRows = 0;
  /** the open row group has reached its size: the caller awaits flushRowGroup() */
  needsFlush = false;
  private readonly rowGroups: ThriftValue[] = [];
  private started = false;

  constructor(
    columns: Column[],
    private readonly opts: ParquetOptions,
    private readonly sink: Sink,
  ) {
    this.striper = new RowStriper(columns, opts.pageBytes);
  }

  /** Adds a row; a RowRefused part-way leaves the open pages inconsistent, so callers try rows first (see trial). */
  add(row: unknown[]): void {
    this.striper.put(row);
    this.rows++;
    this.groupRows++;
    if (this.groupRows >= this.opts.rowGroupRows) this.needsFlush = true;
    else if ((this.groupRows & 63) === 0) this.checkSizes();
  }

  /**
   * Adds a column batch whose columns are this file's, each with its appender (flat columns
   * only). A column refused part-way leaves the file inconsistent: the caller drops the file.
   */
  addColumns(batch: ColumnBatch, appenders: ColumnAppender[]): void {
    const leaves = this.striper.leaves;
    for (let i = 0; i < leaves.length; i++) leaves[i]!.putColumn(batch.columns[i]!, batch.rows, appenders[i]!);
    this.rows += batch.rows;
    this.groupRows += batch.rows;
    if (this.groupRows >= this.opts.rowGroupRows) this.needsFlush = true;
    this.checkSizes();
  }

  roomInRowGroup(): number {
    return this.opts.rowGroupRows - this.groupRows;
  }

  /** Cuts the pages that are full (always after a whole row, as lists require) and sees whether the row group is. */
  private checkSizes(): void {
    let bytes = 0;
    for (const l of this.striper.leaves) {
      if (l.openBytes() >= this.opts.pageBytes) l.cutPage(this.opts.codec);
      bytes += l.uncompressedBytes + l.openBytes();
    }
    if (bytes >= this.opts.rowGroupBytes) this.needsFlush = true;
  }

  /** Bytes held in memory (pages finished, being compressed, and open). */
  heldBytes(): number {
    let n = 0;
    for (const l of this.striper.leaves) n += l.compressedBytes + l.inflightBytes + l.openBytes();
    return n;
  }

  /** Bytes written to the sink so far. */
  get written(): number {
    return this.offset;
  }

  private async write(...chunks: Buffer[]): Promise<void> {
    for (const c of chunks) this.offset += c.length;
    await this.sink(...chunks);
  }

  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.write(MAGIC);
  }

  /** Writes the open row group out. */
  async flushRowGroup(): Promise<void> {
    await this.start();
    this.needsFlush = false;
    if (this.groupRows === 0) return;
    for (const l of this.striper.leaves) l.cutPage(this.opts.codec);
    this.opts.codec.flush();
    const groupStart = this.offset;
    const chunks: ThriftValue[] = [];
    let totalBytes = 0;
    for (const l of this.striper.leaves) {
      const pages = await Promise.all(l.pages);
      const pageOffset = this.offset;
      const parts: Buffer[] = [];
      let compressed = 0;
      let uncompressed = 0;
      for (const p of pages) {
        parts.push(p.header, p.body);
        compressed += p.header.length + p.body.length;
        uncompressed += p.header.length + p.rawBytes;
      }
      await this.write(...parts);
      totalBytes += uncompressed;
      chunks.push(
        struct(
          [2, i64(pageOffset)],
          [
            3,
            struct(
              [1, i32(PHYSICAL_ID[l.leaf.physical])],
              [2, list('i32', [i32(ENCODING.PLAIN), i32(ENCODING.RLE)])],
              [
                3,
                list(
                  'bin',
                  l.path.map((p) => bin(p)),
                ),
              ],
              [4, i32(this.opts.codec.id)],
              [5, i64(l.numValues)],
              [6, i64(uncompressed)],
              [7, i64(compressed)],
              [9, i64(pageOffset)],
              [12, l.statistics()],
            ),
          ],
        ),
      );
      l.resetChunk();
    }
    this.rowGroups.push(
      struct(
        [1, list('struct', chunks)],
        [2, i64(totalBytes)],
        [3, i64(this.groupRows)],
        [5, i64(groupStart)],
        [6, i64(this.offset - groupStart)],
        [7, { t: 'i16', v: this.rowGroups.length }],
      ),
    );
    this.groupRows = 0;
  }

  /** Writes the last row group and the footer; the file is complete when the sink has it. */
  async finish(): Promise<WrittenFile> {
    await this.flushRowGroup();
    const footer = encodeStruct([
      [1, i32(2)],
      [
        2,
        list(
          'struct',
          this.striper.schema.map((fields) => struct(...fields)),
        ),
      ],
      [3, i64(this.rows)],
      [4, list('struct', this.rowGroups)],
      [
        5,
        list(
          'struct',
          Object.entries(this.opts.metadata).map(([k, v]) => struct([1, bin(k)], [2, bin(v)])),
        ),
      ],
      [6, bin(this.opts.createdBy)],
      [
        7,
        list(
          'struct',
          this.striper.leaves.map(() => struct([1, struct()])),
        ),
      ],
    ]);
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32LE(footer.length);
    await this.write(footer, len, MAGIC);
    // every page was cut and handed to the codec, which copies it: the value buffers are free
    for (const l of this.striper.leaves) giveBackValues(this.opts.pageBytes, l.values);
    return { rows: this.rows, bytes: this.offset };
  }
}

/** Checks that a row encodes (trying it on a scratch striper), so a refusal never half-writes a row. */
export class RowTrial {
  private readonly striper: RowStriper;
  constructor(columns: Column[]) {
    // one row at a time: small buffers
    this.striper = new RowStriper(columns, 4096);
  }
  /** Why the row cannot be written, or undefined. */
  check(row: unknown[]): string | undefined {
    try {
      this.striper.put(row);
      return undefined;
    } catch (e) {
      if (e instanceof RowRefused) return e.message;
      throw e;
    } finally {
      this.striper.clear();
    }
  }
}
