// The stores every file of ferry goes through (src/stores/): a folder, and S3 through a real S3
// API server (s3rver, behind a recording proxy), run through the same checks: an object appears
// only when it is whole, a write that fails midway leaves nothing behind, and what was written
// reads back whole, streamed and by ranges. Then the one URL parser both are opened from.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { FerryError } from '../../src/core/errors.js';
import { openStore, parseLocation } from '../../src/stores/location.js';
import { S3OptionsSchema } from '../../src/stores/options.js';
import { writeStream, type ObjectStore } from '../../src/stores/store.js';
import { startDenyingProxy, startS3, type S3Server, type SeenRequest } from '../connectors/objectstore-servers.js';
import { tmpDir } from '../helpers.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** `data` in pieces of `size` bytes; throws instead of giving the piece at `failAt`, if given. */
async function* pieces(data: Buffer, size: number, failAt?: number): AsyncIterable<Buffer> {
  for (let at = 0; at < data.length; at += size) {
    if (at === failAt) throw new Error('the source failed');
    yield data.subarray(at, at + size);
  }
}

async function keys(store: ObjectStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list('')) out.push(o.key);
  return out.sort();
}

async function streamed(store: ObjectStore, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of store.stream(key)) parts.push(c);
  return Buffer.concat(parts);
}

let s3: S3Server;
let proxy: Awaited<ReturnType<typeof startDenyingProxy>>;
before(async () => {
  s3 = await startS3('ferry-stores');
  // denies nothing: it records the requests, to see how an object was uploaded
  proxy = await startDenyingProxy(s3, () => false);
});
after(async () => {
  await proxy?.stop();
  await s3?.stop();
});

/** Opens a store the way ferry does: from a URL, through the one parser. */
async function openUrl(url: string): Promise<ObjectStore> {
  const location = parseLocation(url);
  return openStore(location, S3OptionsSchema.parse(location.params));
}

interface StoreCase {
  name: string;
  /** a store of its own for each test */
  open(): Promise<ObjectStore>;
  /** what a failed write left beside the objects: temporary files, uploads not aborted */
  leftovers(requests: SeenRequest[]): string[];
}

const cases: StoreCase[] = [
  (() => {
    let root: string;
    return {
      name: 'folder',
      open: () => openUrl(`file:${(root = tmpDir('ferry-stores-'))}`),
      // folders may stay (a parallel write may be using them), files may not
      leftovers: () =>
        readdirSync(root, { recursive: true, withFileTypes: true })
          .filter((e) => !e.isDirectory())
          .map((e) => e.name),
    };
  })(),
  (() => {
    let n = 0;
    return {
      name: 'S3',
      open: () =>
        openUrl(
          `s3://ferry-stores/case${++n}/?endpoint=${proxy.endpoint}&forcePathStyle=true&region=us-east-1&partSize=5MiB`,
        ),
      leftovers: (requests) => {
        const created = requests.filter((r) => r.method === 'POST' && /[?&]uploads(=|&|$)/.test(r.url)).length;
        const aborted = requests.filter((r) => r.method === 'DELETE' && /[?&]uploadId=/.test(r.url)).length;
        return created === aborted ? [] : [`${created - aborted} multipart uploads neither completed nor aborted`];
      },
    };
  })(),
];

for (const c of cases)
  describe(`${c.name} store`, () => {
    test('an object written in pieces appears only when closed, and reads back whole', async () => {
      const store = await c.open();
      try {
        const data = randomBytes(12 * MiB);
        const seen = proxy.requests.length;
        const w = store.writer('table/part-1.bin');
        // several pieces at once, as the Parquet writer hands them over
        await w.write(data.subarray(0, MiB), data.subarray(MiB, 2 * MiB));
        for await (const piece of pieces(data.subarray(2 * MiB), MiB)) await w.write(piece);
        assert.equal(await store.get('table/part-1.bin'), undefined);
        assert.equal(await store.size('table/part-1.bin'), undefined);
        assert.ok(!(await keys(store)).includes('table/part-1.bin'));
        assert.deepEqual(await w.close(), { bytes: data.length, sha256: sha256(data) });

        assert.deepEqual(await keys(store), ['table/part-1.bin']);
        assert.equal(await store.size('table/part-1.bin'), data.length);
        assert.ok((await streamed(store, 'table/part-1.bin')).equals(data));
        const ranged = store.open('table/part-1.bin', data.length);
        assert.ok((await ranged.read(data.length - 8, data.length)).equals(data.subarray(-8)));
        assert.ok((await ranged.read(5 * MiB - 3, 5 * MiB + 3)).equals(data.subarray(5 * MiB - 3, 5 * MiB + 3)));
        if (c.name === 'S3') {
          const parts = proxy.requests.slice(seen).filter((r) => r.method === 'PUT' && /[?&]partNumber=/.test(r.url));
          assert.equal(parts.length, 3, 'parts of 5 MiB, sent as they fill');
        }
      } finally {
        await store.close();
      }
    });

    test('a write that fails midway leaves no object and nothing beside it', async () => {
      const store = await c.open();
      try {
        const data = randomBytes(12 * MiB);
        const seen = proxy.requests.length;
        await assert.rejects(writeStream(store, 'table/part-2.bin', pieces(data, MiB, 7 * MiB)), /the source failed/);
        assert.equal(await store.get('table/part-2.bin'), undefined);
        assert.deepEqual(await keys(store), []);
        assert.deepEqual(c.leftovers(proxy.requests.slice(seen)), []);
        if (c.name === 'S3')
          assert.ok(
            proxy.requests.slice(seen).some((r) => r.method === 'PUT' && /[?&]partNumber=/.test(r.url)),
            'the write had sent parts before it failed',
          );
      } finally {
        await store.close();
      }
    });

    test('small objects: put and get; an object that is not there has no size and no bytes', async () => {
      const store = await c.open();
      try {
        await store.put('table/_schema.json', '{"ok":true}\n');
        assert.equal((await store.get('table/_schema.json'))!.toString('utf8'), '{"ok":true}\n');
        assert.equal(await store.size('table/_schema.json'), 12);
        const written = await writeStream(store, 'small.bin', pieces(Buffer.from('four'), 2));
        assert.deepEqual(written, { bytes: 4, sha256: sha256(Buffer.from('four')) });
        assert.equal(await store.size('missing.bin'), undefined);
        assert.equal(await store.get('missing.bin'), undefined);
      } finally {
        await store.close();
      }
    });
  });

describe('store locations', () => {
  test('s3://, file: and folder paths are parsed into where the store is and its parameters', () => {
    assert.deepEqual(parseLocation('s3://lake/shop/orders/?region=eu-west-1&forcePathStyle=true'), {
      kind: 's3',
      bucket: 'lake',
      prefix: 'shop/orders/',
      credentials: undefined,
      params: { region: 'eu-west-1', forcePathStyle: 'true' },
    });
    assert.deepEqual(parseLocation('s3://lake'), {
      kind: 's3',
      bucket: 'lake',
      prefix: '',
      credentials: undefined,
      params: {},
    });
    assert.deepEqual(parseLocation('s3://AKIA1:se%2Fcret@lake/x'), {
      kind: 's3',
      bucket: 'lake',
      prefix: 'x/',
      credentials: { accessKeyId: 'AKIA1', secretAccessKey: 'se/cret' },
      params: {},
    });
    assert.deepEqual(parseLocation('file:///srv/lake?format=csv'), {
      kind: 'folder',
      path: '/srv/lake',
      params: { format: 'csv' },
    });
    assert.deepEqual(parseLocation('file:./lake'), { kind: 'folder', path: './lake', params: {} });
    assert.deepEqual(parseLocation('/backups/shop'), { kind: 'folder', path: '/backups/shop', params: {} });
  });

  test('a URL that names no bucket or no folder is one line saying what to write', () => {
    const invalid = (url: string, message: RegExp) =>
      assert.throws(
        () => parseLocation(url),
        (e: unknown) => e instanceof FerryError && e.code === 'URL_INVALID' && message.test(e.message),
      );
    invalid('s3:lake/shop', /^"s3:lake\/shop" is not an S3 URL$/);
    invalid('s3://', /is not an S3 URL/);
    invalid('file:', /^the file: URL names no folder$/);
  });

  test('S3 options given as URL parameters are checked and take their defaults', () => {
    const o = S3OptionsSchema.parse(parseLocation('s3://b/p?partSize=16MiB&forcePathStyle=true&maxAttempts=2').params);
    assert.deepEqual(
      {
        partSize: o.partSize,
        forcePathStyle: o.forcePathStyle,
        maxAttempts: o.maxAttempts,
        concurrency: o.uploadConcurrency,
      },
      { partSize: 16 * MiB, forcePathStyle: true, maxAttempts: 2, concurrency: 4 },
    );
    assert.equal(S3OptionsSchema.safeParse({ partSize: '1MiB' }).success, false);
  });
});
