// What the numbers were measured on: machine, server and tool versions, ferry's commit.
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { serverVersions } from './db.js';

export interface Environment {
  measuredAt: string;
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  postgres: string;
  mariadb: string;
  sqlite: string;
  pgloader: string;
  pgDump: string;
  ferryCommit: string;
}

function firstLine(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n')[0]! : 'unknown';
}

/** The commit measured, marked when tracked files differ from it. */
function ferryCommit(): string {
  const modified = spawnSync('git', ['diff', '--quiet', 'HEAD'], { stdio: 'ignore' }).status !== 0;
  return firstLine('git', ['rev-parse', '--short', 'HEAD']) + (modified ? ' with uncommitted changes' : '');
}

export async function describeEnvironment(): Promise<Environment> {
  return {
    measuredAt: new Date().toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    ...(await serverVersions()),
    pgloader: firstLine('pgloader', ['--version']),
    pgDump: firstLine('pg_dump', ['--version']),
    ferryCommit: ferryCommit(),
  };
}
