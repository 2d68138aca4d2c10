// The thread that compresses Parquet pages, so that compression runs beside the main thread
// (which reads, maps and encodes rows) instead of taking turns with it.
import { parentPort } from 'node:worker_threads';
import { loadCodec, type Codec, type ParquetCompression } from './compress.js';

export interface CompressRequest {
  id: number;
  codec: ParquetCompression;
  level?: number;
  raw: ArrayBuffer;
}

export interface CompressReply {
  id: number;
  body?: ArrayBuffer;
  error?: string;
}

const codecs = new Map<string, Promise<Codec>>();

parentPort!.on('message', async (m: CompressRequest) => {
  try {
    const key = `${m.codec}:${m.level ?? ''}`;
    let codec = codecs.get(key);
    if (!codec) codecs.set(key, (codec = loadCodec(m.codec, m.level)));
    const out = (await codec).compress(Buffer.from(m.raw));
    // a fresh buffer of its own, so that transferring it moves nothing else
    const body = new ArrayBuffer(out.length);
    new Uint8Array(body).set(out);
    parentPort!.postMessage({ id: m.id, body } satisfies CompressReply, [body]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message } satisfies CompressReply);
  }
});
