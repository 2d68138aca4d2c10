// Where filters that are not one boolean expression, or that the source's engine refuses: one
// line naming the plan, the table and why, before anything is connected to for writing (no
// state folder, no target file, nothing in the shared targets).
import { edit, f, items, type Row } from './table.js';

const withWhere =
  (where: string, plan = () => f.plan) =>
  () => ({
    'plan.yaml': edit(plan(), (p) => (items(p).where = where)),
  });
const refused = (why: string) =>
  new RegExp(
    `^ferry: plan\\.yaml: waves\\[0\\]\\.tables\\[\\d+\\]\\.where: the filter .* of table items cannot be used: ${why}: write one boolean expression`,
  );

export const WHERE_FILTERS: Row[] = [
  {
    does: 'a filter that closes the parentheses it is placed in',
    args: () => ['run', 'plan.yaml'],
    files: withWhere('1=1) OR (1=1'),
    code: 2,
    stderr: refused('it closes a parenthesis it did not open'),
  },
  {
    does: 'the same filter given to verify',
    args: () => ['verify', 'plan.yaml'],
    files: withWhere('1=1) OR (1=1'),
    code: 2,
    stderr: refused('it closes a parenthesis it did not open'),
  },
  {
    does: 'the same filter given to test',
    args: () => ['test', 'plan.yaml', '--sample', '10'],
    files: withWhere('1=1) OR (1=1'),
    code: 2,
    stderr: refused('it closes a parenthesis it did not open'),
  },
  {
    does: 'a filter that closes its parentheses into a MySQL target',
    args: () => ['run', 'plan.yaml'],
    files: withWhere('id > 0) OR (id < 0', () => f.mysqlPlan),
    code: 2,
    stderr: refused('it closes a parenthesis it did not open'),
  },
  {
    does: 'a filter with a second statement',
    args: () => ['run', 'plan.yaml'],
    files: withWhere('id > 0; DROP TABLE items'),
    code: 2,
    stderr: refused('it holds a ";": one expression, not statements'),
  },
  {
    does: 'a filter that comments out the rest',
    args: () => ['run', 'plan.yaml'],
    files: withWhere('id > 0 --'),
    code: 2,
    stderr: refused('it holds a comment, which would hide what follows it'),
  },
  {
    does: 'a filter with a block comment',
    args: () => ['run', 'plan.yaml'],
    files: withWhere('id > 0 /* and the rest'),
    code: 2,
    stderr: refused('it holds a comment, which would hide what follows it'),
  },
  {
    does: 'a filter that leaves a parenthesis open',
    args: () => ['run', 'plan.yaml'],
    files: withWhere('(id > 0 OR id < 0'),
    code: 2,
    stderr: refused('it leaves a parenthesis open'),
  },
  {
    does: 'a filter whose string is not closed',
    args: () => ['run', 'plan.yaml'],
    files: withWhere("label = 'item 1"),
    code: 2,
    stderr: refused('a string is not closed'),
  },
  {
    does: "a filter that escapes its string's quote to close the parentheses",
    args: () => ['run', 'plan.yaml'],
    files: withWhere("label = E'\\\\') OR (1=1'"),
    code: 2,
    stderr: refused('it closes a parenthesis it did not open'),
  },
  {
    does: 'a filter that is empty',
    args: () => ['run', 'plan.yaml'],
    files: withWhere('  '),
    code: 2,
    stderr: refused('it is empty'),
  },
  {
    does: 'a filter on a column the table does not have',
    args: () => ['run', 'plan.yaml'],
    files: withWhere('colour = 1'),
    code: 2,
    stderr: refused('column "colour" does not exist'),
  },
  {
    does: 'a filter that is not an expression',
    args: () => ['run', 'plan.yaml'],
    files: withWhere('id >'),
    code: 2,
    stderr: refused('syntax error at or near "\\)"'),
  },
  {
    does: 'a filter that compares a number with text',
    args: () => ['verify', 'plan.yaml'],
    files: withWhere("qty = 'many'"),
    code: 2,
    stderr: refused('invalid input syntax for type integer: "many"'),
  },
];
