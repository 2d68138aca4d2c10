// Plan files that cannot be read or are not plans: file:line:column and the path inside it.
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { column, edit, f, items, ROOT, type Row } from './table.js';

export const PLAN_FILES: Row[] = [
  {
    does: 'a plan that does not exist',
    args: () => ['run', 'nope.yaml'],
    code: 2,
    stderr: /^ferry: cannot read plan nope\.yaml: no such file: write one with `ferry plan --source URL --target URL/,
  },
  {
    does: 'status of a plan that does not exist',
    args: () => ['status', 'nope.yaml'],
    code: 2,
    stderr: /^ferry: cannot read plan nope\.yaml: no such file: /,
  },
  {
    does: 'compact of a plan that does not exist',
    args: () => ['compact', 'nope.yaml'],
    code: 2,
    stderr: /^ferry: cannot read plan nope\.yaml: no such file: /,
  },
  {
    does: 'a folder given as the plan',
    args: () => ['verify', 'plans'],
    setup: (dir) => mkdirSync(join(dir, 'plans')),
    code: 2,
    stderr: /^ferry: cannot read plan plans: it is a folder: /,
  },
  {
    does: 'a plan this user may not read',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': f.plan }),
    setup: (dir) => chmodSync(join(dir, 'plan.yaml'), ROOT ? 0o600 : 0o000),
    otherUser: true,
    code: 2,
    stderr: /^ferry: cannot read plan plan\.yaml: permission denied: give this user read access to it$/,
  },
  {
    does: 'an empty plan',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': '' }),
    code: 2,
    stderr: /^ferry: plan\.yaml: plan: Invalid input: expected object, received null: correct the plan/,
  },
  {
    does: 'a binary file as the plan',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 0x7b, 0x7b, 0x5b]) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:1:1: plan: Invalid input: expected object, received string: correct the plan/,
  },
  {
    does: 'a plan with a YAML syntax error',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': 'ferry: 1\nsource: { url: "sqlite:x.db"\ntarget: [\n' }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: .*: fix the YAML syntax$/,
  },
  {
    does: 'a YAML alias bomb',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml':
        'a: &a ["x","x","x","x","x","x","x","x","x"]\n' +
        'bcdefghi'
          .split('')
          .map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]\n`)
          .join(''),
    }),
    code: 2,
    stderr: /^ferry: plan\.yaml: Excessive alias count .*: write the plan without YAML aliases/,
  },
  {
    does: 'a plan of another format version',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.ferry = 2)) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:1:8: ferry: Invalid input: expected 1: correct the plan/,
  },
  {
    does: 'a misspelt key in a plan',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.paralelism = 4)) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: settings: Unrecognized key: "paralelism": correct the plan/,
  },
  {
    does: 'a plan without its target',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => delete p.target) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:1:1: target: Invalid input: expected object, received undefined: correct the plan/,
  },
  {
    does: 'a parallelism that is not a number',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.parallelism = 'zero')) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: settings\.parallelism: Invalid input: expected number, received string: /,
  },
  {
    does: 'a chunk of no rows',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (items(p).chunking.rowsPerChunk = 0)) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: waves\[\d\]\.tables\[\d\]\.chunking\.rowsPerChunk: Too small/,
  },
  {
    does: 'an error budget below zero',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.maxRejects = -1)) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: settings\.maxRejects: Too small/,
  },
  {
    does: 'an ifExists that is not one of its choices',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.target.ifExists = 'sometimes')) }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: target\.ifExists: Invalid option: expected one of "fail"\|"drop"\|"truncate": /,
  },
  {
    does: 'a canonical type that does not exist',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'qty').sourceType = 'integerish')) }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: waves\[\d\]\.tables\[\d\]\.columns\[\d\]\.sourceType: unknown canonical type "integerish": correct the plan$/,
  },
  {
    does: 'a transform that does not exist',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'label').transform = { rot13: {} })) }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: waves\[\d\]\.tables\[\d\]\.columns\[\d\]\.transform: a transform is one of hash, mask or value: /,
  },
  {
    does: 'a hash transform without its salt',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (column(p, 'label').transform = { hash: {} })) }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: waves\[\d\]\.tables\[\d\]\.columns\[\d\]\.transform: a transform is one of hash, mask or value: \{ hash: \{ salt \} \}/,
  },
  {
    does: 'a foreign key to a table the plan does not have',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml': edit(f.plan, (p) =>
        items(p).foreignKeys.push({ name: 'fk_x', columns: ['id'], refTable: 'ghost', refColumns: ['id'] }),
      ),
    }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: .*foreignKeys\[0\]\.refTable: foreign key fk_x refers to "ghost", which is not in the plan/,
  },
  {
    does: "a column renamed in the plan past MySQL/MariaDB's 64 characters",
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.mysqlPlan, (p) => (column(p, 'label').target = 'l'.repeat(70))) }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml: waves\[\d\]\.tables\[\d\]: column name "l{70}" is 70 characters, longer than mysql's limit of 64 characters: shorten it in the plan \(`ferry plan` writes names that fit\)$/,
  },
  {
    does: 'the same target table twice',
    args: () => ['run', 'plan.yaml'],
    files: () => ({
      'plan.yaml': edit(f.plan, (p) => p.waves.at(-1).tables.push({ ...items(p) })),
    }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: waves\[\d\]\.tables\[\d\]\.target: target table "items" appears twice: correct the plan$/,
  },
  {
    does: 'a schedule window that is not one',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.schedule = { windows: ['whenever'] })) }),
    code: 2,
    stderr:
      /^ferry: plan\.yaml:\d+:\d+: settings\.schedule\.windows\[0\]: schedule window "whenever": expected days, a time range and an optional zone/,
  },
  {
    does: 'a retry setting of no attempts',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.retries = { attempts: 0, maxDelaySeconds: 1 })) }),
    code: 2,
    stderr: /^ferry: plan\.yaml:\d+:\d+: settings\.retries\.attempts: Too small/,
  },
  {
    does: 'a state folder inside a file',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.settings.stateDir = 'plan.yaml/state')) }),
    code: 2,
    stderr:
      /^ferry: cannot write \S+plan\.yaml\/state: a part of the path is a file, not a folder: fix the path, or choose another state folder/,
  },
];
