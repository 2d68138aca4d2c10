// The table of misuse: more than a hundred bad inputs and faults, a row each, grouped by class
// (a file of misuse/ per class; misuse/table.ts says what a row is and plays it). The fixtures are
// made once; rows run two at a time.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ARGUMENTS } from './misuse/arguments.js';
import { BOUNDS } from './misuse/bounds.js';
import { CUTOVER } from './misuse/cutover.js';
import { DATA } from './misuse/data.js';
import { ENDPOINTS } from './misuse/endpoints.js';
import { FILESYSTEM } from './misuse/filesystem.js';
import { NAMES } from './misuse/names.js';
import { ONE_RUN } from './misuse/one-run.js';
import { PLAN_FILES } from './misuse/plan-files.js';
import { STATE } from './misuse/state.js';
import { makeFixtures, play, unmountAll, type Row } from './misuse/table.js';
import { TIMEOUTS } from './misuse/timeouts.js';
import { URLS_AND_SECRETS } from './misuse/urls-and-secrets.js';
import { WAY_BACK } from './misuse/way-back.js';
import { WHERE_FILTERS } from './misuse/where-filters.js';

const TABLE: [string, Row[]][] = [
  ['arguments', ARGUMENTS],
  ['names of things that do not exist', NAMES],
  ['plan files', PLAN_FILES],
  ['URLs and secrets', URLS_AND_SECRETS],
  ['endpoints and credentials', ENDPOINTS],
  ['data that does not fit', DATA],
  ['state', STATE],
  ['the file system', FILESYSTEM],
  ['one run at a time', ONE_RUN],
  ['where filters', WHERE_FILTERS],
  ['bounds', BOUNDS],
  ['timeouts', TIMEOUTS],
  ['cutover', CUTOVER],
  ['the way back', WAY_BACK],
];

before(makeFixtures);
after(unmountAll);

for (const [name, rows] of TABLE)
  describe(name, { concurrency: 2 }, () => {
    for (const row of rows) test(row.does, (t) => (row.cannot?.() ? t.skip(row.cannot()) : play(row)));
  });

test('the table holds at least a hundred cases', () => {
  const n = TABLE.reduce((sum, [, rows]) => sum + rows.length, 0);
  assert.ok(n >= 100, `${n} rows`);
});
