// `ferry assess`: what the source holds and what will need attention in the target,
// before anything is written. Also the planner: `ferry plan` writes a reviewable plan.
import { connect } from '../../connectors/index.js';
import type { Connector } from '../../core/contracts.js';
import { silentLogger, type Logger } from '../../core/log.js';
import {
  allTables,
  DEFAULT_RETRIES,
  type Plan,
  type PlanNote,
  type PlanRename,
  type TablePlan,
} from '../../core/plan.js';
import type { CanonicalType, Finding, SchemaInfo, TableInfo } from '../../core/types.js';
import { formatType } from '../../core/types.js';
import { alwaysFits } from '../../core/values.js';
import { hasLiteralPassword } from '../../core/secrets.js';
import { redactUrl } from '../../core/url.js';
import { FerryError } from '../../core/errors.js';
import { mapTable } from './mapping.js';
import { sourceSide, targetSide } from '../session/sides.js';
import { dataType, dataTypeFinding } from './data-types.js';
import {
  emptyKeyFindings,
  keyKeepsOrder,
  keySizeFindings,
  keySizeNote,
  schemaKeySizes,
  type KeySizes,
  type SizedColumn,
} from './key-types.js';
import { DataProfile, measure } from './profile.js';
import { waves } from './waves.js';
import { groupFindings, type FindingGroup } from './findings.js';
import { defaultOrphanChoice, orphanFinding, orphanNote } from './foreign-keys.js';
import { defaultPolicy, nameTargets, renameFindings, renameNotes } from './names.js';
import type { NamePolicy } from '../../core/names.js';

/** What `buildPlan` decided for each plan it made that the user may want to change. */
const DECIDED = new WeakMap<Plan, { renames: PlanRename[]; notes: PlanNote[] }>();

/** What `buildPlan` (or `makePlan`) renamed in this plan for its target (assess lists them). */
export function planRenames(plan: Plan): PlanRename[] {
  return DECIDED.get(plan)?.renames ?? [];
}

/** The comments the plan writer puts beside what `buildPlan` decided: renames, types from the data, orphan choices, the target's proposal. */
export function planNotes(plan: Plan): PlanNote[] {
  return DECIDED.get(plan)?.notes ?? [];
}

export interface AssessOptions {
  source: string;
  target?: string;
  tables?: string[];
  /** also check that the source can give its live changes (`ferry run --follow`) */
  follow?: boolean;
  log?: Logger;
}

export interface TableInventory {
  name: string;
  rows: number;
  bytes: number;
  columns: number;
  primaryKey: string[];
  foreignKeys: { columns: string[]; refTable: string }[];
  largeObjectColumns: string[];
  wave: number;
}

export interface Assessment {
  source: { url: string; engine: string; version: string };
  target?: { url: string; engine: string };
  tables: TableInventory[];
  totals: { tables: number; rows: number; bytes: number };
  /** every finding, one per place (table, column) */
  findings: Finding[];
  /** the findings as a person reads them: one per kind, with the places it concerns */
  groups: FindingGroup[];
  /** rough seconds for the copy, from rows and bytes at typical rates */
  estimatedSeconds: number;
}

// typical sustained rates of a copy on modest hardware, for the estimate only
const ROWS_PER_SECOND = 150_000;
const BYTES_PER_SECOND = 40 * 1024 * 1024;

/** The chunk key: the primary key (else a unique key) when every column orders the same in the source and the target. */
export function chunkKey(t: TableInfo, source: Connector, target?: Connector): string[] {
  const orders = (kind: CanonicalType['kind']) =>
    source.capabilities.portableKeyKinds.includes(kind) &&
    (!target || target.capabilities.portableKeyKinds.includes(kind));
  const portable = (cols: string[]) =>
    cols.length > 0 && cols.every((c) => orders(t.columns.find((x) => x.name === c)!.type.kind));
  if (portable(t.primaryKey)) return t.primaryKey;
  const nonNullUnique = t.uniqueKeys.find(
    (u) => portable(u) && u.every((c) => !t.columns.find((x) => x.name === c)!.nullable),
  );
  return nonNullUnique ?? [];
}

function tableFindings(
  t: TableInfo,
  source: Connector,
  target: Connector | undefined,
  names: Set<string>,
  profile: DataProfile,
  sizes: KeySizes | undefined,
): Finding[] {
  const f: Finding[] = [];
  const key = chunkKey(t, source, target);
  if (t.primaryKey.length === 0)
    f.push({
      severity: 'warning',
      code: 'NO_PRIMARY_KEY',
      table: t.name,
      message: `${t.name} has no primary key`,
      action:
        key.length > 0
          ? `it is chunked by the unique key (${key.join(', ')}); consider adding a primary key`
          : 'it is copied as one chunk (an interruption restarts the table) and verified as a whole; add a primary key for resumable chunks and row-level verification',
    });
  else if (key.length === 0)
    f.push({
      severity: 'info',
      code: 'UNCHUNKABLE_KEY',
      table: t.name,
      message: `${t.name}'s primary key (${t.primaryKey.join(', ')}) sorts differently across engines`,
      action: 'it is copied as one chunk; an interruption restarts this table',
    });
  for (const fk of t.foreignKeys)
    if (!names.has(fk.refTable))
      f.push({
        severity: 'warning',
        code: 'FK_OUTSIDE',
        table: t.name,
        message: `foreign key ${fk.name} of ${t.name} refers to ${fk.refTable}, which is not selected`,
        action: `add ${fk.refTable} to the selection, or remove the foreign key from the plan`,
      });
    else {
      const orphans = profile.get(t.name, { kind: 'orphans', foreignKey: fk })?.rows ?? 0;
      if (orphans > 0) f.push(orphanFinding(t.name, fk, orphans, target));
    }
  for (const c of t.columns) {
    if (source.capabilities.zeroDates && (c.type.kind === 'date' || c.type.kind === 'timestamp'))
      f.push({
        severity: 'info',
        code: 'ZERO_DATES',
        table: t.name,
        column: c.name,
        message: `${t.name}.${c.name} may hold MySQL zero dates (0000-00-00)`,
        action: "the plan's source.zeroDates decides: reject (default), null, or text",
      });
    if (!target) continue;
    if (source.ownType?.(c.nativeType)) {
      if (source.kind !== target.kind)
        f.push({
          severity: 'info',
          code: 'TYPE_AS_TEXT',
          table: t.name,
          column: c.name,
          message: `${t.name}.${c.name} ${c.nativeType} has no ${target.kind} type: stored as ${source.kind}'s text for it`,
          action:
            'no action needed; docs/types.md lists the text forms (a plan back into the source engine can name the type again)',
        });
      continue;
    }
    const decided = dataType(t.name, c, target, profile);
    if (decided) {
      f.push(dataTypeFinding(t.name, c, decided, target));
      continue;
    }
    const choice = target.nativeType(c.type);
    const stored = target.canonicalType(choice.native);
    // bool never "always fits" (loosely typed engines hold other values) but maps to bool faithfully
    const lossy = !alwaysFits(c.type, stored) && !(c.type.kind === 'bool' && stored.kind === 'bool');
    if (choice.note || lossy) {
      f.push({
        severity: lossy ? 'warning' : 'info',
        code: lossy ? 'TYPE_NARROWED' : 'TYPE_MAPPED',
        table: t.name,
        column: c.name,
        message: `${t.name}.${c.name} ${c.nativeType} (${formatType(c.type)}) becomes ${choice.native} in ${target.kind}${choice.note ? `: ${choice.note}` : ''}`,
        action: lossy
          ? 'values that do not fit are rejected with the reason; change the column type in the plan to keep them'
          : 'no action needed; review the type in the plan',
      });
    }
  }
  if (target && sizes) f.push(...keySizeFindings(t, sizes, target));
  if (target) f.push(...emptyKeyFindings(t, target, profile));
  return f;
}

export async function assess(opts: AssessOptions): Promise<Assessment> {
  const log = opts.log ?? silentLogger;
  const source = await connect(opts.source, log);
  let target: Connector | undefined;
  try {
    sourceSide(source);
    target = opts.target ? await connect(opts.target, log) : undefined;
    if (target) targetSide(target);
    const schema = await source.introspect(opts.tables ? { tables: opts.tables } : undefined);
    return await assessSchema(schema, source, target, opts);
  } finally {
    await Promise.allSettled([source.close(), target?.close()]);
  }
}

/** What the source lacks to give its live changes, as `ferry run --follow` checks it. */
async function liveChangeFindings(schema: SchemaInfo, source: Connector): Promise<Finding[]> {
  const side = sourceSide(source);
  if (!side.changeLog)
    return [
      {
        severity: 'error',
        code: 'CDC_UNSUPPORTED',
        message: `${source.kind} sources cannot give their live changes`,
        action: 'follow a PostgreSQL or MySQL/MariaDB source, or run without --follow',
      },
    ];
  // the names are the plan's; only whether they exist matters here, and a plan does not exist yet
  const log = side.changeLog({ slot: 'ferry', publication: 'ferry', heartbeatSeconds: 10 });
  return log.check(schema.tables.map((t) => ({ name: t.name, columns: t.columns, key: t.primaryKey })));
}

async function assessSchema(
  schema: SchemaInfo,
  source: Connector,
  target: Connector | undefined,
  opts: AssessOptions,
): Promise<Assessment> {
  const names = new Set(schema.tables.map((t) => t.name));
  const waveOf = new Map<string, number>();
  waves(schema.tables).forEach((w, i) => w.forEach((t) => waveOf.set(t.name, i + 1)));
  const profile = await measure(schema, source, target, opts.log ?? silentLogger);
  const sizes = target && keySizesOf(schema, target, profile);
  const findings = schema.tables.flatMap((t) => tableFindings(t, source, target, names, profile, sizes?.get(t.name)));
  findings.push(...((await source.privileges?.({ role: 'source', tables: schema.tables.map((t) => t.name) })) ?? []));
  if (opts.follow) findings.push(...(await liveChangeFindings(schema, source)));
  if (opts.tables)
    for (const t of opts.tables)
      if (!names.has(t))
        findings.unshift({
          severity: 'error',
          code: 'TABLE_NOT_FOUND',
          table: t,
          message: `table ${t} does not exist in the source`,
          action: 'check the name (tables of other PostgreSQL schemas are written schema.table)',
        });
  if (target) {
    const plan = buildPlan(schema, source, target, { source: opts.source, target: opts.target! }, profile);
    const byName = new Map(schema.tables.map((t) => [t.name, t]));
    const planned = plan.waves.flatMap((w) =>
      w.tables.map((tp) => mapTable(plan, tp, byName.get(tp.source), source, target, tp.source).target),
    );
    findings.push(...renameFindings(planRenames(plan), plan.names!, target.kind));
    // a key too long to size is the planner's finding, with what it measured; the target's check
    // would say it again of each of the key's columns (MySQL: a text in a key)
    const unsized = new Set(
      allTables(plan).flatMap((tp) =>
        (sizes?.get(tp.source)?.unfit ?? []).flatMap(({ key }) =>
          key.map((c) => `${tp.target}.${tp.columns.find((x) => x.source === c)?.target ?? c}`),
        ),
      ),
    );
    const checked = await targetSide(target).check(planned);
    findings.push(...checked.filter((f) => f.column === undefined || !unsized.has(`${f.table}.${f.column}`)));
    findings.push(
      ...((await target.privileges?.({ role: 'target', tables: planned, ifExists: plan.target.ifExists })) ?? []),
    );
  }
  const tables: TableInventory[] = schema.tables
    .map((t): TableInventory => ({
      name: t.name,
      rows: t.rowEstimate,
      bytes: t.bytesEstimate,
      columns: t.columns.length,
      primaryKey: t.primaryKey,
      foreignKeys: t.foreignKeys.map((f) => ({ columns: f.columns, refTable: f.refTable })),
      largeObjectColumns: t.columns.filter((c) => source.largeObject?.(c.nativeType)).map((c) => c.name),
      wave: waveOf.get(t.name)!,
    }))
    .sort((a, b) => a.wave - b.wave || a.name.localeCompare(b.name));
  const rows = tables.reduce((n, t) => n + t.rows, 0);
  const bytes = tables.reduce((n, t) => n + t.bytes, 0);
  const order = { error: 0, warning: 1, info: 2 };
  findings.sort((a, b) => order[a.severity] - order[b.severity]);
  return {
    source: { url: redactUrl(opts.source), engine: schema.engine, version: schema.version },
    target: target && opts.target ? { url: redactUrl(opts.target), engine: target.kind } : undefined,
    tables,
    totals: { tables: tables.length, rows, bytes },
    findings,
    groups: groupFindings(findings),
    estimatedSeconds: Math.ceil(Math.max(rows / ROWS_PER_SECOND, bytes / BYTES_PER_SECOND)),
  };
}

export interface PlanOptions {
  source: string;
  target: string;
  tables?: string[];
  rowsPerChunk?: number;
  parallelism?: number;
  ifExists?: Plan['target']['ifExists'];
  /** one of the target's designs (connector.designs), e.g. single-table for DynamoDB */
  design?: string;
  /** how target names are made from source names (default: lower from MySQL and SQLite into PostgreSQL, else keep) */
  names?: NamePolicy;
  log?: Logger;
}

function targetName(name: string): string {
  return name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : name;
}

/** The canonical type of each column of a table as its data decides. */
function dataTypes(t: TableInfo, target: Connector, profile: DataProfile): Map<string, CanonicalType> {
  return new Map(t.columns.map((c) => [c.name, dataType(t.name, c, target, profile)?.type ?? c.type]));
}

/** The key sizes of every table of a schema in the target, from the types the data decides. */
function keySizesOf(schema: SchemaInfo, target: Connector, profile: DataProfile): Map<string, KeySizes> {
  return schemaKeySizes(schema.tables, (t) => dataTypes(t, target, profile), target, profile);
}

/**
 * The native type the plan gives each column of a table in the target: as the data and the keys
 * decide (also a column added to a followed table, with no data profiled and no key sizes).
 */
export function plannedTypes(
  t: TableInfo,
  source: Connector,
  target: Connector,
  profile: DataProfile,
  sized: Map<string, SizedColumn>,
): Map<string, string> {
  const types = dataTypes(t, target, profile);
  return new Map(
    t.columns.map((c) => [
      c.name,
      // an engine's own type (inet, tsvector) stays itself between two databases of that engine
      source.kind === target.kind && source.ownType?.(c.nativeType)
        ? c.nativeType
        : target.nativeType(sized.get(c.name)?.type ?? types.get(c.name)!).native,
    ]),
  );
}

/** The chunk key, or none when a column's planned type sorts otherwise than its source type (run chunks only by keys that keep their order). */
function orderedKey(t: TableInfo, key: string[], planned: Map<string, string>, target: Connector): string[] {
  const keeps = (k: string) =>
    keyKeepsOrder(t.columns.find((c) => c.name === k)!.type, target.canonicalType(planned.get(k)!), target);
  return key.every(keeps) ? key : [];
}

/** The plan writer's comments beside the types the data decided for keys and the onOrphans choices (by the final names). */
function decisionNotes(
  plan: Plan,
  schema: SchemaInfo,
  sizes: Map<string, KeySizes>,
  profile: DataProfile,
  target: Connector,
): PlanNote[] {
  const byName = new Map(schema.tables.map((t) => [t.name, t]));
  return allTables(plan).flatMap((tp) => [
    ...[...(sizes.get(tp.source)?.sized ?? [])].flatMap(([column, sized]): PlanNote[] => {
      const planned = tp.columns.find((c) => c.source === column);
      return planned ? [{ table: tp.source, at: { column: planned.target }, note: keySizeNote(sized, target) }] : [];
    }),
    ...tp.foreignKeys.flatMap((fk, i): PlanNote[] => {
      if (!fk.onOrphans) return [];
      // the profile knows the key by its source name: the plan's keys are the source's, in order
      const source = byName.get(tp.source)!.foreignKeys[i]!;
      const rows = profile.get(tp.source, { kind: 'orphans', foreignKey: source })?.rows ?? 0;
      return [{ table: tp.source, at: { foreignKey: fk.name }, note: orphanNote(rows, fk.onOrphans, target) }];
    }),
  ]);
}

/** A plan for copying every table of the schema as it is. */
export function buildPlan(
  schema: SchemaInfo,
  source: Connector,
  target: Connector,
  opts: Omit<PlanOptions, 'log' | 'tables'>,
  profile: DataProfile = new DataProfile(),
): Plan {
  const rowsPerChunk = opts.rowsPerChunk ?? 100_000;
  const sizes = keySizesOf(schema, target, profile);
  const planned = new Map(
    schema.tables.map((t) => [t.name, plannedTypes(t, source, target, profile, sizes.get(t.name)!.sized)]),
  );
  const tableOf = (t: TableInfo): TablePlan => ({
    source: t.name,
    target: targetName(t.name),
    rowEstimate: t.rowEstimate,
    chunking: { key: orderedKey(t, chunkKey(t, source, target), planned.get(t.name)!, target), rowsPerChunk },
    columns: t.columns.map((c) => ({
      source: c.name,
      target: c.name,
      sourceType: formatType(c.type),
      type: planned.get(t.name)!.get(c.name)!,
      nullable: c.nullable,
      ...(c.autoIncrement ? { autoIncrement: true } : {}),
    })),
    primaryKey: t.primaryKey,
    uniqueKeys: t.uniqueKeys,
    indexes: t.indexes
      .filter((i) => !i.expression)
      .map((i) => ({ name: i.name, columns: i.columns, unique: i.unique })),
    foreignKeys: t.foreignKeys.map((f) => ({
      ...f,
      refTable: targetName(f.refTable),
      // rows that refer to no parent would make the key fail after the whole copy: decided now
      ...((profile.get(t.name, { kind: 'orphans', foreignKey: f })?.rows ?? 0) > 0
        ? { onOrphans: defaultOrphanChoice(target) }
        : {}),
    })),
  });
  const names = opts.names ?? defaultPolicy(source, target);
  const plan: Plan = {
    ferry: 1,
    names,
    source: {
      url: opts.source,
      zeroDates: 'reject',
      ...(source.capabilities.looseValues ? { numericDates: 'reject' } : {}),
    },
    target: { url: opts.target, ifExists: opts.ifExists ?? 'fail' },
    settings: {
      parallelism: opts.parallelism ?? 4,
      batchRows: 1000,
      maxRejects: 0,
      stateDir: '.ferry',
      retries: { ...DEFAULT_RETRIES },
    },
    waves: waves(schema.tables).map((w) => ({ tables: w.map(tableOf) })),
  };
  if (opts.design !== undefined && !target.designs?.includes(opts.design))
    throw new FerryError(
      'PLAN_INVALID',
      `${target.kind} targets have no design "${opts.design}"`,
      target.designs ? `use --design ${target.designs.join(' or ')}` : 'leave out --design',
    );
  const renames = nameTargets(plan, schema, source, target, names);
  // targets that take options (keys, layout) fill them in
  const proposal = target.proposePlan?.(plan, schema, opts.design, profile) ?? { plan, notes: [] };
  const notes = [
    ...renameNotes(renames, names),
    ...decisionNotes(proposal.plan, schema, sizes, profile, target),
    ...proposal.notes,
  ];
  DECIDED.set(proposal.plan, { renames, notes });
  return proposal.plan;
}

export async function makePlan(opts: PlanOptions): Promise<Plan> {
  for (const [option, value] of [
    ['rowsPerChunk', opts.rowsPerChunk],
    ['parallelism', opts.parallelism],
  ] as const)
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1))
      throw new FerryError(
        'PLAN_INVALID',
        `${option} must be a whole number, at least 1 (got ${value})`,
        `for example ${option}: ${option === 'parallelism' ? 4 : 100000}`,
      );
  // a plan is a file people pass around and commit: secrets go in as references only
  for (const [side, url] of [
    ['source', opts.source],
    ['target', opts.target],
  ] as const)
    if (hasLiteralPassword(url))
      throw new FerryError(
        'PLAN_INVALID',
        `the ${side} URL ${redactUrl(url)} holds a literal password, which would be written into the plan`,
        `write \${env:NAME} in its place (for example mysql://app:\${env:${side === 'source' ? 'SRC' : 'DST'}_PW}@host/db) and export NAME`,
      );
  const log = opts.log ?? silentLogger;
  const source = await connect(opts.source, log);
  try {
    sourceSide(source);
    const target = await connect(opts.target, log);
    try {
      targetSide(target);
      const schema = await source.introspect(opts.tables ? { tables: opts.tables } : undefined);
      if (opts.tables) {
        const missing = opts.tables.filter((t) => !schema.tables.some((x) => x.name === t));
        if (missing.length > 0)
          throw new FerryError(
            'TABLE_NOT_FOUND',
            `table ${missing.join(', ')} does not exist in the source`,
            'check the name (tables of other PostgreSQL schemas are written schema.table)',
          );
      }
      const plan = buildPlan(schema, source, target, opts, await measure(schema, source, target, log));
      const names = new Set(plan.waves.flatMap((w) => w.tables.map((t) => t.target)));
      for (const w of plan.waves)
        for (const t of w.tables) t.foreignKeys = t.foreignKeys.filter((f) => names.has(f.refTable));
      return plan;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
