// The PostgreSQL source of the cutover tests: a private server with wal_level = logical, the
// tables of cutover-support.ts seeded, and an ordinary application role (no superuser).
import { freshPg, pgExec, unique } from '../helpers.js';
import { privatePostgres } from '../private-postgres.js';
import { ACCOUNTS, as, sql, type CutoverFixture } from './cutover-support.js';

export async function postgresFixture(): Promise<CutoverFixture> {
  const server = await privatePostgres({
    settings: { wal_level: 'logical', max_replication_slots: 10, max_wal_senders: 10 },
  });
  const source = await server.database(unique('cutover_src'));
  const role = unique('app');
  await pgExec(
    source,
    `CREATE TABLE account (id serial PRIMARY KEY, name text NOT NULL, balance numeric(12,2) NOT NULL);
     CREATE TABLE entry (id bigserial PRIMARY KEY, account int NOT NULL, amount numeric(12,2), at timestamptz DEFAULT now());
     INSERT INTO account (name, balance) SELECT 'account ' || g, g FROM generate_series(1, ${ACCOUNTS}) g;
     INSERT INTO entry (account, amount) SELECT 1 + g % ${ACCOUNTS}, g / 10.0 FROM generate_series(1, 3000) g;
     CREATE ROLE ${role} LOGIN;
     GRANT SELECT, INSERT, UPDATE, DELETE ON account, entry TO ${role};
     GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${role};`,
  );
  return {
    source,
    appSource: as(source, role),
    target: await freshPg('cutover_dst'),
    insertEntry: async (url) =>
      String((await sql(url, 'INSERT INTO entry (account, amount) VALUES (1, 4242) RETURNING id'))[0]!.id),
    sourceNext: async () =>
      BigInt((await sql(source, "SELECT pg_sequence_last_value('entry_id_seq') + 1 AS next"))[0]!.next as string),
    refused: /cannot execute \w+ in a read-only transaction|terminating connection/,
    close: async () => server.stop(),
  };
}
