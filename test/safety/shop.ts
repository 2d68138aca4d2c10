// The source the safety tests move: a SQLite shop with a parent and a child table.
import Database from 'better-sqlite3';
import { freshSqlite } from '../helpers.js';

/** A fresh SQLite database with `customers` customers and three times as many orders; returns its URL. */
export function shop(name: string, customers = 400): string {
  const url = freshSqlite(name);
  const db = new Database(url.slice('sqlite:'.length));
  db.exec('CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, credit NUMERIC(10,2))');
  db.exec(
    'CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id), total NUMERIC(10,2))',
  );
  db.exec(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${customers}) INSERT INTO customer SELECT i, 'customer ' || i, i * 1.25 FROM n`,
  );
  db.exec(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${customers * 3}) INSERT INTO orders SELECT i, 1 + i % ${customers}, i * 0.5 FROM n`,
  );
  db.close();
  return url;
}
