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
  /** each page is `head` (its levels) then the first `length` bytes of `values` */
  pages: {
    id: number;
    codec: ParquetCompression;
    level?: number;
    head: Uint8Array;
    values: ArrayBuffer;
    length: number;
  }[];
}

export interface CompressReply {
  /** `values` goes back for the next pages */
  pages: { id: number; body?: ArrayBuffer; values: ArrayBuffer; error?: string }[];
}

const codecs = new Map<string, Promise<Codec>>();
/** where each page is put together before it is compressed */
let scratch = Buffer.alloc(0);

parentPort!.on('message', async (m: CompressRequest) => {
  const pages: CompressReply['pages'] = [];
  for (const page of m.pages) {
    try {
      const key = `${page.codec}:${page.level ?? ''}`;
      let codec = codecs.get(key);
      if (!codec) codecs.set(key, (codec = loadCodec(page.codec, page.level)));
      // awaited before the scratch is filled: another message may run meanwhile
      const compressor = await codec;
      const size = page.head.length + page.length;
      if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(size);
      scratch.set(page.head, 0);
      scratch.set(new Uint8Array(page.values, 0, page.length), page.head.length);
      const out = compressor.compress(scratch.subarray(0, size));
      // a buffer of its own, so that transferring it moves nothing else
      const body =
        out.byteOffset === 0 && out.buffer.byteLength === out.length
          ? (out.buffer as ArrayBuffer)
          : new Uint8Array(out).buffer;
      pages.push({ id: page.id, body, values: page.values });
    } catch (e) {
      pages.push({ id: page.id, values: page.values, error: (e as Error).message });
    }
  }
  parentPort!.postMessage(
    { pages } satisfies CompressReply,
    pages.flatMap((p) => (p.body ? [p.body, p.values] : [p.values])),
  );
});
