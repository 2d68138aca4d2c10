// The thread that compresses Parquet pages, so that compression runs beside the main thread
// (which reads, maps and encodes rows) instead of taking turns with it.
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { loadCodec, type Codec, type ParquetCompression } from './compress.js';

// This thread has time to spare; the main thread is the run's critical path, and on a busy
// machine (a database server beside ferry) it waited for a core almost as long as it ran.
// A lower priority lets it go first (measured: 4% less wall time into an S3 API server on two
// cores). On Linux a priority belongs to a thread, so this leaves the rest of ferry as it is.
/** this thread's nice value: 10 measured as well as 19, and better than 5 */
const COMPRESSION_NICENESS = 10;
if (process.platform === 'linux') {
  try {
    setPriority(COMPRESSION_NICENESS);
  } catch {
    // a sandbox that refuses it leaves the thread as it was
  }
}

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
      // a buffer of its own, so that transferring it moves nothing else
      const body =
        out.byteOffset === 0 && out.buffer.byteLength === out.length
          ? (out.buffer as ArrayBuffer)
          : new Uint8Array(out).buffer;
      pages.push({ id: page.id, body, raw: page.raw });
    } catch (e) {
      pages.push({ id: page.id, raw: page.raw, error: (e as Error).message });
    }
  }
  parentPort!.postMessage(
    { pages } satisfies CompressReply,
    pages.flatMap((p) => (p.body ? [p.body, p.raw] : [p.raw])),
  );
});
