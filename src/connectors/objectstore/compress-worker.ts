// The thread that compresses Parquet pages, so that compression runs beside the main thread
// (which reads, maps and encodes rows) instead of taking turns with it.
import { parentPort } from 'node:worker_threads';
import { loadCodec, type Codec, type ParquetCompression } from './compress.js';

export interface CompressRequest {
  /** each page is the first `length` bytes of `raw` */
  pages: { id: number; codec: ParquetCompression; level?: number; raw: ArrayBuffer; length: number }[];
}

export interface CompressReply {
  /** `raw` goes back for the next pages */
  pages: { id: number; body?: ArrayBuffer; raw: ArrayBuffer; error?: string }[];
}

const codecs = new Map<string, Promise<Codec>>();

parentPort!.on('message', async (m: CompressRequest) => {
  const pages: CompressReply['pages'] = [];
  for (const page of m.pages) {
    try {
      const key = `${page.codec}:${page.level ?? ''}`;
      let codec = codecs.get(key);
      if (!codec) codecs.set(key, (codec = loadCodec(page.codec, page.level)));
      const out = (await codec).compress(Buffer.from(page.raw, 0, page.length));
      // a fresh buffer of its own, so that transferring it moves nothing else
      const body = new ArrayBuffer(out.length);
      new Uint8Array(body).set(out);
      pages.push({ id: page.id, body, raw: page.raw });
    } catch (e) {
      pages.push({ id: page.id, raw: page.raw, error: (e as Error).message });
    }
  }
  parentPort!.postMessage({ pages } satisfies CompressReply, pages.flatMap((p) => (p.body ? [p.body, p.raw] : [p.raw])));
});
