// Data that does not fit: rejected rows with their reasons, the run stopping at the error budget
// (exit 4), a sample that does not go through (exit 3); what was copied stays.
import { column, edit, f, items, type Row } from './table.js';

export const DATA: Row[] = [
  {
    does: 'a number too large for the type the plan casts it to',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'qty').type = 'smallint')) }),
    code: 4,
    stderr:
      /^ferry: \d+ rows were rejected and the plan allows 0; the last in items: see the reject files in \S+rejects/,
    writes: ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: 'text too long for the type the plan casts it to',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'label').type = 'varchar(5)')) }),
    code: 4,
    stderr: /^ferry: \d+ rows were rejected and the plan allows 0; the last in items/,
    writes: ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: 'too many digits for the decimal the plan casts to',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'price').type = 'decimal(3,2)')) }),
    code: 4,
    stderr: /^ferry: \d+ rows were rejected and the plan allows 0; the last in items/,
    writes: ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: 'NULLs into a column the plan makes NOT NULL',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'note').nullable = false)) }),
    code: 4,
    stderr: /^ferry: \d+ rows were rejected and the plan allows 0; the last in items/,
    writes: ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: 'a unique index on values that repeat',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml': edit(f.plan, (p) => {
        column(p, 'note').transform = { value: 'the same' };
        items(p).indexes.push({ name: 'items_note', columns: ['note'], unique: true });
      }),
    }),
    code: 1,
    stderr: /^ferry: creating the indexes of table items: UNIQUE constraint failed: items\.note: /,
    writes: ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'],
  },
  {
    does: 'a sample with values that do not fit',
    args: () => ['test', 'plan.yaml', '--sample', '50'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'qty').type = 'smallint')) }),
    code: 3,
    stdout: /items: rejected: column qty: \d+ is outside the range of int16/,
    writes: ['.ferry', 'target.db', 'target.db-wal', 'target.db-shm'],
  },
];
