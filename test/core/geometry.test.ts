// Geometry values: EWKB's text as PostGIS writes it (ST_AsText after SRID=n;), and MySQL's own form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromMysqlGeometry, geometrySrid, geometryText, toMysqlGeometry } from '../../src/core/geometry.js';

const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

// psql: SELECT encode(ST_AsEWKB(g, 'NDR'), 'hex') (the big-endian one with 'XDR')
const EWKB: [string, string][] = [
  ['0101000000000000000000f87f000000000000f87f', 'POINT EMPTY'],
  ['01010000c0000000000000f03f000000000000004000000000000008400000000000001040', 'POINT ZM (1 2 3 4)'],
  ['0020000001000010e63ff00000000000004000000000000000', 'SRID=4326;POINT(1 2)'],
  [
    '0102000020110f00000300000000000000000000000000000000000000000000000000f03f000000000000f03f0000000000000040000000000000e03f',
    'SRID=3857;LINESTRING(0 0,1 1,2 0.5)',
  ],
  [
    '0104000080020000000101000080000000000000f03f000000000000004000000000000008400101000080000000000000104000000000000014400000000000001840',
    'MULTIPOINT Z ((1 2 3),(4 5 6))',
  ],
  [
    '0107000020e6100000020000000101000000000000000000f03f000000000000004001020000000200000000000000000000000000000000000000000000000000f03f000000000000f03f',
    'SRID=4326;GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1))',
  ],
  ['010300000000000000', 'POLYGON EMPTY'],
];

test('the text of an EWKB geometry is PostGIS’s WKT, after its SRID', () => {
  for (const [h, text] of EWKB) assert.equal(geometryText(hex(h)), text, h);
  assert.equal(geometrySrid(hex(EWKB[3]![0])), 3857);
  assert.throws(
    () => geometryText(hex('0101000000000000000000f03f')),
    /not a well-known binary geometry: it ends in a point/,
  );
  assert.throws(() => geometryText(hex('0109000000')), /not a well-known binary geometry: type 9/);
});

test('MySQL’s form (SRID, then WKB) and EWKB convert both ways, SRID 0 as plain WKB', () => {
  // MariaDB: SELECT hex(ST_GeomFromText('POINT(1 2)', 4326))
  const mysql = hex('E61000000101000000000000000000F03F0000000000000040');
  const ewkb = fromMysqlGeometry(mysql);
  assert.equal(geometryText(ewkb), 'SRID=4326;POINT(1 2)');
  assert.deepEqual(toMysqlGeometry(ewkb), mysql);
  const plain = hex('000000000101000000000000000000F03F0000000000000040');
  assert.equal(geometryText(fromMysqlGeometry(plain)), 'POINT(1 2)');
  assert.deepEqual(toMysqlGeometry(fromMysqlGeometry(plain)), plain);
});
