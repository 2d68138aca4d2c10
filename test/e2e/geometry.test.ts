// Geometry: MySQL's spatial columns and PostGIS's geometry travel as EWKB with their SRID. Into
// PostgreSQL with PostGIS they are geometry; without it, a finding and the form the plan names
// (WKB in bytea by default, WKT when the plan says text); into MySQL geometry again.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { runPlan } from '../../src/pipeline/copy/run.js';
import { assess } from '../../src/pipeline/plan/assess.js';
import { verifyPlan } from '../../src/pipeline/verify/verify.js';
import { freshMysql, freshPg, freshSqlite, mysqlExec, pgExec } from '../helpers.js';
import { planFor } from './support.js';

/** Each place's geometries: MySQL's WKT and SRID. */
const PLACES: [number, string | null, number][][] = [
  [
    [1, 'POINT(1 2)', 4326],
    [1, 'LINESTRING(0 0,1 1,2 0.5)', 0],
    [1, 'POLYGON((0 0,4 0,4 4,0 4,0 0),(1 1,2 1,2 2,1 1))', 3857],
    [1, 'GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1))', 4326],
  ],
  [
    [2, 'POINT(-71.0589 42.3601)', 4326],
    [2, null, 0],
    [2, null, 0],
    [2, 'MULTIPOINT(1 2,3 4)', 0],
  ],
];
const COLUMNS = ['spot', 'route', 'area', 'shape'];
/** …as ferry writes their text: ST_AsText after SRID=n; (EWKT) */
const EWKT = [
  [
    '1',
    'SRID=4326;POINT(1 2)',
    'LINESTRING(0 0,1 1,2 0.5)',
    'SRID=3857;POLYGON((0 0,4 0,4 4,0 4,0 0),(1 1,2 1,2 2,1 1))',
    'SRID=4326;GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1))',
  ],
  ['2', 'SRID=4326;POINT(-71.0589 42.3601)', null, null, 'MULTIPOINT((1 2),(3 4))'],
];

async function mysqlPlaces(name: string): Promise<string> {
  const url = await freshMysql(name);
  await mysqlExec(
    url,
    'CREATE TABLE place (id int PRIMARY KEY, spot point, route linestring, area polygon, shape geometry)',
  );
  for (const row of PLACES)
    await mysqlExec(
      url,
      `INSERT INTO place VALUES (${row[0]![0]}, ${row.map(([, wkt, srid]) => (wkt === null ? 'NULL' : `ST_GeomFromText('${wkt}', ${srid})`)).join(', ')})`,
    );
  return url;
}

async function postgis(name: string): Promise<string> {
  const url = await freshPg(name);
  await pgExec(url, 'CREATE EXTENSION postgis');
  return url;
}

async function pgRows(url: string, expr: (column: string) => string): Promise<(string | null)[][]> {
  const r = await pgExec(
    url,
    `SELECT id::text, ${COLUMNS.map((c) => `${expr(c)} AS ${c}`).join(', ')} FROM place ORDER BY id`,
  );
  return r.rows.map((row: Record<string, string | null>) => Object.values(row));
}

async function mysqlRows(url: string): Promise<unknown[]> {
  return (await mysqlExec(
    url,
    `SELECT id, ${COLUMNS.map((c) => `CONCAT('SRID=', ST_SRID(${c}), ';', ST_AsText(${c}))`).join(', ')} FROM place ORDER BY id`,
  )) as unknown[];
}

const typesOf = (plan: { waves: { tables: { columns: { source: string; type: string }[] }[] }[] }) =>
  plan.waves[0]!.tables[0]!.columns.map((c) => c.type);

describe('geometry', () => {
  test('MySQL spatial columns into PostgreSQL with PostGIS: geometry, each value with its SRID', async () => {
    const source = await mysqlPlaces('geo_to_postgis');
    const target = await postgis('ferry_geo_to_postgis');
    const { file, plan } = await planFor(source, target);
    assert.deepEqual(typesOf(plan), ['integer', 'geometry', 'geometry', 'geometry', 'geometry']);
    assert.equal((await runPlan(file)).rejects, 0);
    assert.equal((await verifyPlan(file)).ok, true);
    assert.deepEqual(
      await pgRows(
        target,
        (c) => `CASE WHEN ST_SRID(${c}) <> 0 THEN 'SRID=' || ST_SRID(${c}) || ';' ELSE '' END || ST_AsText(${c})`,
      ),
      EWKT,
    );
  });

  test('without PostGIS: a finding, WKB in bytea by default, WKT when the plan says text', async () => {
    const source = await mysqlPlaces('geo_to_pg');
    const target = await freshPg('ferry_geo_to_pg');
    const a = await assess({ source, target });
    assert.deepEqual(
      a.findings.filter((f) => f.column === 'spot').map((f) => [f.code, f.message]),
      [
        [
          'TYPE_MAPPED',
          "place.spot point (geometry) becomes bytea in postgres: PostGIS is not installed in this database: stored as WKB in bytea (PostGIS's EWKB, with the SRID); make the type text in the plan for WKT (SRID=4326;POINT(1 2)), or CREATE EXTENSION postgis first for geometry",
        ],
      ],
    );
    const wkb = await planFor(source, target);
    assert.deepEqual(typesOf(wkb.plan), ['integer', 'bytea', 'bytea', 'bytea', 'bytea']);
    assert.equal((await runPlan(wkb.file)).rejects, 0);
    assert.equal((await verifyPlan(wkb.file)).ok, true);
    // EWKB: little-endian, a point (1) with an SRID (0x20000000), 4326, then x and y
    assert.deepEqual((await pgRows(target, (c) => `encode(${c}, 'hex')`))[0]!.slice(1, 3), [
      '0101000020e6100000000000000000f03f0000000000000040',
      // no SRID: plain WKB, a linestring (2) of 3 points
      '0102000000' +
        '03000000' +
        '00'.repeat(16) +
        '000000000000f03f'.repeat(2) +
        '0000000000000040' +
        '000000000000e03f',
    ]);
    const wkt = await planFor(source, target, (p) => {
      p.target.ifExists = 'drop';
      for (const c of p.waves[0]!.tables[0]!.columns) if (c.source !== 'id') c.type = 'text';
    });
    assert.equal((await runPlan(wkt.file)).rejects, 0);
    assert.equal((await verifyPlan(wkt.file)).ok, true);
    assert.deepEqual(await pgRows(target, (c) => c), EWKT);
  });

  test('PostGIS into MySQL and SQLite, and MySQL into MySQL: every SRID kept', async () => {
    const source = await postgis('ferry_geo_from_postgis');
    await pgExec(
      source,
      'CREATE TABLE place (id int PRIMARY KEY, spot geometry(Point,4326), route geometry, area geometry, shape geometry)',
    );
    for (const row of EWKT) await pgExec(source, `INSERT INTO place VALUES ($1, $2, $3, $4, $5)`, row);
    const expected = [
      [
        1,
        'SRID=4326;POINT(1 2)',
        'SRID=0;LINESTRING(0 0,1 1,2 0.5)',
        'SRID=3857;POLYGON((0 0,4 0,4 4,0 4,0 0),(1 1,2 1,2 2,1 1))',
        'SRID=4326;GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1))',
      ],
      [2, 'SRID=4326;POINT(-71.0589 42.3601)', null, null, 'SRID=0;MULTIPOINT(1 2,3 4)'],
    ];
    const mysql = await freshMysql('ferry_geo_to_mysql');
    const toMysql = await planFor(source, mysql);
    assert.deepEqual(typesOf(toMysql.plan), ['int', 'geometry', 'geometry', 'geometry', 'geometry']);
    assert.equal((await runPlan(toMysql.file)).rejects, 0);
    assert.equal((await verifyPlan(toMysql.file)).ok, true);
    assert.deepEqual(
      (await mysqlRows(mysql)).map((r) => Object.values(r as object)),
      expected,
    );

    const again = await freshMysql('ferry_geo_mysql_again');
    const mysqlToMysql = await planFor(mysql, again);
    assert.equal((await runPlan(mysqlToMysql.file)).rejects, 0);
    assert.equal((await verifyPlan(mysqlToMysql.file)).ok, true);
    assert.deepEqual(
      (await mysqlRows(again)).map((r) => Object.values(r as object)),
      expected,
    );

    const sqlite = freshSqlite('geo_to_sqlite');
    const toSqlite = await planFor(source, sqlite);
    assert.deepEqual(typesOf(toSqlite.plan), [
      'INT32',
      'GEOMETRY_BLOB',
      'GEOMETRY_BLOB',
      'GEOMETRY_BLOB',
      'GEOMETRY_BLOB',
    ]);
    assert.equal((await runPlan(toSqlite.file)).rejects, 0);
    assert.equal((await verifyPlan(toSqlite.file)).ok, true);
    const db = new Database(sqlite.slice('sqlite:'.length), { readonly: true });
    assert.equal(
      db.prepare('SELECT hex(spot) FROM place WHERE id = 1').pluck().get(),
      '0101000020E6100000000000000000F03F0000000000000040',
    );
    db.close();
  });
});
