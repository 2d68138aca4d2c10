// A connector's Source and Target sides, which a connector offers only where it can be read from
// or written to: asking for one it does not offer is a one-line error that says what to use.
import type { Connector, Source, Target } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';

export function sourceSide(conn: Connector): Source {
  if (!conn.source)
    throw new FerryError(
      'UNSUPPORTED',
      `${conn.kind} endpoints can only be targets`,
      'use a PostgreSQL, MySQL or SQLite database as the source',
    );
  return conn.source();
}

export function targetSide(conn: Connector): Target {
  if (!conn.target)
    throw new FerryError('UNSUPPORTED', `${conn.kind} endpoints can only be sources`, 'use another target');
  return conn.target();
}
