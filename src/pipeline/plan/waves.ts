// Waves: the order the plan lists tables in. Foreign keys are added after all the data, so the
// order is for reading (parents before children), not for correctness; tables that refer to each
// other (a cycle, directly or through a chain) cannot be ordered and share a wave.
import type { TableInfo } from '../../core/types.js';

/**
 * The strongly connected components of the foreign-key graph (Tarjan), each a set of tables that
 * reach each other by references; a table in no cycle is a component of its own.
 */
function components(tables: TableInfo[]): Map<string, number> {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const component = new Map<string, number>();
  let next = 0;
  let found = 0;
  // iterative, so a long chain of references cannot overflow the call stack
  const visit = (root: string) => {
    const frames: { name: string; refs: string[]; at: number }[] = [];
    const enter = (name: string) => {
      index.set(name, next);
      low.set(name, next++);
      stack.push(name);
      onStack.add(name);
      const refs = byName
        .get(name)!
        .foreignKeys.map((fk) => fk.refTable)
        .filter((r) => byName.has(r));
      frames.push({ name, refs, at: 0 });
    };
    enter(root);
    while (frames.length > 0) {
      const frame = frames.at(-1)!;
      if (frame.at < frame.refs.length) {
        const ref = frame.refs[frame.at++]!;
        if (!index.has(ref)) enter(ref);
        else if (onStack.has(ref)) low.set(frame.name, Math.min(low.get(frame.name)!, index.get(ref)!));
        continue;
      }
      frames.pop();
      const parent = frames.at(-1);
      if (parent) low.set(parent.name, Math.min(low.get(parent.name)!, low.get(frame.name)!));
      if (low.get(frame.name) === index.get(frame.name)) {
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.set(member, found);
        } while (member !== frame.name);
        found++;
      }
    }
  };
  for (const t of tables) if (!index.has(t.name)) visit(t.name);
  return component;
}

/**
 * Tables in foreign-key order: a table comes after the tables it refers to, except those it
 * shares a cycle with (self-references included), which are in its wave. Within a wave, tables
 * keep the order given.
 */
export function waves(tables: TableInfo[]): TableInfo[][] {
  const component = components(tables);
  const byName = new Map(tables.map((t) => [t.name, t]));
  // Tarjan finds a component after every component it refers to, so one pass in that order
  // gives each component its depth
  const members = new Map<number, TableInfo[]>();
  for (const t of tables) {
    const c = component.get(t.name)!;
    members.set(c, [...(members.get(c) ?? []), t]);
  }
  const depth = new Map<number, number>();
  for (const c of [...members.keys()].sort((a, b) => a - b)) {
    let d = 0;
    for (const t of members.get(c)!)
      for (const fk of t.foreignKeys) {
        const ref = component.get(fk.refTable);
        if (ref !== undefined && ref !== c && byName.has(fk.refTable)) d = Math.max(d, depth.get(ref)! + 1);
      }
    depth.set(c, d);
  }
  const out: TableInfo[][] = [];
  for (const t of tables) (out[depth.get(component.get(t.name)!)!] ??= []).push(t);
  return out.filter((w) => w.length > 0);
}
