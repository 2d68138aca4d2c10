// Names made to fit a target (core/names.ts): cut with a hash, characters replaced, unique in a
// scope as the engine compares names, and the naming policies.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyPolicy, fitName, NameScope, snakeCase, type NameRule } from '../../src/core/names.js';

const PG: NameRule = { max: 63, unit: 'bytes', invalid: /\u0000/g };
const MYSQL: NameRule = { max: 64, unit: 'chars', foldCase: true, noTrailingSpace: true };
const DYNAMO: NameRule = { min: 3, max: 255, unit: 'bytes', invalid: /[^A-Za-z0-9_.-]/g };

describe('fitName', () => {
  test('a name that fits stays as it is', () => {
    assert.equal(fitName('customer', PG), 'customer');
    assert.equal(fitName('x'.repeat(63), PG), 'x'.repeat(63));
    assert.equal(fitName('é'.repeat(64), MYSQL), 'é'.repeat(64));
  });

  test('a long name is cut to the limit with a hash of the whole name, so two long names stay two', () => {
    const a = fitName(`${'x'.repeat(70)}a`, PG);
    const b = fitName(`${'x'.repeat(70)}b`, PG);
    assert.equal(Buffer.byteLength(a), 63);
    assert.match(a, /^x{56}_[0-9a-f]{6}$/);
    assert.notEqual(a, b);
    // the same name always becomes the same
    assert.equal(fitName(`${'x'.repeat(70)}a`, PG), a);
  });

  test('bytes or characters, as the engine counts; never half a character', () => {
    // 40 two-byte characters: 80 bytes, 40 characters
    const name = 'é'.repeat(40);
    assert.equal(fitName(name, MYSQL), name);
    const pg = fitName(name, PG);
    assert.ok(Buffer.byteLength(pg) <= 63, pg);
    assert.match(pg, /^é+_[0-9a-f]{6}$/);
  });

  test('characters the engine refuses, a reserved start, a trailing space, too short', () => {
    assert.equal(fitName('Order Details', DYNAMO), 'Order_Details');
    assert.equal(fitName('ab', DYNAMO), 'ab_');
    assert.equal(fitName('sqlite_stat', { reservedStart: /^sqlite_/i }), 't_sqlite_stat');
    assert.equal(fitName('name ', MYSQL), 'name_');
    assert.equal(fitName('a\u0000b', PG), 'a_b');
  });
});

describe('NameScope', () => {
  test('names that differ only in case collide where the engine ignores case, and get a number', () => {
    const mysql = new NameScope(MYSQL);
    assert.equal(mysql.claim('Name'), 'Name');
    assert.equal(mysql.claim('name'), 'name_2');
    assert.equal(mysql.claim('NAME'), 'NAME_3');
    const pg = new NameScope(PG);
    assert.equal(pg.claim('Name'), 'Name');
    assert.equal(pg.claim('name'), 'name');
  });

  test('the candidates come before a number (a schema or table name in front)', () => {
    const scope = new NameScope(PG);
    assert.equal(scope.claim('t'), 't');
    assert.equal(scope.claim('t', ['b_t']), 'b_t');
    assert.equal(scope.claim('t', ['b_t']), 't_2');
  });

  test('names equal once cut are told apart, still within the limit', () => {
    const scope = new NameScope({ max: 10, unit: 'chars' });
    assert.equal(scope.claim('abcdefghij'), 'abcdefghij');
    assert.equal(scope.claim('abcdefghij'), 'abcdefgh_2');
    const long = new NameScope(PG);
    const first = long.claim('y'.repeat(80));
    const second = long.claim('y'.repeat(80));
    assert.notEqual(first, second);
    assert.ok(Buffer.byteLength(second) <= 63, second);
  });
});

describe('naming policies', () => {
  test('keep, lower and snake', () => {
    assert.equal(applyPolicy('InvoiceLine', 'keep'), 'InvoiceLine');
    assert.equal(applyPolicy('InvoiceLine', 'lower'), 'invoiceline');
    assert.equal(applyPolicy('InvoiceLine', 'snake'), 'invoice_line');
    assert.equal(snakeCase('customerID'), 'customer_id');
    assert.equal(snakeCase('HTTPServer'), 'http_server');
    assert.equal(snakeCase('Unit Price'), 'unit_price');
    assert.equal(snakeCase('order-items'), 'order_items');
    assert.equal(snakeCase('already_snake'), 'already_snake');
  });
});
