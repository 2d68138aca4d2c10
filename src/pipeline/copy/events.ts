// What a run tells its watchers (the terminal's progress, a program's own view) as it goes.

export interface RunStartTable {
  name: string;
  rowsEstimate: number;
  /** rows of chunks earlier runs copied: a resumed run does not copy them again */
  rowsDone: number;
  /** chunks earlier runs copied (0 for a table not split yet) */
  chunksDone: number;
}

export type RunEvent =
  | { type: 'start'; runId: string; tables: RunStartTable[] }
  /** a table is split into chunks (its copy may start); `done` of them were copied by earlier runs */
  | { type: 'chunks'; table: string; chunks: number; done: number }
  | { type: 'phase'; table: string; phase: string }
  /** rows read from the source for a table since the last progress event (negative: an attempt given up, its chunk read again) */
  | { type: 'progress'; table: string; rows: number }
  | { type: 'table-done'; table: string }
  /** live changes: the copy is in, and the changes after `from` are applied from now on */
  | { type: 'following'; from: string }
  /** a batch of live changes is in the target (`lagSeconds`: since the source committed its last transaction) */
  | { type: 'applied'; transactions: number; changes: number; position: string; lagSeconds?: number }
  | { type: 'paused'; until?: string }
  | { type: 'resumed' };
