// The MySQL/MariaDB type map: two tables of type patterns, native -> canonical and
// canonical -> native, plus the few overrides that depend on a length or the server.
// In a pattern "$1", "$2" stand for the type's numeric arguments and "$*" for its whole
// argument list (enum/set values, array element); an exact entry wins over a pattern.
import type { NativeTypeChoice } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { CanonicalType } from '../../core/types.js';
import { formatType, parseType } from '../../core/types.js';

const INTS: [string, number][] = [
  ['tinyint', 8],
  ['smallint', 16],
  ['mediumint', 24],
  ['int', 32],
  ['bigint', 64],
];

/** Native type (lower case, display widths as $1) -> canonical type text. */
export const NATIVE_TO_CANONICAL: Record<string, string> = {
  ...Object.fromEntries(
    INTS.flatMap(([n, bits]) => [
      [n, `int${bits}`],
      [`${n}($1)`, `int${bits}`],
      [`${n} unsigned`, `uint${bits}`],
      [`${n}($1) unsigned`, `uint${bits}`],
    ]),
  ),
  'tinyint(1)': 'bool',
  bool: 'bool',
  boolean: 'bool',
  'decimal($1,$2)': 'decimal($1,$2)',
  'decimal($1,$2) unsigned': 'decimal($1,$2)',
  'decimal($1)': 'decimal($1,0)',
  decimal: 'decimal(10,0)',
  float: 'float32',
  'float unsigned': 'float32',
  'float($1,$2)': 'float32',
  'float($1,$2) unsigned': 'float32',
  double: 'float64',
  'double unsigned': 'float64',
  'double($1,$2)': 'float64',
  'double($1,$2) unsigned': 'float64',
  'char($1)': 'char($1)',
  char: 'char(1)',
  'varchar($1)': 'varchar($1)',
  tinytext: 'text',
  text: 'text',
  'text($1)': 'text',
  mediumtext: 'text',
  longtext: 'text',
  'binary($1)': 'binary($1)',
  binary: 'binary(1)',
  'varbinary($1)': 'varbinary($1)',
  tinyblob: 'bytes',
  blob: 'bytes',
  'blob($1)': 'bytes',
  mediumblob: 'bytes',
  longblob: 'bytes',
  date: 'date',
  time: 'time(0)',
  'time($1)': 'time($1)',
  datetime: 'timestamp(0)',
  'datetime($1)': 'timestamp($1)',
  timestamp: 'timestamptz(0)',
  'timestamp($1)': 'timestamptz($1)',
  year: 'year',
  'year($1)': 'year',
  'enum($*)': 'enum($*)',
  'set($*)': 'set($*)',
  json: 'json',
  uuid: 'uuid',
  bit: 'bit(1)',
  'bit($1)': 'bit($1)',
  inet4: 'varchar(15)',
  inet6: 'varchar(39)',
  // spatial values travel as EWKB, with their SRID (see the codec)
  geometry: 'geometry',
  point: 'geometry',
  linestring: 'geometry',
  polygon: 'geometry',
  multipoint: 'geometry',
  multilinestring: 'geometry',
  multipolygon: 'geometry',
  geometrycollection: 'geometry',
};

/** Synonyms MySQL accepts in DDL, folded to the name it reports. */
const ALIASES: Record<string, string> = {
  integer: 'int',
  int1: 'tinyint',
  int2: 'smallint',
  int3: 'mediumint',
  int4: 'int',
  int8: 'bigint',
  middleint: 'mediumint',
  numeric: 'decimal',
  dec: 'decimal',
  fixed: 'decimal',
  real: 'double',
  'double precision': 'double',
  float4: 'float',
  float8: 'double',
  character: 'char',
  'character varying': 'varchar',
  nchar: 'char',
  'national char': 'char',
  'national character': 'char',
  nvarchar: 'varchar',
  'national varchar': 'varchar',
  'national character varying': 'varchar',
  'nchar varchar': 'varchar',
};

const TIMEZONE_NOTE = 'MySQL has no time zone type: the value is stored as UTC and its time zone marker is dropped';

/** Canonical type text -> the native type this connector creates, with what is lost. */
export const CANONICAL_TO_NATIVE: Record<string, NativeTypeChoice> = {
  ...Object.fromEntries(
    INTS.flatMap(([n, bits]) => [
      [`int${bits}`, { native: n }],
      [`uint${bits}`, { native: `${n} unsigned` }],
    ]),
  ),
  'decimal($1,$2)': { native: 'decimal($1,$2)' },
  decimal: {
    native: 'decimal(65,30)',
    note: 'a decimal without precision is stored as decimal(65,30): more than 35 integer digits or 30 decimal places do not fit',
  },
  float32: { native: 'float' },
  float64: { native: 'double' },
  bool: { native: 'tinyint(1)' },
  text: { native: 'longtext' },
  'char($1)': { native: 'char($1)' },
  'varchar($1)': { native: 'varchar($1)' },
  bytes: { native: 'longblob' },
  'binary($1)': { native: 'binary($1)' },
  'varbinary($1)': { native: 'varbinary($1)' },
  date: { native: 'date' },
  'time($1)': { native: 'time($1)' },
  'timetz($1)': {
    native: 'varchar(24)',
    note: 'MySQL has no time with a UTC offset: stored as its text, HH:MM:SS[.ffffff]+HH:MM, the offset kept',
  },
  'timestamp($1)': { native: 'datetime($1)' },
  'timestamptz($1)': { native: 'datetime($1)', note: TIMEZONE_NOTE },
  year: { native: 'year' },
  'enum($*)': { native: 'enum($*)' },
  'set($*)': { native: 'set($*)' },
  json: { native: 'json' },
  jsonb: { native: 'json', note: 'MySQL json keeps the document as written, not in a binary normalised form' },
  // MariaDB's uuid type (10.7+) refuses values PostgreSQL holds (version 8 and above with
  // variant 0, since 10.11.5) and sorts by its time fields; MySQL has none
  uuid: {
    native: 'char(36)',
    note: "stored as char(36), lower case: MariaDB's uuid type refuses some values other engines hold (version 8 and above with variant 0); change the type to uuid in the plan when every value is an RFC 9562 uuid",
  },
  'array<$*>': { native: 'json', note: 'MySQL has no array type: arrays are stored as JSON arrays' },
  'bit($1)': { native: 'bit($1)' },
  'varbit($1)': {
    native: 'varchar($1)',
    note: 'MySQL has no varying bit string (its bit(n) would pad shorter strings with zeros): stored as a text of 0 and 1',
  },
  interval: { native: 'varchar(64)', note: 'MySQL has no interval type: stored as its text' },
  geometry: { native: 'geometry' },
};

interface Shape {
  key: string;
  args: string[];
  all: string;
}

/** "decimal(10, 2) unsigned" -> key "decimal($1,$2) unsigned", args ["10","2"]. */
function shapeOf(text: string): Shape {
  const arr = /^array<(.*)>$/s.exec(text);
  if (arr) return { key: 'array<$*>', args: [], all: arr[1]! };
  const m = /^([a-z0-9_ ]+?)\s*\((.*)\)\s*(.*)$/s.exec(text);
  if (!m) return { key: text, args: [], all: '' };
  const [, name, inner, rest] = m as unknown as [string, string, string, string];
  const suffix = rest ? ` ${rest}` : '';
  if (name === 'enum' || name === 'set') return { key: `${name}($*)${suffix}`, args: [], all: inner };
  const args = inner.split(',').map((a) => a.trim());
  return { key: `${name}(${args.map((_, i) => `$${i + 1}`).join(',')})${suffix}`, args, all: inner };
}

function fill(pattern: string, shape: Shape): string {
  return pattern.replace(/\$(\d|\*)/g, (_m, p: string) => (p === '*' ? shape.all : shape.args[Number(p) - 1]!));
}

function lookup<T>(table: Record<string, T>, text: string): { entry: T; shape: Shape } | undefined {
  const shape = shapeOf(text);
  const entry = table[text] ?? table[shape.key];
  return entry === undefined ? undefined : { entry, shape };
}

/** Lower-cases everything but enum/set values, folds synonyms, drops attributes that do not change the values. */
function normalizeNative(native: string): string {
  let s = native.trim().replace(/\s+/g, ' ');
  const list = /^(enum|set)\s*\(/i.exec(s);
  if (list) return list[1]!.toLowerCase() + s.slice(list[1]!.length).replace(/^\s+/, '');
  s = s
    .toLowerCase()
    .replace(/ (character set|charset|collate|not null|null|default)( .*)?$/, '')
    .replace(/ (zerofill|signed)\b/g, '')
    .replace(/\s*\(\s*/g, '(')
    .replace(/\s*,\s*/g, ',')
    .replace(/\s*\)/g, ')');
  const m = /^([a-z][a-z0-9 ]*?)(?=\(|$| unsigned)(.*)$/.exec(s);
  return m && ALIASES[m[1]!] ? ALIASES[m[1]!] + m[2] : s;
}

/** The canonical type of a native MySQL type as written in DDL, a plan or information_schema. */
export function canonicalTypeOf(native: string): CanonicalType {
  const s = normalizeNative(native);
  const float = /^float\((\d+)\)( unsigned)?$/.exec(s);
  if (float) return { kind: 'float', bits: Number(float[1]) <= 24 ? 32 : 64 };
  const hit = lookup(NATIVE_TO_CANONICAL, s);
  if (!hit)
    throw new FerryError(
      'UNSUPPORTED',
      `MySQL type "${native}" has no canonical type`,
      'cast the column to a supported type in the plan or leave the column out',
    );
  return parseType(fill(hit.entry, hit.shape));
}

const MAX_CHAR = 255;
const MAX_VARCHAR = 16383; // utf8mb4, 4 bytes a character, in a 65,535-byte row
const MAX_VARBINARY = 65532;
const MAX_BIT = 64;
const MAX_DECIMAL = [65, 30] as const;

/** The native type this connector creates for a canonical type. */
export function nativeTypeOf(t: CanonicalType): NativeTypeChoice {
  const text = formatType(t);
  switch (t.kind) {
    case 'string':
      if (t.fixed && t.length! > MAX_CHAR && t.length! <= MAX_VARCHAR)
        return {
          native: `varchar(${t.length})`,
          note: `MySQL char holds at most ${MAX_CHAR} characters: stored as varchar, trailing spaces are kept`,
        };
      if (t.length !== undefined && t.length > MAX_VARCHAR)
        return {
          native: 'longtext',
          note: `MySQL varchar holds at most ${MAX_VARCHAR} utf8mb4 characters: stored as longtext without a length limit`,
        };
      break;
    case 'bytes':
      if (t.fixed && t.length! > MAX_CHAR && t.length! <= MAX_VARBINARY)
        return {
          native: `varbinary(${t.length})`,
          note: `MySQL binary holds at most ${MAX_CHAR} bytes: stored as varbinary, without right-padding`,
        };
      if (t.length !== undefined && t.length > MAX_VARBINARY)
        return {
          native: 'longblob',
          note: `MySQL varbinary holds at most ${MAX_VARBINARY} bytes: stored as longblob without a length limit`,
        };
      break;
    case 'bit':
      if (t.length > MAX_BIT)
        return {
          native: `varchar(${t.length})`,
          note: `MySQL bit holds at most ${MAX_BIT} bits: stored as a text of 0 and 1`,
        };
      break;
    case 'decimal':
      if (t.precision !== undefined && (t.precision > MAX_DECIMAL[0] || (t.scale ?? 0) > MAX_DECIMAL[1])) {
        const scale = Math.min(t.scale ?? 0, MAX_DECIMAL[1]);
        return {
          native: `decimal(${MAX_DECIMAL[0]},${scale})`,
          note: `MySQL decimal holds at most ${MAX_DECIMAL[0]} digits and ${MAX_DECIMAL[1]} decimal places: values beyond decimal(${MAX_DECIMAL[0]},${scale}) are refused`,
        };
      }
      break;
    case 'time':
    case 'timestamp':
      if (t.precision > 6) {
        const choice = nativeTypeOf({ ...t, precision: 6 });
        return {
          native: choice.native,
          note: [choice.note, 'MySQL keeps at most 6 fractional digits: values are rounded to microseconds']
            .filter(Boolean)
            .join('; '),
        };
      }
      break;
  }
  const hit = lookup(CANONICAL_TO_NATIVE, text);
  if (!hit)
    throw new FerryError(
      'UNSUPPORTED',
      `MySQL has no type for canonical type ${text}`,
      'cast the column to another type in the plan',
    );
  return { ...hit.entry, native: fill(hit.entry.native, hit.shape) };
}

/** InnoDB's limit on a key's bytes with the DYNAMIC row format. */
export const KEY_LIMIT_BYTES = 3072;
/** utf8mb4: a character takes up to 4 bytes in a key. */
export const KEY_BYTES_PER_CHAR = 4;

// MySQL's packed decimal: 4 bytes for each 9 digits, and these for the digits left over
const DECIMAL_LEFTOVER_BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
const decimalBytes = (digits: number) => Math.floor(digits / 9) * 4 + DECIMAL_LEFTOVER_BYTES[digits % 9]!;

/** The most bytes a value of a native type takes in an InnoDB key. */
export function keyBytes(native: string): number {
  const s = normalizeNative(native);
  const text = /^(var)?(char|binary)\((\d+)\)/.exec(s);
  if (text) return Number(text[3]) * (text[2] === 'char' ? KEY_BYTES_PER_CHAR : 1);
  const decimal = /^decimal\((\d+),(\d+)\)/.exec(s);
  if (decimal) return decimalBytes(Number(decimal[1]) - Number(decimal[2])) + decimalBytes(Number(decimal[2]));
  if (/^(uuid|inet6)\b/.test(s)) return 16;
  // integers, floats, dates and times, enums, sets and bits take at most 8
  return 8;
}
