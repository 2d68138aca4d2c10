// `ferry cutover` from MariaDB (a private server writing a row binlog) into PostgreSQL and into
// MariaDB (the shared server), while `ferry run --follow` runs and the application writes
// through an ordinary user (no SUPER), and an operator's account with SUPER holds a session the
// freeze cannot stop (it is named): the aborts and the cutover of cutover-support.ts.
import { describe } from 'node:test';
import mysql from 'mysql2/promise';
import { freshMysql, freshPg, mysqlExec, unique } from '../helpers.js';
import { privateMariadb } from '../private-mariadb.js';
import { ACCOUNTS, as, cutoverTests, sql, type CutoverFixture } from './cutover-support.js';

/** The MariaDB source, seeded, with its application and operator accounts; `target` makes the target. */
function mariadbFixture(target: () => Promise<string>): () => Promise<CutoverFixture> {
  return async () => {
    const server = await privateMariadb({ binlog: true });
    const name = unique('cutover_src');
    const source = await server.database(name);
    const user = unique('app');
    const ops = unique('ops');
    await mysqlExec(
      source,
      `CREATE TABLE account (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, balance decimal(12,2) NOT NULL);
       CREATE TABLE entry (id bigint AUTO_INCREMENT PRIMARY KEY, account int NOT NULL, amount decimal(12,2), at datetime(6) DEFAULT CURRENT_TIMESTAMP(6));
       INSERT INTO account (name, balance) SELECT CONCAT('account ', seq), seq FROM seq_1_to_${ACCOUNTS};
       INSERT INTO entry (account, amount) SELECT 1 + seq % ${ACCOUNTS}, seq / 10 FROM seq_1_to_3000;
       CREATE USER '${user}'@'%'; GRANT SELECT, INSERT, UPDATE, DELETE ON \`${name}\`.* TO '${user}'@'%';
       CREATE USER '${ops}'@'%'; GRANT SUPER ON *.* TO '${ops}'@'%'; GRANT SELECT ON \`${name}\`.* TO '${ops}'@'%';`,
    );
    return {
      source,
      appSource: as(source, user),
      target: await target(),
      insertEntry: async (url) =>
        String(
          (
            await sql(
              url,
              url.startsWith('postgres')
                ? 'INSERT INTO entry (account, amount) VALUES (1, 4242) RETURNING id'
                : 'INSERT INTO entry (account, amount) VALUES (1, 4242)',
            )
          )[0]!.id,
        ),
      sourceNext: async () =>
        BigInt(
          (
            await sql(
              source,
              'SELECT AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
              ['entry'],
            )
          )[0]!.next as number,
        ),
      refused: /--read-only option/,
      privileged: {
        account: ops,
        hold: async () => {
          const c = await mysql.createConnection({ uri: as(source, ops) });
          return () => c.end();
        },
      },
      close: () => server.stop(),
    };
  };
}

describe('cutover: MariaDB -> PostgreSQL while an application user writes', () => {
  cutoverTests(mariadbFixture(() => freshPg('cutover_my_dst')));
});

// the target is the shared MariaDB server: the source's read_only does not reach it
describe('cutover: MariaDB -> MariaDB while an application user writes', () => {
  cutoverTests(mariadbFixture(() => freshMysql('cutover_my_dst')));
});
