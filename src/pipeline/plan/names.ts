// Target names of a plan: every table, column, index and foreign key name `ferry plan` writes is
// one the target takes (its NameRules: length, characters, case) and unique where the target
// needs it unique. The plan's naming policy comes first (keep, lower, snake); then names too long
// are cut with a hash, and names that collide (case, source schemas flattened into one database,
// equal once cut) get the table's or schema's name in front or a number. Every change is a
// PlanRename: the plan writer comments it (renameNotes), assess lists it.
import type { Connector } from '../../core/contracts.js';
import { applyPolicy, fitName, NameScope, type NamePolicy, type NameRule, type NameRules } from '../../core/names.js';
import { FerryError } from '../../core/errors.js';
import type { Plan, PlanNote, PlanRename, TablePlan } from '../../core/plan.js';
import type { Finding, SchemaInfo } from '../../core/types.js';

/** pgloader's choice: MySQL's and SQLite's names arrive lower case in PostgreSQL, so `select * from artist` works. */
export function defaultPolicy(source: Connector, target: Connector): NamePolicy {
  return target.kind === 'postgres' && (source.kind === 'mysql' || source.kind === 'sqlite') ? 'lower' : 'keep';
}

const KINDS: Record<PlanRename['kind'], string> = {
  table: 'tables',
  column: 'columns',
  index: 'indexes',
  foreignKey: 'foreign keys',
};

/** What the rule changed of a name, in words (empty when it took the name as it was). */
function ruleReasons(name: string, rule: NameRule, engine: string): string[] {
  const out: string[] = [];
  if (rule.invalid && new RegExp(rule.invalid.source, rule.invalid.flags.replace('g', '')).test(name))
    out.push(`holds characters ${engine} names cannot`);
  if (rule.reservedStart?.test(name)) out.push(`starts as only ${engine}'s own names do`);
  if (rule.noTrailingSpace && / $/.test(name)) out.push(`ends in a space, which ${engine} names cannot`);
  if (rule.reserved?.includes(name)) out.push(`${engine} names an attribute of its own so`);
  if (rule.min !== undefined && name.length < rule.min) out.push(`shorter than ${engine}'s ${rule.min} characters`);
  if (rule.max !== undefined) {
    const size = rule.unit === 'bytes' ? Buffer.byteLength(name) : [...name].length;
    if (size > rule.max)
      out.push(`longer than ${engine}'s limit of ${rule.max} ${rule.unit === 'bytes' ? 'bytes' : 'characters'}`);
  }
  return out;
}

/**
 * Gives every target name of the plan a form the target takes, unique in its scope, after the
 * plan's naming policy; returns what changed. `schema` is the source the plan was built from
 * (the source names of the tables foreign keys refer to).
 */
export function nameTargets(
  plan: Plan,
  schema: SchemaInfo,
  source: Connector,
  target: Connector,
  policy: NamePolicy,
): PlanRename[] {
  // PostgreSQL names a table of another schema schema.table: tables of every schema go into one
  // target database, under their own name (elsewhere a dot is part of the name)
  const qualified = (name: string) => source.kind === 'postgres' && name.includes('.');
  const baseName = (name: string) => (qualified(name) ? name.slice(name.lastIndexOf('.') + 1) : name);
  const rules: NameRules = target.capabilities.names ?? { table: {}, column: {}, index: {}, constraint: {} };
  const engine = target.kind;
  const renames: PlanRename[] = [];
  /** the target name of `source` (a `what`) in `scope`, `candidates` tried after it; a change is recorded */
  const name = (
    kind: PlanRename['kind'],
    table: string,
    source: string,
    scope: NameScope,
    rule: NameRule,
    candidates: string[],
    what: string,
  ): string => {
    const wanted = applyPolicy(source, policy);
    const out = scope.claim(
      wanted,
      candidates.map((c) => applyPolicy(c, policy)),
    );
    if (out === source) return out;
    const why: string[] = [];
    if (wanted !== source) why.push(`names: ${policy}`);
    why.push(...ruleReasons(wanted, rule, engine));
    if (out !== fitName(wanted, rule) && !rule.reserved?.includes(fitName(wanted, rule)))
      why.push(`"${fitName(wanted, rule)}" is taken by another ${what}`);
    renames.push({ kind, table, from: source, to: out, why: why.join('; ') || `changed for ${engine}` });
    return out;
  };
  const tables = plan.waves.flatMap((w) => w.tables);
  const info = new Map(schema.tables.map((t) => [t.name, t]));

  // tables: those of the default schema first, so they keep their names; a table of another
  // schema whose name is taken gets its schema's name in front
  const tableScope = new NameScope(rules.table);
  const tableOf = new Map<string, string>();
  const ordered = [...tables].sort((a, b) => Number(qualified(a.source)) - Number(qualified(b.source)));
  for (const tp of ordered) {
    const base = baseName(tp.source);
    const schemaPrefixed = qualified(tp.source) ? [tp.source.replace(/\./g, '_')] : [];
    tableOf.set(tp.source, name('table', tp.source, base, tableScope, rules.table, schemaPrefixed, 'table'));
  }
  const columnsOf = new Map<string, Map<string, string>>();
  for (const tp of tables) {
    tp.target = tableOf.get(tp.source)!;
    const scope = new NameScope(rules.column);
    const columns = new Map<string, string>();
    for (const c of tp.columns) {
      const named = name('column', tp.source, c.source, scope, rules.column, [], 'column of the table');
      columns.set(c.target, named);
      c.target = named;
    }
    columnsOf.set(tp.source, columns);
    const col = (c: string) => columns.get(c) ?? c;
    tp.primaryKey = tp.primaryKey.map(col);
    tp.uniqueKeys = tp.uniqueKeys.map((u) => u.map(col));
    for (const ix of tp.indexes) ix.columns = ix.columns.map(col);
    for (const fk of tp.foreignKeys) fk.columns = fk.columns.map(col);
  }

  // foreign keys refer to the target names of their tables and columns
  for (const tp of tables) {
    const sourceFks = info.get(tp.source)?.foreignKeys ?? [];
    for (const fk of tp.foreignKeys) {
      const ref = sourceFks.find((f) => f.name === fk.name)?.refTable;
      const refSource = ref ?? tables.find((t) => baseName(t.source) === fk.refTable)?.source;
      if (refSource === undefined || !tableOf.has(refSource)) continue;
      fk.refTable = tableOf.get(refSource)!;
      const refColumns = columnsOf.get(refSource)!;
      fk.refColumns = fk.refColumns.map((c) => refColumns.get(c) ?? c);
    }
  }

  // index names: per table or per database, beside the table names where they share a namespace
  const databaseIndexes = new NameScope(rules.index);
  if (rules.indexesShareTableNames) for (const tp of tables) databaseIndexes.take(tp.target);
  const databaseKeys = new NameScope(rules.constraint);
  for (const tp of tables) {
    const indexScope = rules.indexesPerDatabase ? databaseIndexes : new NameScope(rules.index);
    for (const ix of tp.indexes)
      ix.name = name('index', tp.source, ix.name, indexScope, rules.index, [`${tp.target}_${ix.name}`], 'index');
    const keyScope = rules.constraintsPerDatabase ? databaseKeys : new NameScope(rules.constraint);
    for (const fk of tp.foreignKeys)
      fk.name = name(
        'foreignKey',
        tp.source,
        fk.name,
        keyScope,
        rules.constraint,
        [`${tp.target}_${fk.name}`],
        'foreign key',
      );
  }
  return renames;
}

/**
 * Refuses, in one line, a target name of a planned table the target cannot take for its length (a
 * hand-edited plan: `ferry plan` writes names that fit). Where the target refuses a dot in the
 * names the planner writes, a dot in an edited table name names its schema (PostgreSQL's
 * analytics.orders): each part is measured.
 */
export function checkTargetNames(tp: TablePlan, target: Connector, where: string): void {
  const rules = target.capabilities.names;
  if (!rules) return;
  const invalid = rules.table.invalid;
  const schemaDot = invalid !== undefined && new RegExp(invalid.source, invalid.flags.replace('g', '')).test('.');
  const names: [string, string, NameRule][] = [
    ...(schemaDot ? tp.target.split('.') : [tp.target]).map((part): [string, string, NameRule] => [
      'table',
      part,
      rules.table,
    ]),
    ...tp.columns.filter((c) => !c.exclude).map((c): [string, string, NameRule] => ['column', c.target, rules.column]),
    ...tp.indexes.map((i): [string, string, NameRule] => ['index', i.name, rules.index]),
    ...tp.foreignKeys.map((k): [string, string, NameRule] => ['foreign key', k.name, rules.constraint]),
  ];
  for (const [what, name, rule] of names) {
    const unit = rule.unit === 'bytes' ? 'bytes' : 'characters';
    const size = rule.unit === 'bytes' ? Buffer.byteLength(name) : [...name].length;
    const limit =
      rule.max !== undefined && size > rule.max
        ? `longer than ${target.kind}'s limit of ${rule.max} ${unit}`
        : rule.min !== undefined && size < rule.min
          ? `shorter than ${target.kind}'s ${rule.min} ${unit}`
          : undefined;
    if (limit)
      throw new FerryError(
        'PLAN_INVALID',
        `${where}: ${what} name "${name}" is ${size} ${unit}, ${limit}`,
        'shorten it in the plan (`ferry plan` writes names that fit)',
      );
  }
}

/** The plan writer's comment beside each renamed name (the names policy is said once, beside `names:`). */
export function renameNotes(renames: PlanRename[], policy: NamePolicy): PlanNote[] {
  return renames
    .filter((r) => r.why !== `names: ${policy}`)
    .map((r) => ({
      table: r.table,
      at:
        r.kind === 'table'
          ? 'table'
          : r.kind === 'column'
            ? { column: r.to }
            : r.kind === 'index'
              ? { index: r.to }
              : { foreignKey: r.to },
      note: r.why,
    }));
}

/**
 * The findings of a plan's renames: one for the names its policy changed (the plan lists each),
 * one per kind of name for those the target's rules changed, each listing them.
 */
export function renameFindings(renames: PlanRename[], policy: NamePolicy, engine: string): Finding[] {
  const findings: Finding[] = [];
  const byPolicy = renames.filter((r) => r.why === `names: ${policy}`);
  if (byPolicy.length > 0) {
    const counts = Object.entries(KINDS)
      .map(([kind, word]) => [byPolicy.filter((r) => r.kind === kind).length, word] as const)
      .filter(([n]) => n > 0)
      .map(([n, word]) => `${n} ${word}`);
    findings.push({
      severity: 'info',
      code: 'NAMES_POLICY',
      message: `names in ${engine} follow the plan's names: ${policy} (${counts.join(', ')} renamed)`,
      action: 'no action needed; the plan gives each target name (`ferry plan --names keep` keeps the source names)',
    });
  }
  for (const [kind, word] of Object.entries(KINDS)) {
    const changed = renames.filter((r) => r.kind === kind && r.why !== `names: ${policy}`);
    if (changed.length === 0) continue;
    const list = changed
      .map((r) => `${kind === 'table' ? r.table : `${r.table}.${r.from}`} → ${r.to} (${r.why})`)
      .join(', ');
    findings.push({
      severity: 'info',
      code: 'NAMES_CHANGED',
      message: `names shortened or changed for ${engine}: ${word} ${list}`,
      action: 'no action needed; the plan says so beside each name (edit the target names there to choose others)',
    });
  }
  return findings;
}
