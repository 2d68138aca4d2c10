// The embedded demo: a generated sample shop database in SQLite (related tables, varied
// types, non-ASCII text, NULLs), so the whole lifecycle runs with nothing to install.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

const NAMES = ['Zoë', 'Łukasz', 'Søren', 'Ana María', '李雷', 'Ngozi', 'Émile', 'Олег', 'Aiko', 'José'];
const PRODUCTS = [
  'Kaffeebohnen',
  'Thé vert',
  '抹茶',
  'Crème brûlée kit',
  'Tortilla chips 🌶',
  'Smørrebrød',
  'Pão de queijo',
];

/** Writes a deterministic sample database; returns its row counts. */
export function createDemoDatabase(file: string, customers = 500): Record<string, number> {
  rmSync(file, { force: true });
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.exec(`
    CREATE TABLE customer (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(200) NOT NULL UNIQUE,
      vip BOOLEAN NOT NULL, credit DECIMAL(12,2), joined DATETIME NOT NULL, notes TEXT);
    CREATE TABLE product (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, price DECIMAL(10,2) NOT NULL,
      weight_kg REAL, attributes JSON, thumbnail BLOB);
    CREATE TABLE "order" (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id),
      placed_at DATETIME NOT NULL, shipped_on DATE, status VARCHAR(20) NOT NULL);
    CREATE TABLE order_item (order_id INTEGER NOT NULL REFERENCES "order"(id), line INTEGER NOT NULL,
      product_id INTEGER NOT NULL REFERENCES product(id), quantity SMALLINT NOT NULL, unit_price DECIMAL(10,2) NOT NULL,
      PRIMARY KEY (order_id, line));
    CREATE INDEX order_customer ON "order"(customer_id);
    CREATE INDEX order_item_product ON order_item(product_id);
  `);
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = (i: number) =>
    `20${pad(20 + (i % 5))}-${pad(1 + (i % 12))}-${pad(1 + (i % 28))} ${pad(i % 24)}:${pad(i % 60)}:${pad((i * 7) % 60)}.${pad((i * 7919) % 1000000, 6)}`;
  const counts: Record<string, number> = {
    customer: customers,
    product: PRODUCTS.length * 10,
    order: customers * 3,
    order_item: 0,
  };
  db.transaction(() => {
    const c = db.prepare('INSERT INTO customer VALUES (?,?,?,?,?,?,?)');
    for (let i = 1; i <= customers; i++)
      c.run(
        i,
        `${NAMES[i % NAMES.length]} ${i}`,
        `customer${i}@example.com`,
        i % 7 === 0 ? 1 : 0,
        i % 5 === 0 ? null : (rand() * 10000).toFixed(2),
        stamp(i),
        i % 3 === 0 ? `prefers ${NAMES[(i + 3) % NAMES.length]} ✓` : null,
      );
    const p = db.prepare('INSERT INTO product VALUES (?,?,?,?,?,?)');
    for (let i = 1; i <= counts.product!; i++)
      p.run(
        i,
        `${PRODUCTS[i % PRODUCTS.length]} #${i}`,
        (1 + rand() * 99).toFixed(2),
        i % 4 === 0 ? null : Math.round(rand() * 5000) / 1000,
        JSON.stringify({ origin: NAMES[i % NAMES.length], tags: ['demo', i % 2 ? 'organic' : 'classic'] }),
        Buffer.from([0, i % 256, 255, 0]),
      );
    const o = db.prepare('INSERT INTO "order" VALUES (?,?,?,?,?)');
    const it = db.prepare('INSERT INTO order_item VALUES (?,?,?,?,?)');
    for (let i = 1; i <= counts.order!; i++) {
      o.run(
        i,
        1 + (i % customers),
        stamp(i * 3),
        i % 4 === 0 ? null : `2024-${pad(1 + (i % 12))}-${pad(1 + (i % 28))}`,
        ['new', 'paid', 'shipped', 'returned'][i % 4],
      );
      const lines = 1 + (i % 4);
      for (let l = 1; l <= lines; l++) {
        it.run(i, l, 1 + ((i * l) % counts.product!), 1 + (l % 3), (1 + rand() * 99).toFixed(2));
        counts.order_item!++;
      }
    }
  })();
  db.close();
  return counts;
}
