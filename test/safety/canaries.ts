// Canary checks: a value that must never be written or printed is looked for in every file
// under a folder (as UTF-8 and as Latin-1 bytes) and in everything the commands printed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CliResult } from '../e2e/support.js';

export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

export function foldersUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? [p, ...foldersUnder(p)] : [];
  });
}

/** Fails naming the file or the command that holds a canary. */
export function assertNowhere(canaries: string[], files: string[], printed: CliResult[]): void {
  for (const f of files) {
    const bytes = readFileSync(f);
    for (const text of [bytes.toString('utf8'), bytes.toString('latin1')])
      for (const c of canaries) assert.ok(!text.includes(c), `${f} holds ${c}`);
  }
  for (const [i, r] of printed.entries())
    for (const c of canaries) assert.ok(!(r.stdout + r.stderr).includes(c), `command ${i} printed ${c}`);
}
