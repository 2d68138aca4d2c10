// The plan: a reviewable YAML file that says exactly what moves where. Validated on load
// with messages that point at the offending place (file:line:column and path).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Document, LineCounter, parseDocument, isMap, isNode, isSeq, visit } from 'yaml';
import { z } from 'zod';
import { FerryError } from './errors.js';
import { parseWindow } from './schedule.js';
import { NAME_POLICIES } from './names.js';
import { hasLiteralPassword, onlyReferences, resolveSecretText, secretId } from './secrets.js';
import { parseType } from './types.js';

const name = z.string().min(1);
const int = (min: number) => z.number().int().min(min);

/** How often and how long a chunk is tried again after a transient error, unless the plan says otherwise. */
export const DEFAULT_RETRIES = { attempts: 8, maxDelaySeconds: 30 };

const TRANSFORMS = [
  z.strictObject({
    hash: z
      .strictObject({
        salt: z
          .string({ error: 'the hash needs a secret key: write salt: "${env:NAME}" or "${file:path}"' })
          .describe('the secret key of the hash: ${env:NAME} or ${file:path}, at least 16 characters'),
      })
      .describe('HMAC-SHA-256 of the value keyed by the secret salt, as hex'),
  }),
  z.strictObject({
    mask: z
      .strictObject({
        keepFirst: int(0).default(0),
        keepLast: int(0).default(0),
        char: z.string().length(1).default('*'),
      })
      .describe('replace all but the first/last characters'),
  }),
  z.strictObject({
    value: z.union([z.string(), z.number(), z.boolean(), z.null()]).describe('a fixed value for every row'),
  }),
] as const;

export const TransformSchema = z.union(TRANSFORMS, {
  error:
    'a transform is one of hash, mask or value: { hash: { salt } }, { mask: { keepFirst, keepLast, char } }, { value }',
});

export const ColumnPlanSchema = z.strictObject({
  source: name.describe('column name in the source'),
  target: name.describe('column name in the target'),
  sourceType: z.string().describe('canonical type of the source column (int64, decimal(10,2), timestamptz(6), …)'),
  type: z.string().describe('native type created in the target; change it to cast the column'),
  nullable: z.boolean().default(true),
  default: z.string().optional().describe('default expression in the target dialect'),
  autoIncrement: z.boolean().optional(),
  exclude: z.boolean().optional().describe('leave this column out of the copy'),
  transform: TransformSchema.optional().describe('personal-data transform applied to every value'),
});

const IndexPlanSchema = z.strictObject({ name, columns: z.array(name).min(1), unique: z.boolean().default(false) });
const ForeignKeyPlanSchema = z.strictObject({
  name,
  columns: z.array(name).min(1),
  refTable: name,
  refColumns: z.array(name).min(1),
  onDelete: z.string().optional(),
  onUpdate: z.string().optional(),
  onOrphans: z
    .enum(['skip-key', 'reject-rows', 'not-valid'])
    .optional()
    .describe(
      'rows whose key finds no parent (a source that does not enforce the key): skip-key copies them and leaves the key out; reject-rows rejects them with the reason (the error budget applies); not-valid copies them and adds the key unchecked for them, checked for rows written later (NOT VALID in PostgreSQL; MySQL and SQLite too; not object stores or DynamoDB). Without it the key is added checked, and such rows make the run fail at the end',
    ),
});

export const TablePlanSchema = z.strictObject({
  source: name.describe('table name in the source'),
  target: name.describe('table name in the target'),
  where: z.string().optional().describe('row filter, in the source SQL dialect'),
  rowEstimate: int(0).optional(),
  chunking: z.strictObject({
    key: z.array(name).describe('source columns the table is split by; empty: one chunk'),
    rowsPerChunk: int(1),
  }),
  columns: z.array(ColumnPlanSchema).min(1),
  primaryKey: z.array(name).default([]).describe('target column names'),
  uniqueKeys: z.array(z.array(name)).default([]),
  indexes: z.array(IndexPlanSchema).default([]),
  foreignKeys: z.array(ForeignKeyPlanSchema).default([]),
  options: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('target-specific table options (object layout, DynamoDB keys, …), checked by the target connector'),
});

export const PlanSchema = z.strictObject({
  ferry: z.literal(1).describe('plan format version'),
  name: z.string().optional(),
  names: z
    .enum(NAME_POLICIES)
    .optional()
    .describe(
      'how `ferry plan` named the target tables, columns, indexes and foreign keys: keep (as in the source), lower (lower case), snake (snake_case); names the target cannot take or that collide there are changed in any case, with a comment beside each. A run uses the target names as the plan gives them',
    ),
  source: z.strictObject({
    url: z.string().min(1).describe('source endpoint; use ${env:NAME} or ${file:path} for secrets'),
    zeroDates: z
      .enum(['null', 'reject', 'text'])
      .default('reject')
      .describe('MySQL 0000-00-00 dates: write NULL, reject the row, or keep as text'),
    numericDates: z
      .enum(['reject', 'unixepoch', 'julianday'])
      .optional()
      .describe(
        'SQLite numbers in date and timestamp columns: reject the row (the default), or read them as Unix epoch seconds or Julian day numbers',
      ),
  }),
  target: z.strictObject({
    url: z.string().min(1),
    ifExists: z
      .enum(['fail', 'drop', 'truncate'])
      .default('fail')
      .describe('what to do when a target table exists before the first run'),
    options: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('target-specific options (file format, compression, capacity, …), checked by the target connector'),
  }),
  settings: z
    .strictObject({
      parallelism: int(1).default(4).describe('chunks copied at once'),
      batchRows: int(1).default(1000).describe('rows per read/write batch'),
      maxRejects: int(0).default(0).describe('error budget: rows the target may refuse before the run stops'),
      stateDir: z.string().default('.ferry'),
      schedule: z
        .strictObject({
          windows: z
            .array(z.string())
            .min(1)
            .describe('e.g. "Sat 01:00-05:00 UTC", "Mon-Fri 22:00-06:00 Europe/Paris", "daily 00:00-06:00"'),
        })
        .optional()
        .describe(
          'copy only inside these windows: outside them a run pauses between chunks (a chunk in flight finishes) and resumes inside',
        ),
      throttle: z
        .strictObject({
          rowsPerSecond: int(1).optional().describe('rows read from the source per second, at most'),
          bytesPerSecond: int(1).optional().describe('bytes of row data read from the source per second, at most'),
          sourceConnections: int(1)
            .optional()
            .describe('source reader connections at most (plus one that holds the snapshot); caps parallelism'),
        })
        .optional()
        .describe('limits that keep the load on a live source low'),
      retries: z
        .strictObject({
          attempts: int(1)
            .default(DEFAULT_RETRIES.attempts)
            .describe('tries of a chunk at most, the first included, when it fails with a transient error'),
          maxDelaySeconds: z
            .number()
            .positive()
            .default(DEFAULT_RETRIES.maxDelaySeconds)
            .describe('the longest wait between two tries (the waits double from half a second, with jitter)'),
        })
        .prefault({})
        .describe(
          'chunks that fail with a transient error (a dropped connection, a server restart, a deadlock) are tried again; the defaults wait at least 30 s in all',
        ),
      perf: z
        .strictObject({
          slowerThan: z
            .number()
            .positive()
            .default(2)
            .describe(
              "ferry perf fails a query whose p95 time on the target is more than this many times the source's",
            ),
          floorMs: z
            .number()
            .nonnegative()
            .default(5)
            .describe('…and more than this many milliseconds: below it, differences are noise'),
        })
        .optional()
        .describe('the thresholds of ferry perf, the check that the target answers the queries as fast as the source'),
      backup: z
        .strictObject({
          before: z
            .boolean()
            .default(false)
            .describe('back up the source, and the target tables that exist, before the first run of this plan'),
          to: z.string().min(1).describe('where backups go: a folder, or s3://bucket/prefix?region=…'),
          keyEnv: z
            .string()
            .min(1)
            .optional()
            .describe(
              'environment variable holding the encryption key (32 bytes as hex or base64); default FERRY_BACKUP_KEY',
            ),
          keyFile: z.string().min(1).optional().describe('file holding the encryption key, kept away from the backups'),
        })
        .optional()
        .describe('encrypted, compressed backups (AES-256-GCM, gzip)'),
    })
    .prefault({}),
  cdc: z
    .strictObject({
      slot: name.describe('PostgreSQL: the replication slot ferry creates and follows'),
      publication: name.describe('PostgreSQL: the publication ferry creates for the tables of the plan'),
      heartbeatSeconds: int(1)
        .default(10)
        .describe('how often, without changes, the stream says where the log stands (so the source can let go of it)'),
      batch: z
        .strictObject({
          transactions: int(1).default(1000).describe('source transactions at most in one target transaction'),
          changes: int(1)
            .default(10_000)
            .describe('row changes at most in one target transaction (a bigger source transaction stays whole)'),
          bytes: int(1)
            .default(8 * 2 ** 20)
            .describe(
              'bytes of the source log (about what the changes take in memory) at most in one target transaction (a bigger source transaction stays whole)',
            ),
          waitMs: int(0)
            .default(200)
            .describe('how long a batch waits, from its first transaction, for more before it is applied'),
        })
        .prefault({}),
    })
    .optional()
    .describe(
      'live changes (`ferry run --follow`): the names of what ferry keeps on the source for the stream, and how changes are batched',
    ),
  waves: z
    .array(z.strictObject({ tables: z.array(TablePlanSchema) }))
    .min(1)
    .describe('groups of tables in foreign-key order'),
});

export type Plan = z.infer<typeof PlanSchema>;
export type TablePlan = z.infer<typeof TablePlanSchema>;
export type ColumnPlan = z.infer<typeof ColumnPlanSchema>;
export type Transform = z.infer<typeof TransformSchema>;

/** A target name `ferry plan` chose other than the source's, and why (the plan writer comments it). */
export interface PlanRename {
  kind: 'table' | 'column' | 'index' | 'foreignKey';
  /** the source name of the planned table (of the table itself, or the one the column, index or key belongs to) */
  table: string;
  from: string;
  to: string;
  why: string;
}

/**
 * A comment the plan writer puts beside something ferry decided for the target that the user may
 * want to change: a rename, a type from the data, a choice for orphan rows, a key template.
 */
export interface PlanNote {
  /** the source name of the planned table */
  table: string;
  /** beside what: the table's target name, a column (by target name), an index or foreign key (by name), a table option */
  at: 'table' | { column: string } | { index: string } | { foreignKey: string } | { option: string };
  note: string;
}

/** The plan schema's `$id`: a name, not an address (the file travels in the package, `schema/`). */
export const PLAN_SCHEMA_ID = 'urn:ferry:plan:1';

export function planJsonSchema(): object {
  const { $schema, ...schema } = z.toJSONSchema(PlanSchema, { io: 'input' });
  return { $schema, $id: PLAN_SCHEMA_ID, ...schema };
}

function pathText(path: PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/** Checks that go beyond the shape: types parse, names resolve, foreign keys refer to tables of the plan. */
function semanticIssues(plan: Plan): { path: PropertyKey[]; message: string }[] {
  const issues: { path: PropertyKey[]; message: string }[] = [];
  for (const side of ['source', 'target'] as const)
    if (hasLiteralPassword(plan[side].url))
      issues.push({
        path: [side, 'url'],
        message: 'the URL holds a literal password: write ${env:NAME} or ${file:path} in its place',
      });
  plan.waves.forEach((w, wi) =>
    w.tables.forEach((t, ti) =>
      t.columns.forEach((c, ci) => {
        if (c.transform && 'hash' in c.transform && !onlyReferences(c.transform.hash.salt))
          issues.push({
            path: ['waves', wi, 'tables', ti, 'columns', ci, 'transform', 'hash', 'salt'],
            message:
              'the salt is written in the plan, so it is no secret: write ${env:NAME} or ${file:path} in its place',
          });
      }),
    ),
  );
  plan.settings.schedule?.windows.forEach((w, i) => {
    try {
      parseWindow(w);
    } catch (e) {
      issues.push({ path: ['settings', 'schedule', 'windows', i], message: (e as FerryError).message });
    }
  });
  if (plan.settings.backup?.keyEnv && plan.settings.backup.keyFile)
    issues.push({ path: ['settings', 'backup', 'keyFile'], message: 'give keyEnv or keyFile, not both' });
  const waveOf = new Map<string, number>();
  plan.waves.forEach((w, wi) =>
    w.tables.forEach((t, ti) => {
      if (waveOf.has(t.target))
        issues.push({
          path: ['waves', wi, 'tables', ti, 'target'],
          message: `target table "${t.target}" appears twice`,
        });
      waveOf.set(t.target, wi);
    }),
  );
  plan.waves.forEach((w, wi) =>
    w.tables.forEach((t, ti) => {
      const at = ['waves', wi, 'tables', ti];
      const sourceCols = new Set(t.columns.map((c) => c.source));
      const targetCols = new Set<string>();
      t.columns.forEach((c, ci) => {
        try {
          parseType(c.sourceType);
        } catch (e) {
          issues.push({ path: [...at, 'columns', ci, 'sourceType'], message: (e as FerryError).message });
        }
        if (!c.exclude) {
          if (targetCols.has(c.target))
            issues.push({ path: [...at, 'columns', ci, 'target'], message: `column "${c.target}" appears twice` });
          targetCols.add(c.target);
        }
      });
      t.chunking.key.forEach((k, ki) => {
        const col = t.columns.find((c) => c.source === k);
        if (!sourceCols.has(k))
          issues.push({
            path: [...at, 'chunking', 'key', ki],
            message: `chunk key "${k}" is not a column of ${t.source}`,
          });
        else if (col && (col.exclude || col.transform))
          issues.push({
            path: [...at, 'chunking', 'key', ki],
            message: `chunk key "${k}" cannot be excluded or transformed`,
          });
      });
      const checkCols = (cols: string[], p: PropertyKey[]) =>
        cols.forEach((c, i) => {
          if (!targetCols.has(c))
            issues.push({ path: [...p, i], message: `"${c}" is not a target column of ${t.target}` });
        });
      checkCols(t.primaryKey, [...at, 'primaryKey']);
      t.uniqueKeys.forEach((u, ui) => checkCols(u, [...at, 'uniqueKeys', ui]));
      t.indexes.forEach((ix, ii) => checkCols(ix.columns, [...at, 'indexes', ii, 'columns']));
      t.foreignKeys.forEach((fk, fi) => {
        checkCols(fk.columns, [...at, 'foreignKeys', fi, 'columns']);
        // any wave will do: foreign keys are added after all the data (a cycle cannot be ordered)
        if (!waveOf.has(fk.refTable))
          issues.push({
            path: [...at, 'foreignKeys', fi, 'refTable'],
            message: `foreign key ${fk.name} refers to "${fk.refTable}", which is not in the plan (drop the foreign key or add the table)`,
          });
      });
    }),
  );
  return issues;
}

/** Parses and validates plan text; errors name file:line:col and the path inside the plan. */
export function parsePlan(text: string, file = 'plan'): Plan {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new FerryError(
      'PLAN_INVALID',
      `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split(' at line ')[0]!.split('\n')[0]}`,
      'fix the YAML syntax',
    );
  }
  const where = (path: PropertyKey[]): string => {
    for (let p = [...path]; p.length >= 0; p.pop()) {
      const node = doc.getIn(p as (string | number)[], true);
      if (isNode(node) && node.range) {
        const { line, col } = lineCounter.linePos(node.range[0]);
        return `${file}:${line}:${col}`;
      }
      if (p.length === 0) break;
    }
    return file;
  };
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (e) {
    // the yaml library stops a document whose aliases would expand without bound (an "alias bomb")
    throw new FerryError(
      'PLAN_INVALID',
      `${file}: ${(e as Error).message}`,
      'write the plan without YAML aliases (ferry plan writes none)',
    );
  }
  const parsed = PlanSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
    throw new FerryError(
      'PLAN_INVALID',
      `${where(issue.path)}: ${pathText(issue.path) || 'plan'}: ${issue.message}${more}`,
      'correct the plan (its JSON Schema is schema/ferry.plan.schema.json)',
    );
  }
  const issues = semanticIssues(parsed.data);
  if (issues.length > 0) {
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    throw new FerryError(
      'PLAN_INVALID',
      `${where(issues[0]!.path)}: ${pathText(issues[0]!.path)}: ${issues[0]!.message}${more}`,
      'correct the plan',
    );
  }
  return parsed.data;
}

/** The keys of a plan's hash transforms, resolved: by the salt as the plan writes it (a reference). */
export type TransformKeys = Map<string, Buffer>;

/** A key shorter than this is guessed from the hashes it made (the values hashed are often guessable too). */
const MIN_KEY_CHARS = 16;

/**
 * Resolves the secret of every hash transform of a plan (a variable not set, a file not
 * readable, a key too short: one line naming the column).
 */
export function transformKeys(plan: Plan, file = 'plan'): TransformKeys {
  const keys: TransformKeys = new Map();
  for (const t of allTables(plan))
    for (const c of t.columns) {
      if (!c.transform || !('hash' in c.transform) || keys.has(c.transform.hash.salt)) continue;
      const ref = c.transform.hash.salt;
      const where = `${file}: ${t.source}.${c.source}`;
      let key: string;
      try {
        key = resolveSecretText(ref, 'the hash salt');
      } catch (e) {
        const err = e as FerryError;
        throw new FerryError(err.code, `${where}: ${err.message}`, err.action);
      }
      if ([...key].length < MIN_KEY_CHARS)
        throw new FerryError(
          'SECRET_MISSING',
          `${where}: the hash salt ${ref} has ${[...key].length} characters, fewer than ${MIN_KEY_CHARS}`,
          `use a random secret of at least ${MIN_KEY_CHARS} characters, e.g. from \`openssl rand -base64 32\``,
        );
      keys.set(ref, Buffer.from(key, 'utf8'));
    }
  return keys;
}

/** Why a plan file cannot be read, by the file system's error code. */
const UNREADABLE: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
};

/** Loads a plan and resolves its transform keys; its hash names its state. */
export function loadPlan(file: string): { plan: Plan; text: string; hash: string; keys: TransformKeys } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code ?? '';
    const why = UNREADABLE[errno] ?? (e as Error).message;
    throw new FerryError(
      'PLAN_NOT_FOUND',
      `cannot read plan ${file}: ${why}`,
      errno === 'EACCES'
        ? 'give this user read access to it'
        : 'write one with `ferry plan --source URL --target URL -o ferry.plan.yaml`',
    );
  }
  const plan = parsePlan(text, file);
  const keys = transformKeys(plan, file);
  return { plan, text, hash: planHash(plan, keys), keys };
}

/**
 * The hash that names a plan's state: what is copied and how it is mapped. Settings
 * (parallelism, batch size, error budget) and how changes are followed (cdc) are left out so
 * they can change between runs. A
 * hash transform counts by its key, not by how the plan refers to it: the same key moved
 * from a variable to a file keeps the state; another key writes other values, a new copy.
 */
export function planHash(plan: Plan, keys: TransformKeys): string {
  const { settings: _settings, cdc: _cdc, ...what } = plan;
  const keyed = {
    ...what,
    waves: what.waves.map((w) => ({
      tables: w.tables.map((t) => ({
        ...t,
        columns: t.columns.map((c) => {
          if (!c.transform || !('hash' in c.transform)) return c;
          const key = keys.get(c.transform.hash.salt);
          if (!key) throw new FerryError('INTERNAL', `the key of ${t.source}.${c.source} was not resolved`);
          return { ...c, transform: { hash: { key: secretId(key, 'ferry transform key id') } } };
        }),
      })),
    })),
  };
  return createHash('sha256').update(JSON.stringify(keyed)).digest('hex').slice(0, 16);
}

/**
 * YAML of a plan, one line per column, index and foreign key, so a review reads like a table;
 * each note is a comment beside what it is about (several beside one thing: one comment).
 */
export function planToYaml(plan: Plan, header = '', notes: PlanNote[] = []): string {
  const doc = new Document(plan, { aliasDuplicateObjects: false });
  visit(doc, {
    Pair(_key, pair, path) {
      const name = isNode(pair.key) ? String((pair.key as { value?: unknown }).value) : String(pair.key);
      const inTable = path.length >= 7;
      if (inTable && ['columns', 'indexes', 'foreignKeys', 'uniqueKeys'].includes(name) && isSeq(pair.value))
        for (const item of pair.value.items) if (isMap(item) || isSeq(item)) item.flow = true;
      if (
        ['key', 'primaryKey', 'columns', 'refColumns'].includes(name) &&
        isSeq(pair.value) &&
        pair.value.items.every((i) => !isMap(i))
      )
        pair.value.flow = true;
      if (name === 'chunking' && isMap(pair.value)) pair.value.flow = true;
    },
  });
  const seqAt = (path: (string | number)[]) => doc.getIn(path, true);
  const policy = seqAt(['names']);
  if (plan.names && plan.names !== 'keep' && isNode(policy))
    policy.comment = ` target names are the source's in ${plan.names === 'lower' ? 'lower case' : 'snake_case'}; a comment beside a name says why it differs otherwise`;
  plan.waves.forEach((w, wi) =>
    w.tables.forEach((t, ti) => {
      const at = ['waves', wi, 'tables', ti];
      const pathOf = (where: PlanNote['at']): (string | number)[] | undefined => {
        if (where === 'table') return [...at, 'target'];
        if ('option' in where) return [...at, 'options', where.option];
        const [key, i] =
          'column' in where
            ? ['columns', t.columns.findIndex((c) => c.target === where.column)]
            : 'index' in where
              ? ['indexes', t.indexes.findIndex((x) => x.name === where.index)]
              : ['foreignKeys', t.foreignKeys.findIndex((x) => x.name === where.foreignKey)];
        return i >= 0 ? [...at, key, i] : undefined;
      };
      for (const n of notes) {
        if (n.table !== t.source) continue;
        const path = pathOf(n.at);
        const node = path && seqAt(path);
        if (isNode(node)) node.comment = node.comment ? `${node.comment}; ${n.note}` : ` ${n.note}`;
      }
    }),
  );
  return header + doc.toString({ lineWidth: 0 });
}

export function allTables(plan: Plan): TablePlan[] {
  return plan.waves.flatMap((w) => w.tables);
}
