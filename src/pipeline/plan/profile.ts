// What assess and plan measure of the source's data before deciding (Source.profile): the
// questions each table is asked, and their answers, looked up by the decisions that need them.
import type { Capabilities, Connector } from '../../core/contracts.js';
import type { Logger } from '../../core/log.js';
import {
  askSubject,
  type ProfileAnswer,
  type ProfileAsk,
  type ProfileKind,
  type ProfileQuestions,
} from '../../core/profile.js';
import type { SchemaInfo, TableInfo } from '../../core/types.js';
import { sourceSide } from '../session/sides.js';
import { typeAsks } from './data-types.js';
import { emptyKeyAsks, keyAsks } from './key-types.js';

/**
 * The questions asked of a table's data; `selected` are the names of the tables planned with it,
 * `target` the capabilities of the target when there is one.
 */
export function profileAsks(
  t: TableInfo,
  selected: Set<string>,
  source: Capabilities,
  target: Capabilities | undefined,
): ProfileAsk[] {
  return [
    ...t.foreignKeys.flatMap((fk): ProfileAsk[] =>
      selected.has(fk.refTable) ? [{ kind: 'orphans', foreignKey: fk }] : [],
    ),
    ...typeAsks(t, source),
    // key lengths matter only to a target that limits them, empty key values to one that refuses them
    ...(target?.keyLimit ? keyAsks(t) : []),
    ...(target?.nonEmptyKeys ? emptyKeyAsks(t) : []),
  ];
}

const keyOf = (table: string, ask: ProfileAsk) => `${table}\0${ask.kind}\0${askSubject(ask)}`;

/** The answers about a schema's data; nothing is known of a source without Source.profile. */
export class DataProfile {
  private readonly answers = new Map<string, ProfileAnswer['answer']>();

  constructor(answers: { table: string; answer: ProfileAnswer }[] = []) {
    for (const { table, answer } of answers) this.answers.set(keyOf(table, answer.ask), answer.answer);
  }

  /** The answer to an ask about a table, or undefined when it was not asked or the source cannot answer it. */
  get<K extends ProfileKind>(table: string, ask: ProfileAsk<K>): ProfileQuestions[K]['answer'] | undefined {
    return this.answers.get(keyOf(table, ask as ProfileAsk)) as ProfileQuestions[K]['answer'] | undefined;
  }
}

/** Asks every table of the schema its questions. This reads the tables whole: large ones take a while. */
export async function measure(
  schema: SchemaInfo,
  source: Connector,
  target: Connector | undefined,
  log: Logger,
): Promise<DataProfile> {
  const selected = new Set(schema.tables.map((t) => t.name));
  const asked = schema.tables.flatMap((t) => {
    const asks = profileAsks(t, selected, source.capabilities, target?.capabilities);
    return asks.length > 0 ? [{ t, asks }] : [];
  });
  const side = asked.length > 0 ? sourceSide(source) : undefined;
  if (!side?.profile) return new DataProfile();
  log.info(`measuring the data of ${asked.length} tables for the plan: each is read whole`);
  const answers: { table: string; answer: ProfileAnswer }[] = [];
  for (const { t, asks } of asked)
    for (const answer of await side.profile(t, asks)) answers.push({ table: t.name, answer });
  return new DataProfile(answers);
}
