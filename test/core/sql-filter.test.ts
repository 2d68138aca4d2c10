import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterProblem, type SqlDialect } from '../../src/core/sql-filter.js';

const ALL: SqlDialect[] = ['postgres', 'mysql', 'sqlite'];

test('one expression, with parentheses, strings and quoted names holding ) ; -- and /*, passes in every dialect', () => {
  for (const d of ALL) {
    assert.equal(filterProblem("(label = 'a) b' OR label = 'c''d (') AND id > 1", d), undefined, d);
    assert.equal(filterProblem("note <> 'x; -- /* y'", d), undefined, d);
    assert.equal(filterProblem('f((a + 1) * (b - 2)) > 0', d), undefined, d);
  }
  assert.equal(filterProblem('"odd)name" = 1 AND "a""b" IS NULL', 'postgres'), undefined);
  assert.equal(filterProblem('"odd)name" = 1', 'sqlite'), undefined);
  assert.equal(filterProblem('[odd)name] = 1 AND `x(` = 2', 'sqlite'), undefined);
  assert.equal(filterProblem('`odd)name` = 1 AND `a``b` = 2', 'mysql'), undefined);
  assert.equal(filterProblem("tags @> ARRAY['x)'] AND body = $$it's (here$$ AND a[1] = $1", 'postgres'), undefined);
  assert.equal(filterProblem('s = $tag$ ) $$ ; $tag$', 'postgres'), undefined);
  assert.equal(filterProblem("p = E'it\\'s )'", 'postgres'), undefined);
});

test('a filter that leaves its parentheses, or holds a statement or comment, is refused in every dialect', () => {
  for (const d of ALL) {
    assert.equal(filterProblem('1=1) OR (1=1', d), 'it closes a parenthesis it did not open', d);
    assert.equal(filterProblem('(1=1', d), 'it leaves a parenthesis open', d);
    assert.equal(filterProblem('id > 0; DELETE FROM t', d), 'it holds a ";": one expression, not statements', d);
    assert.equal(filterProblem('id > 0 -- ', d), 'it holds a comment, which would hide what follows it', d);
    assert.equal(filterProblem('id > 0 /* x */', d), 'it holds a comment, which would hide what follows it', d);
    assert.equal(filterProblem("a = 'open", d), 'a string is not closed', d);
    assert.equal(filterProblem(' \n ', d), 'it is empty', d);
  }
  assert.equal(filterProblem('id > 0 # rest', 'mysql'), 'it holds a comment, which would hide what follows it');
  assert.equal(filterProblem('a = $$ open', 'postgres'), 'a dollar-quoted string is not closed');
  assert.equal(filterProblem('[open = 1', 'sqlite'), 'a quoted name is not closed');
  // a standard PostgreSQL string ends at the quote after a backslash; an E string does not
  assert.equal(filterProblem("p = '\\') OR (1=1 AND '' = '", 'postgres'), 'it closes a parenthesis it did not open');
  assert.equal(filterProblem("p = E'\\\\') OR (1=1'", 'postgres'), 'it closes a parenthesis it did not open');
});

test('a MySQL filter must be one expression whether or not the server takes backslash escapes', () => {
  // with escapes: one string; without (NO_BACKSLASH_ESCAPES): a string, then ") OR (" outside it
  assert.equal(filterProblem("a = 'x\\') OR (1=1 OR a = '", 'mysql'), 'it closes a parenthesis it did not open');
  assert.equal(filterProblem("a = 'x\\'y'", 'mysql'), 'a string is not closed');
  assert.equal(filterProblem("a = 'x\\\\y'", 'mysql'), undefined);
});
