// The large-value tests' table (an id, one text and one bytes column), written into a source
// by ferry's own target and read back from a target, and a comparison that names the first
// difference without printing megabytes.
import assert from 'node:assert/strict';
import { parseType } from '../../src/core/types.js';
import { batchesOf, collect, foundTable, tableFor } from '../contract/target-contract.js';
import type { EdgeColumn } from '../fixtures/edge.js';
import { freshDb, open, type Engine } from './support.js';

const columns: EdgeColumn[] = [
  { name: 'id', type: parseType('int32') },
  { name: 't', type: parseType('text') },
  { name: 'b', type: parseType('bytes') },
];
/** Where the first difference is, without printing megabytes. */
export function sameValue(actual: unknown, expected: unknown, what: string): void {
  if (expected === null) return assert.equal(actual, null, what);
  if (typeof expected === 'string') {
    assert.equal(typeof actual, 'string', `${what} is text`);
    const a = actual as string;
    if (a === expected) return;
    let i = 0;
    while (i < a.length && a[i] === expected[i]) i++;
    assert.fail(
      `${what}: ${a.length} characters where ${expected.length} were written, first different at ${i}: ${JSON.stringify(a.slice(i, i + 20))}`,
    );
  }
  assert.ok(actual instanceof Uint8Array, `${what} is bytes`);
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const e = Buffer.from(expected as Uint8Array);
  if (a.equals(e)) return;
  let i = 0;
  while (i < a.length && a[i] === e[i]) i++;
  assert.fail(`${what}: ${a.length} bytes where ${e.length} were written, first different at ${i}`);
}

export async function largeSource(engine: Engine, name: string, data: unknown[][]): Promise<string> {
  const url = await freshDb(engine, name);
  const conn = await open(url);
  try {
    const table = tableFor(conn, 'doc', columns);
    await conn.target!().prepare(table, 'drop');
    await conn.target!().writeChunk({ table, range: {}, replace: false, isolate: false }, batchesOf(data));
  } finally {
    await conn.close();
  }
  return url;
}

/** The rows of the target's table, as the target reads them back, in key order. */
export async function readBack(url: string): Promise<unknown[][]> {
  const conn = await open(url);
  try {
    const table = await foundTable(conn, 'doc', columns);
    const back = await collect(conn.target!().readBack(table, {}, 2));
    return back.sort((a, b) => Number(a[0]) - Number(b[0]));
  } finally {
    await conn.close();
  }
}
