// Geometry values: the canonical value is PostGIS's extended WKB (EWKB): OGC well-known binary
// whose type word may carry a spatial reference (SRID) and Z and M flags. Here: its SRID, MySQL's
// own form (a little-endian SRID before plain WKB), and its text (EWKT: "SRID=4326;POINT(1 2)").
import { FerryError } from './errors.js';

const SRID_FLAG = 0x20000000;
const Z_FLAG = 0x80000000;
const M_FLAG = 0x40000000;

const SHAPES = [
  '',
  'POINT',
  'LINESTRING',
  'POLYGON',
  'MULTIPOINT',
  'MULTILINESTRING',
  'MULTIPOLYGON',
  'GEOMETRYCOLLECTION',
];

function bad(why: string): never {
  throw new FerryError(
    'VALUE_DOES_NOT_FIT',
    `not a well-known binary geometry: ${why}`,
    'check the column holds geometries',
  );
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** The header of the geometry at `at`: its byte order, type word and where its body starts. */
function header(b: Uint8Array, at: number): { little: boolean; type: number; srid: number; body: number } {
  if (at + 5 > b.byteLength) bad('it ends in a header');
  const little = b[at] === 1;
  if (!little && b[at] !== 0) bad(`byte order ${b[at]}`);
  const type = view(b).getUint32(at + 1, little);
  const srid = type & SRID_FLAG ? view(b).getUint32(at + 5, little) : 0;
  return { little, type, srid, body: at + (type & SRID_FLAG ? 9 : 5) };
}

/** The SRID of an EWKB geometry (0 when it has none). */
export function geometrySrid(ewkb: Uint8Array): number {
  return header(ewkb, 0).srid;
}

/** EWKB of MySQL's form of a geometry: the SRID (4 bytes, little-endian), then plain WKB. */
export function fromMysqlGeometry(stored: Uint8Array): Uint8Array {
  if (stored.byteLength < 9) bad(`${stored.byteLength} bytes`);
  const srid = view(stored).getUint32(0, true);
  const wkb = stored.subarray(4);
  if (srid === 0) return wkb;
  const h = header(wkb, 0);
  const out = new Uint8Array(wkb.byteLength + 4);
  const v = view(out);
  out[0] = wkb[0]!;
  v.setUint32(1, (h.type | SRID_FLAG) >>> 0, h.little);
  v.setUint32(5, srid, h.little);
  out.set(wkb.subarray(5), 9);
  return out;
}

/** MySQL's form of an EWKB geometry (its SRID first, then plain WKB). */
export function toMysqlGeometry(ewkb: Uint8Array): Uint8Array {
  const h = header(ewkb, 0);
  const out = new Uint8Array(4 + ewkb.byteLength - (h.body - 5));
  const v = view(out);
  v.setUint32(0, h.srid, true);
  out[4] = ewkb[0]!;
  v.setUint32(5, (h.type & ~SRID_FLAG) >>> 0, h.little);
  out.set(ewkb.subarray(h.body), 9);
  return out;
}

/** The text of an EWKB geometry: WKT as PostGIS's ST_AsText writes it, after "SRID=n;" when it has one. */
export function geometryText(ewkb: Uint8Array): string {
  const v = view(ewkb);
  let at = 0;
  const geometry = (): string => {
    const h = header(ewkb, at);
    at = h.body;
    // ISO codes (1001 a point with Z, 2001 with M, 3001 both) or EWKB's flags
    const iso = Math.floor((h.type & 0xffff) / 1000);
    const z = (h.type & Z_FLAG) !== 0 || iso === 1 || iso === 3;
    const m = (h.type & M_FLAG) !== 0 || iso === 2 || iso === 3;
    const shape = SHAPES[(h.type & 0xffff) % 1000];
    if (!shape) bad(`type ${h.type & 0xffff}`);
    const dims = 2 + (z ? 1 : 0) + (m ? 1 : 0);
    const u32 = () => {
      if (at + 4 > ewkb.byteLength) bad('it ends in a count');
      const n = v.getUint32(at, h.little);
      at += 4;
      return n;
    };
    const point = () => {
      if (at + 8 * dims > ewkb.byteLength) bad('it ends in a point');
      const xs: number[] = [];
      for (let d = 0; d < dims; d++, at += 8) xs.push(v.getFloat64(at, h.little));
      return xs;
    };
    const coords = (xs: number[]) => xs.map((x) => (Object.is(x, -0) ? '0' : String(x))).join(' ');
    /** "(a,b,…)" of a count and its items, or "EMPTY" */
    const items = (item: () => string) => {
      const n = u32();
      return n === 0 ? 'EMPTY' : `(${Array.from({ length: n }, item).join(',')})`;
    };
    const ring = () => items(() => coords(point()));
    let body: string;
    if (shape === 'POINT') {
      const xs = point();
      body = xs.every(Number.isNaN) ? 'EMPTY' : `(${coords(xs)})`;
    } else if (shape === 'LINESTRING') body = ring();
    else if (shape === 'POLYGON') body = items(ring);
    else
      // multi-geometries and collections hold whole geometries; in a multi-geometry without their names
      body = items(() => {
        const member = geometry();
        return shape === 'GEOMETRYCOLLECTION' ? member : member.slice(member.search(/\(|EMPTY$/));
      });
    const dimension = z && m ? ' ZM' : z ? ' Z' : m ? ' M' : '';
    return `${shape}${dimension}${dimension || body === 'EMPTY' ? ' ' : ''}${body}`;
  };
  const srid = header(ewkb, 0).srid;
  const text = geometry();
  if (at !== ewkb.byteLength) bad(`${ewkb.byteLength - at} bytes after the geometry`);
  return srid === 0 ? text : `SRID=${srid};${text}`;
}
