// `ferry cutover` from PostgreSQL (a private server with wal_level = logical) into PostgreSQL,
// while `ferry run --follow` runs and the application writes through an ordinary role (no
// superuser): the aborts and the cutover of cutover-support.ts.
import { describe } from 'node:test';
import { cutoverTests } from './cutover-support.js';
import { postgresFixture } from './cutover-pg-fixture.js';

describe('cutover: PostgreSQL -> PostgreSQL while an application role writes', () => {
  cutoverTests(postgresFixture);
});
