// Timeouts: an endpoint that takes the connection and never answers, or an address nothing
// answers at, ends the command within its connect timeout with one line; a server that is
// gone makes verify fail (exit 1), never report a difference (exit 3).
import { createServer } from 'node:net';
import { edit, f, ranState, type Row } from './table.js';

// a listening socket that never says a word (held connections do not keep the tests alive)
const silent = createServer((socket) => socket.unref());
await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
silent.unref();
const SILENT = `127.0.0.1:${(silent.address() as { port: number }).port}`;
const silentAt = (text: string) => text.replace('.', '\\.');

/** A blackholed address (no route, or a firewall that drops): the connect fails or times out. */
const BLACKHOLE = '10.255.255.1';

export const TIMEOUTS: Row[] = [
  {
    does: 'a PostgreSQL endpoint that never answers',
    args: () => ['assess', '--source', `postgres://postgres@${SILENT}/x`],
    code: 1,
    stderr: new RegExp(`^ferry: cannot reach PostgreSQL at ${silentAt(SILENT)} \\(timeout\\): check the host and port`),
  },
  {
    does: 'a MySQL endpoint that never answers',
    args: () => ['assess', '--source', `mysql://root@${SILENT}/x`],
    code: 1,
    stderr: new RegExp(`^ferry: cannot reach MySQL at ${silentAt(SILENT)} \\(ETIMEDOUT\\): check the host and port`),
  },
  {
    does: 'a run whose target never answers',
    args: () => ['run', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.target.url = `postgres://postgres@${SILENT}/x`)) }),
    code: 1,
    stderr: new RegExp(`^ferry: cannot reach PostgreSQL at ${silentAt(SILENT)} \\(timeout\\)`),
  },
  {
    does: 'a dry run whose source never answers',
    args: () => ['test', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.source.url = `mysql://root@${SILENT}/x`)) }),
    code: 1,
    stderr: new RegExp(`^ferry: cannot reach MySQL at ${silentAt(SILENT)} \\(ETIMEDOUT\\)`),
  },
  {
    does: 'verify when the source never answers: an error, not a difference',
    args: () => ['verify', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.plan, (p) => (p.source.url = `postgres://postgres@${SILENT}/x`)) }),
    setup: ranState,
    code: 1,
    stderr: new RegExp(`^ferry: cannot reach PostgreSQL at ${silentAt(SILENT)} \\(timeout\\)`),
  },
  {
    does: 'verify when the target is down: an error, not a difference',
    args: () => ['verify', 'plan.yaml'],
    files: () => ({ 'plan.yaml': edit(f.mysqlPlan, (p) => (p.target.url = 'mysql://root@127.0.0.1:1/x')) }),
    code: 1,
    stderr: /^ferry: cannot reach MySQL at 127\.0\.0\.1:1 \(ECONNREFUSED\)/,
  },
  {
    does: 'a PostgreSQL source at a blackholed address',
    args: () => ['assess', '--source', `postgres://postgres@${BLACKHOLE}/x`],
    code: 1,
    stderr: /^ferry: cannot (reach|connect to) PostgreSQL at 10\.255\.255\.1:5432\b/,
  },
  {
    does: 'a MySQL source at a blackholed address',
    args: () => ['assess', '--source', `mysql://root@${BLACKHOLE}/x`],
    code: 1,
    stderr: /^ferry: cannot (reach|connect to) MySQL at 10\.255\.255\.1:3306\b/,
  },
];
