// pgoutput, PostgreSQL's logical replication output (protocol version 1, values as text): its
// messages decoded into row changes in the columns of the streamed tables, and LSNs as positions.
// https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
import { UNCHANGED, type RowChange } from '../../core/changes.js';
import type { SourceTable, StreamedColumns } from '../../core/contracts.js';
import type { Column } from '../../core/types.js';
import { FerryError } from '../../core/errors.js';
import { reportedName } from './sql.js';
import { textDecoderFor, type TextDecoder } from './text-read.js';

/** What one pgoutput message says, as the stream uses it. */
export type PgoutputEvent =
  | { kind: 'begin' }
  | { kind: 'change'; change: RowChange }
  /** `position`: the end of the commit record, where a stream opened next begins */
  | { kind: 'commit'; position: string; committed: string }
  /** a streamed table has columns the stream does not know: added on the source (extend() them) */
  | { kind: 'columns'; table: string; added: string[] };

/** An LSN ("16/B374D848") as a number, to compare. */
export function lsnValue(lsn: string): bigint {
  const slash = lsn.indexOf('/');
  if (slash < 0) throw new FerryError('INTERNAL', `"${lsn}" is not a PostgreSQL LSN`, 'report this');
  return (BigInt(`0x${lsn.slice(0, slash)}`) << 32n) | BigInt(`0x${lsn.slice(slash + 1)}`);
}

export function lsnText(v: bigint): string {
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** µs since 2000-01-01 (PostgreSQL's timestamps on the wire) as ISO 8601 in UTC */
export function pgTimeIso(us: bigint): string {
  return new Date(946_684_800_000 + Number(us / 1000n)).toISOString();
}

/** A relation as the stream knows it: where each streamed column is among the relation's, and its decoder. */
interface Relation {
  name: string;
  /** undefined: a table of the publication the stream does not follow */
  table?: SourceTable;
  /** for each column of the SourceTable, its index among the relation's columns */
  at: number[];
  /** the relation's columns, by name */
  columns: string[];
  /** whether each of the relation's columns is part of its replica identity (the columns of a K tuple) */
  identity: boolean[];
  decoders: TextDecoder[];
}

class Reader {
  p = 0;
  constructor(readonly buf: Buffer) {}
  u8(): number {
    return this.buf[this.p++]!;
  }
  i16(): number {
    const v = this.buf.readInt16BE(this.p);
    this.p += 2;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32BE(this.p);
    this.p += 4;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64BE(this.p);
    this.p += 8;
    return v;
  }
  string(): string {
    const end = this.buf.indexOf(0, this.p);
    const s = this.buf.toString('utf8', this.p, end);
    this.p = end + 1;
    return s;
  }
}

export class PgoutputDecoder {
  private readonly relations = new Map<number, Relation>();
  private readonly tables: Map<string, SourceTable>;

  constructor(
    tables: SourceTable[],
    /** the URL's schema: tables in it are named without it, as the source names them */
    private readonly schema: string,
    /** what the stream is told of the tables' columns */
    private readonly known = new Map<string, StreamedColumns>(),
  ) {
    this.tables = new Map(tables.map((t) => [t.name, t]));
  }

  decode(buf: Buffer): PgoutputEvent | undefined {
    const r = new Reader(buf);
    const tag = String.fromCharCode(r.u8());
    switch (tag) {
      case 'B':
        return { kind: 'begin' };
      case 'C': {
        r.u8(); // flags
        r.u64(); // the commit record's LSN
        const end = r.u64();
        return { kind: 'commit', position: lsnText(end), committed: pgTimeIso(r.u64()) };
      }
      case 'R':
        return this.relation(r);
      case 'I': {
        const rel = this.relationOf(r.i32());
        r.u8(); // N
        const after = this.tuple(r, rel);
        return rel.table ? { kind: 'change', change: { table: rel.name, op: 'insert', after: after! } } : undefined;
      }
      case 'U': {
        const rel = this.relationOf(r.i32());
        let kind = String.fromCharCode(r.u8());
        let before: unknown[] | undefined;
        if (kind === 'K' || kind === 'O') {
          before = this.tuple(r, rel, kind === 'K');
          kind = String.fromCharCode(r.u8());
        }
        const after = this.tuple(r, rel);
        if (!rel.table) return undefined;
        // without an old tuple the replica identity did not change: the row's key is the new row's
        before ??= after!.map((v, k) => (rel.identity[rel.at[k]!] ? v : UNCHANGED));
        return { kind: 'change', change: { table: rel.name, op: 'update', before, after: after! } };
      }
      case 'D': {
        const rel = this.relationOf(r.i32());
        const before = this.tuple(r, rel, r.u8() === 0x4b /* K */);
        return rel.table ? { kind: 'change', change: { table: rel.name, op: 'delete', before: before! } } : undefined;
      }
      case 'T': {
        const n = r.i32();
        r.u8(); // options
        const names = Array.from({ length: n }, () => this.relations.get(r.i32())?.name ?? 'a table');
        throw new FerryError(
          'UNSUPPORTED',
          `${names.join(', ')} was truncated on the source while ferry follows it: a TRUNCATE cannot be applied as row changes`,
          'copy the plan again (ferry rollback, then ferry run PLAN --follow), or leave TRUNCATE out while following',
        );
      }
      default:
        // O (origin), Y (type), M (message): nothing the stream needs
        return undefined;
    }
  }

  private relationOf(id: number): Relation {
    const rel = this.relations.get(id);
    if (!rel)
      throw new FerryError(
        'READ_FAILED',
        `pgoutput sent a change of relation ${id} before describing it`,
        'run again; if it persists, report it',
      );
    return rel;
  }

  /**
   * The table's new columns (added on the source), in the relation's order: the stream reads
   * them as the table's last columns from then on.
   */
  extend(table: string, columns: Column[]): void {
    const t = this.tables.get(table)!;
    this.tables.set(table, { ...t, columns: [...t.columns, ...columns] });
    for (const [id, rel] of this.relations)
      if (rel.name === table) this.describe(id, rel.name, rel.columns, rel.identity);
  }

  private relation(r: Reader): PgoutputEvent | undefined {
    const id = r.i32();
    const namespace = r.string() || 'pg_catalog';
    const name = reportedName(namespace, r.string(), this.schema);
    r.u8(); // replica identity
    const identity: boolean[] = [];
    const columns = Array.from({ length: r.i16() }, () => {
      identity.push((r.u8() & 1) === 1);
      const column = r.string();
      r.i32(); // type
      r.i32(); // typmod
      return column;
    });
    const known = this.describe(id, name, columns, identity);
    const added = known ? columns.filter((c) => !known.has(c)) : [];
    return added.length > 0 ? { kind: 'columns', table: name, added } : undefined;
  }

  /** The relation's columns in the streamed table's; the names the table has (undefined: not streamed). */
  private describe(id: number, name: string, columns: string[], identity: boolean[]): Set<string> | undefined {
    const table = this.tables.get(name);
    const added = this.known.get(name)?.added ?? [];
    const at = (table?.columns ?? []).map((c) => {
      const i = columns.indexOf(c.name);
      // a column added while followed, in a relation of before: its rows hold none
      if (i < 0 && added.includes(c.name)) return -1;
      if (i < 0)
        throw new FerryError(
          'UNSUPPORTED',
          `column ${c.name} of ${name} is gone from the source while ferry follows it`,
          'put the column back, or plan and copy the table again without it',
        );
      return i;
    });
    this.relations.set(id, {
      name,
      table,
      at,
      columns,
      identity,
      decoders: (table?.columns ?? []).map((c) => textDecoderFor(c.type)),
    });
    return table && new Set([...table.columns.map((c) => c.name), ...(this.known.get(name)?.leftOut ?? [])]);
  }

  /**
   * A tuple in the columns of the streamed table; a value the message did not carry is UNCHANGED
   * (an unchanged TOAST value, and in a K tuple, which holds the replica identity only, the rest).
   */
  private tuple(r: Reader, rel: Relation, keyOnly = false): unknown[] | undefined {
    const n = r.i16();
    const values = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const kind = r.u8();
      if (kind === 0x74 /* t */) {
        const len = r.i32();
        values[i] = keyOnly && !rel.identity[i] ? UNCHANGED : r.buf.toString('utf8', r.p, r.p + len);
        r.p += len;
      } else if (kind === 0x6e /* n */ || kind === 0x75 /* u */)
        values[i] = kind === 0x75 || (keyOnly && !rel.identity[i]) ? UNCHANGED : null;
      else
        throw new FerryError(
          'READ_FAILED',
          `pgoutput sent a value of ${rel.name} in a form ferry did not ask for (${String.fromCharCode(kind)})`,
          'report this',
        );
    }
    if (!rel.table) return undefined;
    return rel.at.map((i, k) => {
      const v = i < 0 ? null : values[i];
      return typeof v === 'string' ? rel.decoders[k]!(v) : v;
    });
  }
}
