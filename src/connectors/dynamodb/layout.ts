// A table plan compiled for DynamoDB: which table and entity its items go to, how their keys
// and index attributes are built from the row, and the per-column encoders and decoders.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { TargetTable } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';
import type { CanonicalType } from '../../core/types.js';
import { decoderFor, encoderFor, isNull, Refusal, type Decoder, type Encoder } from './codec.js';
import { ambiguity, keyText, parseTemplate, type Template } from './keys.js';
import { parseTableOptions, type TargetOptions } from './options.js';
import { parseNative, type AttrType } from './typemap.js';

export type KeyType = 'S' | 'N' | 'B';

/** The attribute where a conditional write keeps the identity of the source row (see target.ts). */
export const SOURCE_ATTRIBUTE = '_ferry_source';

export interface KeyAttribute {
  attribute: string;
  type: KeyType;
  /** how the value is made; absent for an index key on an attribute the item already has */
  template?: Template;
  /** the key is the column's own attribute: nothing is added to the item */
  isColumn: boolean;
}

export interface IndexLayout {
  name: string;
  partition: KeyAttribute;
  sort?: KeyAttribute;
  projection: 'ALL' | 'KEYS_ONLY';
}

const NULL: AttributeValue = { NULL: true };

export const keyValueText = (a: AttributeValue): string => a.S ?? a.N ?? Buffer.from(a.B!).toString('hex');

/** The columns that identify a row: the primary key, else a unique key without NULLs. */
export function identifyingColumns(table: TargetTable): string[] {
  if (table.primaryKey.length > 0) return table.primaryKey;
  return (
    table.uniqueKeys.find(
      (u) => u.length > 0 && u.every((c) => table.columns.find((x) => x.name === c)?.nullable === false),
    ) ?? []
  );
}

/** The key templates ferry uses when the plan gives none: the primary key's columns. */
export function defaultKeyTemplates(columns: string[]): { partitionKey: string; sortKey?: string } {
  if (columns.length === 0) return { partitionKey: '{#row}' };
  const [first, ...rest] = columns;
  return { partitionKey: `{${first}}`, ...(rest.length > 0 ? { sortKey: rest.map((c) => `{${c}}`).join('#') } : {}) };
}

export class Layout {
  readonly tableName: string;
  readonly entity?: string;
  readonly entityAttribute: string;
  readonly partition: KeyAttribute;
  readonly sort?: KeyAttribute;
  readonly indexes: IndexLayout[];
  readonly names: string[];
  readonly types: CanonicalType[];
  readonly attrs: AttrType[];
  readonly decoders: Decoder[];
  /** why two rows may map to one key, when the templates cannot rule it out */
  readonly collisionRisk?: string;
  /** the key templates use {#row} */
  readonly usesRowId: boolean;
  readonly identity: number[];
  private readonly encoders: Encoder[];
  private readonly notNull: boolean[];
  private readonly storeNulls: boolean;
  private readonly added: {
    attribute: string;
    render: (row: unknown[], rowId: string) => AttributeValue | undefined;
    required: boolean;
    what: string;
  }[];
  private readonly indexColumns: number[];

  constructor(
    readonly table: TargetTable,
    targetOptions: TargetOptions,
  ) {
    const where = `table ${table.name}`;
    const opts = parseTableOptions(table.options, table.name);
    this.tableName = opts.table ?? targetOptions.table ?? table.name;
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(this.tableName))
      throw new FerryError(
        'PLAN_INVALID',
        `${where}: "${this.tableName}" cannot be a DynamoDB table name (3 to 255 letters, digits, "_", "-" or ".")`,
        `set options.table of ${table.name} in the plan`,
      );
    this.entity = opts.entity;
    this.entityAttribute = opts.entityAttribute ?? targetOptions.entityAttribute ?? 'entityType';
    this.storeNulls = (opts.nulls ?? targetOptions.nulls ?? 'omit') === 'null';
    this.names = table.columns.map((c) => c.name);
    this.types = table.columns.map((c) => c.type);
    this.attrs = table.columns.map((c) => parseNative(c.nativeType).attr);
    this.encoders = table.columns.map((c, i) => encoderFor(this.attrs[i]!, c.type, targetOptions.bigNumbers));
    this.decoders = table.columns.map((c, i) => decoderFor(this.attrs[i]!, c.type));
    this.notNull = table.columns.map((c) => !c.nullable);
    const columnSet = new Set(this.names);

    const identity = identifyingColumns(table);
    this.identity = identity.map((c) => this.names.indexOf(c));
    const defaults = defaultKeyTemplates(identity);
    const partitionTemplate = opts.partitionKey ?? defaults.partitionKey;
    const sortTemplate = opts.partitionKey ? opts.sortKey : (opts.sortKey ?? defaults.sortKey);
    const keyAttribute = (
      template: string,
      explicit: string | undefined,
      fallback: string,
      what: string,
    ): KeyAttribute => {
      const t = parseTemplate(template, this.names, `${where}: ${what}`);
      const bareType = t.bare !== undefined ? keyTypeOf(this.attrs[t.bare]!) : undefined;
      if (explicit === undefined && bareType)
        return { attribute: this.names[t.bare!]!, type: bareType, template: t, isColumn: true };
      const attribute = explicit ?? fallback;
      if (columnSet.has(attribute))
        throw new FerryError(
          'PLAN_INVALID',
          `${where}: the ${what} attribute "${attribute}" is also a column`,
          `rename the column, or set the ${what} attribute's name in the table options`,
        );
      return { attribute, type: bareType ?? 'S', template: t, isColumn: false };
    };
    this.partition = keyAttribute(
      partitionTemplate,
      opts.partitionKeyAttribute ?? targetOptions.partitionKeyAttribute,
      'PK',
      'partition key',
    );
    this.sort = sortTemplate
      ? keyAttribute(sortTemplate, opts.sortKeyAttribute ?? targetOptions.sortKeyAttribute, 'SK', 'sort key')
      : undefined;
    if (this.sort && this.sort.attribute === this.partition.attribute)
      throw new FerryError(
        'PLAN_INVALID',
        `${where}: the partition and sort keys are both attribute "${this.sort.attribute}"`,
        'give the sort key another attribute',
      );
    if (
      this.entity !== undefined &&
      (columnSet.has(this.entityAttribute) ||
        this.entityAttribute === this.partition.attribute ||
        this.entityAttribute === this.sort?.attribute)
    )
      throw new FerryError(
        'PLAN_INVALID',
        `${where}: the entity attribute "${this.entityAttribute}" is also a column or key`,
        'set entityAttribute in the options to another name',
      );

    const keyAttributes = new Map<string, KeyType>([[this.partition.attribute, this.partition.type]]);
    if (this.sort) keyAttributes.set(this.sort.attribute, this.sort.type);
    if (this.entity !== undefined) keyAttributes.set(this.entityAttribute, 'S');
    const indexKey = (spec: { attribute: string; template?: string }, what: string): KeyAttribute => {
      if (spec.template !== undefined) {
        if (columnSet.has(spec.attribute) || keyAttributes.has(spec.attribute))
          throw new FerryError(
            'PLAN_INVALID',
            `${where}: index key attribute "${spec.attribute}" with a template is also a column or key`,
            'give the index key its own attribute name, or drop its template to index the existing attribute',
          );
        const t = parseTemplate(spec.template, this.names, `${where}: ${what}`);
        const bareType = t.bare !== undefined ? keyTypeOf(this.attrs[t.bare]!) : undefined;
        return { attribute: spec.attribute, type: bareType ?? 'S', template: t, isColumn: false };
      }
      const col = this.names.indexOf(spec.attribute);
      const type = col >= 0 ? keyTypeOf(this.attrs[col]!) : keyAttributes.get(spec.attribute);
      if (!type)
        throw new FerryError(
          'PLAN_INVALID',
          `${where}: index key attribute "${spec.attribute}" is neither a column of type S, N or B nor a key attribute`,
          'name an existing attribute, or give the index key a template',
        );
      return { attribute: spec.attribute, type, isColumn: col >= 0 };
    };
    this.indexes = opts.gsis.map((g) => ({
      name: g.name,
      partition: indexKey(g.partitionKey, `index ${g.name} partition key`),
      sort: g.sortKey ? indexKey(g.sortKey, `index ${g.name} sort key`) : undefined,
      projection: g.projection,
    }));
    this.indexColumns = this.indexes
      .flatMap((ix) => [ix.partition, ix.sort])
      .flatMap((k) => (k && k.isColumn ? [this.names.indexOf(k.attribute)] : []));

    this.added = [];
    for (const [key, what] of [
      [this.partition, 'partition key'],
      [this.sort, 'sort key'],
    ] as const)
      if (key && !key.isColumn)
        this.added.push({ attribute: key.attribute, render: this.renderer(key), required: true, what });
    for (const ix of this.indexes)
      for (const key of [ix.partition, ix.sort])
        if (key?.template)
          this.added.push({
            attribute: key.attribute,
            render: this.renderer(key),
            required: false,
            what: `index ${ix.name}`,
          });
    this.usesRowId = this.partition.template!.usesRow || this.sort?.template!.usesRow === true;
    this.collisionRisk = this.collisionRiskOf(identity);
  }

  /** The DynamoDB key attributes, partition first. */
  keyAttributes(): KeyAttribute[] {
    return this.sort ? [this.partition, this.sort] : [this.partition];
  }

  private collisionRiskOf(identity: string[]): string | undefined {
    if (this.usesRowId) return undefined;
    const keyColumns = new Set([...this.partition.template!.columns, ...(this.sort?.template!.columns ?? [])]);
    if (identity.length === 0) return `${this.table.name} has no primary key, and its key templates do not use {#row}`;
    if (!identity.every((c) => keyColumns.has(this.names.indexOf(c))))
      return `the key templates do not use every column of ${this.table.name}'s primary key (${identity.join(', ')})`;
    for (const key of this.keyAttributes()) {
      if (key.isColumn) continue;
      const why = ambiguity(key.template!, this.types, this.names);
      if (why) return why;
    }
    return undefined;
  }

  private renderer(key: KeyAttribute): (row: unknown[], rowId: string) => AttributeValue | undefined {
    const t = key.template!;
    if (t.bare !== undefined && key.type !== 'S') {
      const col = t.bare;
      const encode = this.encoders[col]!;
      return (row) => (row[col] === null || row[col] === undefined ? undefined : encode(row[col]));
    }
    const pieces = t.parts.map((p) =>
      'literal' in p ? p.literal : 'row' in p ? undefined : { col: p.column, text: keyText(this.types[p.column]!) },
    );
    return (row, rowId) => {
      let s = '';
      for (const p of pieces) {
        if (typeof p === 'string') s += p;
        else if (p === undefined) s += rowId;
        else {
          const v = row[p.col];
          if (v === null || v === undefined) return undefined;
          s += p.text(v);
        }
      }
      return { S: s };
    };
  }

  /** The item of a row (its size is the writer's to check); throws a Refusal with the reason when DynamoDB cannot hold it. */
  item(row: unknown[], rowId: string): Record<string, AttributeValue> {
    const item: Record<string, AttributeValue> = {};
    const { names, encoders } = this;
    for (let i = 0; i < names.length; i++) {
      const v = row[i];
      if (v === null || v === undefined) {
        if (this.notNull[i]) throw new Refusal(`column ${names[i]} is NULL, and the plan says it is not nullable`);
        if (this.storeNulls) item[names[i]!] = NULL;
        continue;
      }
      item[names[i]!] = encoders[i]!(v);
    }
    for (const a of this.added) {
      const v = a.render(row, rowId);
      if (v === undefined || v.S === '') {
        if (a.required)
          throw new Refusal(
            `the ${a.what} "${a.attribute}" would be ${v ? 'empty' : 'NULL'}: a value it is made of is NULL`,
          );
        continue;
      }
      item[a.attribute] = v;
    }
    for (const key of this.keyAttributes())
      if (key.isColumn) {
        const v = item[key.attribute];
        if (isNull(v)) throw new Refusal(`key column ${key.attribute} is NULL`);
        if (v!.S === '' || v!.B?.byteLength === 0)
          throw new Refusal(`key column ${key.attribute} is empty, which a DynamoDB key cannot be`);
        if (key.type === 'N' && v!.N === undefined)
          throw new Refusal(`key column ${key.attribute} holds ${v!.S}, which is not a DynamoDB number`);
      }
    // an index leaves out items without its key; NULL or empty index keys are refused by DynamoDB
    for (const col of this.indexColumns) {
      const v = item[names[col]!];
      if (v?.NULL) delete item[names[col]!];
      else if (v?.S === '' || v?.B?.byteLength === 0)
        throw new Refusal(`column ${names[col]} is empty, which a DynamoDB index key cannot be`);
    }
    if (this.entity !== undefined) item[this.entityAttribute] = { S: this.entity };
    return item;
  }

  /**
   * The item's key attributes from the row's values: only the columns the key templates name are
   * read (a template with {#row} has no key without the whole row: see keyColumns).
   */
  keyItem(row: unknown[]): Record<string, AttributeValue> {
    const key: Record<string, AttributeValue> = {};
    for (const k of this.keyAttributes()) {
      const v = k.isColumn
        ? this.encoders[this.names.indexOf(k.attribute)]!(row[this.names.indexOf(k.attribute)])
        : this.added.find((a) => a.attribute === k.attribute)!.render(row, '');
      if (v === undefined) throw new Refusal(`the key attribute ${k.attribute} would be NULL`);
      key[k.attribute] = v;
    }
    return key;
  }

  /** The columns the item's key is made of (partition and sort key templates), and whether {#row} is among them. */
  keyColumns(): { columns: number[]; usesRow: boolean } {
    const templates = this.keyAttributes().map((k) => k.template!);
    return { columns: [...new Set(templates.flatMap((t) => t.columns))], usesRow: this.usesRowId };
  }

  /** The primary key of an item as one text: the partition key's text, length first, then the sort key's. */
  keyOf(item: Record<string, AttributeValue>): string {
    const p = keyValueText(item[this.partition.attribute]!);
    return this.sort ? `${p.length}:${p}${keyValueText(item[this.sort.attribute]!)}` : p;
  }

  /** DynamoDB's key of a key text. */
  keyFromText(text: string): Record<string, AttributeValue> {
    const value = (type: KeyType, t: string): AttributeValue =>
      type === 'S' ? { S: t } : type === 'N' ? { N: t } : { B: new Uint8Array(Buffer.from(t, 'hex')) };
    if (!this.sort) return { [this.partition.attribute]: value(this.partition.type, text) };
    const colon = text.indexOf(':');
    const end = colon + 1 + Number(text.slice(0, colon));
    return {
      [this.partition.attribute]: value(this.partition.type, text.slice(colon + 1, end)),
      [this.sort.attribute]: value(this.sort.type, text.slice(end)),
    };
  }

  /** A row of canonical values (in column order) from an item. */
  row(item: Record<string, AttributeValue>): unknown[] {
    const { names, decoders } = this;
    const row = new Array<unknown>(names.length);
    for (let i = 0; i < names.length; i++) {
      const a = item[names[i]!];
      row[i] = isNull(a) ? null : decoders[i]!(a);
    }
    return row;
  }

  /** Names of the attributes that identify an item, for describing a key to a person. */
  describeKey(item: Record<string, AttributeValue>): string {
    return this.keyAttributes()
      .map((k) => `${k.attribute}=${item[k.attribute] ? keyValueText(item[k.attribute]!) : '?'}`)
      .join(', ');
  }
}

function keyTypeOf(attr: AttrType): KeyType | undefined {
  return attr === 'S' || attr === 'N' || attr === 'B' ? attr : undefined;
}
