// What the object store target says of a table before a run (its `check`): a name that cannot
// be a folder, a key it cannot order, partitions that make a file per row or many small files,
// rows that do not fit a row group, and the types the chosen format or common readers keep
// only in part.
import type { TargetTable } from '../../core/contracts.js';
import type { Column, Finding } from '../../core/types.js';
import type { Format } from './formats.js';
import { ORDERED_KINDS } from './keys.js';
import type { TableLayout } from './layout.js';
import { MAX_READABLE_DECIMAL_PRECISION, parseNative } from './typemap.js';

/** The findings of one table of the plan. */
export function tableFindings(t: TargetTable, layout: TableLayout): Finding[] {
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  const format = layout.settings.format;
  if (/[/\\]/.test(t.name) || t.name === '.' || t.name === '..')
    add({
      severity: 'error',
      code: 'TABLE_NAME',
      table: t.name,
      message: `table name ${t.name} cannot be a folder name`,
      action: 'rename the target table in the plan',
    });
  else if (/^[_.]/.test(t.name))
    add({
      severity: 'warning',
      code: 'HIDDEN_TABLE',
      table: t.name,
      message: `folder ${t.name}/ starts with "${t.name[0]}", which Hive, Spark and Athena treat as hidden`,
      action: 'rename the target table in the plan',
    });
  if (!layout.keyCompare)
    add({
      severity: 'error',
      code: 'KEY_ORDER',
      table: t.name,
      message: `${t.name} is chunked by (${t.key.join(', ')}), and the object store orders only ${ORDERED_KINDS.join(', ')} keys`,
      action: 'chunk the table by another key, or by none (chunking.key: [])',
    });
  for (const spec of layout.partitions) {
    const col = t.columns.find((c) => c.name === spec.column)!;
    if (spec.by === 'value') {
      if (
        (t.primaryKey.length === 1 && t.primaryKey[0] === col.name) ||
        t.uniqueKeys.some((u) => u.length === 1 && u[0] === col.name)
      )
        add({
          severity: 'error',
          code: 'PARTITION_PER_ROW',
          table: t.name,
          column: col.name,
          message: `${t.name} is partitioned by ${col.name}, a unique column: one folder and one file per row`,
          action: 'partition by a column with few values, or by year/month/day of a timestamp',
        });
      else if (
        ['float', 'bytes', 'json', 'timestamp', 'time', 'array', 'set', 'uuid'].includes(col.type.kind) ||
        (col.type.kind === 'decimal' && (col.type.scale ?? 0) > 0)
      )
        add({
          severity: 'warning',
          code: 'PARTITION_CARDINALITY',
          table: t.name,
          column: col.name,
          message: `${t.name} is partitioned by the ${col.type.kind} values of ${col.name}, which are usually all different: many small files`,
          action:
            col.type.kind === 'timestamp'
              ? `partition by {column: ${col.name}, by: day} (or month, year)`
              : 'partition by a column with few values',
        });
    } else if (spec.by === 'day' || spec.by === 'hour')
      add({
        severity: t.key[0] === col.name ? 'info' : 'warning',
        code: 'PARTITION_CARDINALITY',
        table: t.name,
        column: col.name,
        message: `${t.name} is partitioned by the ${spec.by} of ${col.name}: each chunk writes a file in every ${spec.by} its rows fall in`,
        action:
          t.key[0] === col.name
            ? 'no action needed'
            : `check that rows of one chunk span few ${spec.by}s, or partition by month, or raise rowsPerChunk`,
      });
  }
  formatFindings(t, format).forEach(add);
  const variable = t.columns.filter((c) => {
    const { shape } = parseNative(c.nativeType);
    return !('leaf' in shape) || shape.leaf.physical === 'BYTE_ARRAY';
  });
  const fixed = t.columns.reduce((n, c) => {
    const { shape } = parseNative(c.nativeType);
    return (
      n +
      ('leaf' in shape
        ? shape.leaf.physical === 'BOOLEAN'
          ? 1
          : shape.leaf.physical === 'INT32' || shape.leaf.physical === 'FLOAT'
            ? 4
            : (shape.leaf.typeLength ?? 8)
        : 0)
    );
  }, 0);
  if (fixed > layout.settings.rowGroupBytes)
    add({
      severity: 'error',
      code: 'ROW_GROUP_SIZE',
      table: t.name,
      message: `a row of ${t.name} takes ${fixed} bytes, more than the row group size ${layout.settings.rowGroupBytes}`,
      action: 'raise rowGroupSize in target.options or the table options',
    });
  else if (format === 'parquet' && variable.length > 0 && layout.settings.rowGroupBytes < 16 * 1024 * 1024)
    add({
      severity: 'info',
      code: 'ROW_GROUP_SIZE',
      table: t.name,
      message: `${t.name} has text or binary columns (${variable.map((c) => c.name).join(', ')}) and row groups of ${layout.settings.rowGroupBytes} bytes: a row larger than that makes a row group of its own`,
      action: 'no action needed unless rows are that large; then raise rowGroupSize',
    });
  return findings;
}

/** Types the chosen format keeps only in part, or that common readers take only in part. */
function formatFindings(t: TargetTable, format: Format): Finding[] {
  const out: Finding[] = [];
  const cols = (pred: (c: Column) => boolean) => t.columns.filter(pred).map((c) => c.name);
  const note = (
    code: string,
    names: string[],
    message: string,
    action: string,
    severity: Finding['severity'] = 'info',
  ) => {
    if (names.length > 0)
      out.push({ severity, code, table: t.name, message: `${t.name} (${names.join(', ')}): ${message}`, action });
  };
  if (format === 'parquet') {
    note(
      'TYPE_FORMAT',
      cols((c) => c.type.kind === 'decimal' && (c.type.precision ?? 0) > MAX_READABLE_DECIMAL_PRECISION),
      `Parquet decimals of more than ${MAX_READABLE_DECIMAL_PRECISION} digits are not read by DuckDB, Spark or Athena`,
      'set the column type to STRING in the plan to keep the digits as text',
      'warning',
    );
    note(
      'TYPE_FORMAT',
      cols((c) => c.nativeType.toUpperCase() === 'UINT64'),
      'unsigned 64-bit integers are read as signed by Hive, Spark and Athena',
      'set the column type to DECIMAL(20,0) in the plan if values pass 9223372036854775807',
    );
    note(
      'TYPE_FORMAT',
      cols((c) => /^TIME\(/i.test(c.nativeType)),
      'Athena and Hive have no TIME type',
      'set the column type to STRING in the plan if Athena or Hive read the files',
    );
    note(
      'TYPE_FORMAT',
      cols((c) => /^TIMESTAMP\(MICROS/i.test(c.nativeType)),
      'Athena and Glue read Parquet timestamps in milliseconds only',
      'set target.options.timestampUnit to millis (before `ferry plan`, or edit the column types) if they read the files',
    );
  } else if (format === 'ndjson') {
    note(
      'TYPE_FORMAT',
      cols((c) => (c.type.kind === 'int' && c.type.bits === 64) || c.type.kind === 'decimal'),
      'large integers are JSON numbers with every digit (JavaScript and jq round them past 2^53) and decimals are strings, to stay exact',
      'read them as strings or 64-bit integers in the consumer',
    );
    note(
      'TYPE_FORMAT',
      cols((c) => c.type.kind === 'bytes'),
      'binary values are base64 strings',
      'decode them with from_base64 (DuckDB) or the like',
    );
  } else {
    note(
      'TYPE_FORMAT',
      cols(() => true),
      'CSV has no column types: values are text (binary as base64, lists and JSON as JSON text, NULL as an empty unquoted field); _schema.json says what each column is',
      'give the types to the reader (DuckDB: read_csv(..., columns = {...}))',
    );
  }
  return out;
}
