// Live changes: what a source's change log (PostgreSQL logical replication, the MySQL/MariaDB row
// binlog) says happened after a position, as canonical rows, and what a target applies. The
// pipeline (pipeline/follow/) reads transactions from a source's ChangeStream in commit order,
// maps them as the copy maps rows, and hands them to the target in batches that never split a
// source transaction, with the position to store in the same target transaction.

import type { Column } from './types.js';

/**
 * A column value the change log did not carry: PostgreSQL sends a large (TOAST) value an update
 * left unchanged as "unchanged", not as its value. The target keeps what it holds for it.
 */
export const UNCHANGED: unique symbol = Symbol('unchanged');
export type Unchanged = typeof UNCHANGED;

/** One row's change, in the columns of the SourceTable the stream was opened for, in its order. */
export type RowChange =
  | { table: string; op: 'insert'; after: unknown[] }
  /**
   * `before` holds at least the key columns (the row's replica identity) as they were, the other
   * columns UNCHANGED where the log did not carry them; `after` is the row now, UNCHANGED where
   * the log did not carry a value (an unchanged large value).
   */
  | { table: string; op: 'update'; before: unknown[]; after: unknown[] }
  /** `before` holds at least the key columns as they were */
  | { table: string; op: 'delete'; before: unknown[] };

/** A column a streamed table was given on the source while it was streamed. */
export interface AddedColumn {
  table: string;
  column: Column;
}

/** A source transaction: its changes to the streamed tables, in order. */
export interface ChangeTransaction {
  /**
   * Where the log stands right after this transaction: a stream opened from it begins with the
   * next transaction. Opaque to the pipeline (an LSN, a GTID set, a binlog file and offset).
   */
  position: string;
  /** when the source committed it (ISO 8601, UTC), for the lag */
  committed?: string;
  /** empty for a heartbeat: the log moved on without a change to the streamed tables */
  changes: RowChange[];
  /**
   * columns added to streamed tables (ALTER TABLE … ADD COLUMN) before this transaction's
   * changes: from them on, the rows of the table hold them too, after its earlier columns
   */
  added?: AddedColumn[];
  /**
   * the bytes of log its changes took (pgoutput messages, binlog row events): the memory they
   * hold once read is of that order, so the pipeline bounds what it holds by these
   */
  bytes?: number;
}

/** A row change as a target applies it: target columns, keyed by the target table's primary key. */
export type TargetChange =
  /** the whole row: insert it, or replace the row of its key */
  | { op: 'upsert'; row: unknown[] }
  /**
   * the row whose primary key was `key` is now `row` (its key may have changed); a column whose
   * value is UNCHANGED keeps what the target holds
   */
  | { op: 'update'; key: unknown[]; row: unknown[] }
  /** the row whose primary key is `key` is gone (nothing when there is none) */
  | { op: 'delete'; key: unknown[] };
