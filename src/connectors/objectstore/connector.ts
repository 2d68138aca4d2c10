// The object store connector: S3 and S3-compatible stores (s3://bucket/prefix) and local
// folders (file:./dir) as targets, written as Parquet, NDJSON or CSV files.
import type { Capabilities, ConnectOptions, Connector, NativeTypeChoice, Target } from '../../core/contracts.js';
import type { CanonicalType, SchemaInfo } from '../../core/types.js';
import { openStore, parseLocation } from '../../stores/location.js';
import type { ObjectStore } from '../../stores/store.js';
import { loadCodec } from './parquet/compress.js';
import { ORDERED_KINDS } from './keys.js';
import type { TargetSettings } from './layout.js';
import { parseTargetOptions, type TargetOptions } from './options.js';
import { ObjectStoreTarget } from './target.js';
import { canonicalType, nativeType } from './typemap.js';

const CREATED_BY = 'ferry version 0.1.0';

class ObjectStoreConnector implements Connector {
  readonly kind = 'objectstore';
  readonly capabilities: Capabilities = {
    portableKeyKinds: ORDERED_KINDS,
    // a table is a folder: a file name (255 bytes) without "/" or "\\", not hidden (".", "_": Hive,
    // Spark, Athena), and one folder for names that differ only in case (macOS, Windows)
    names: {
      table: { max: 255, unit: 'bytes', invalid: /[/\\\u0000]/g, reservedStart: /^[._]/, foldCase: true },
      column: {},
      index: {},
      constraint: {},
    },
    afterData: { finish: 'manifest', foreignKeys: false },
  };
  private readonly targetSide: ObjectStoreTarget;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: TargetOptions,
    settings: TargetSettings,
    opts: ConnectOptions,
  ) {
    this.targetSide = new ObjectStoreTarget(store, settings, opts.log);
  }

  async introspect(filter?: { tables?: string[] }): Promise<SchemaInfo> {
    return {
      engine: 'objectstore',
      version: `${this.options.format} files at ${this.store.location}`,
      tables: await this.targetSide.introspect(filter),
    };
  }

  nativeType(t: CanonicalType): NativeTypeChoice {
    return nativeType(t, this.options.timestampUnit === 'millis' ? 'MILLIS' : 'MICROS');
  }

  canonicalType(native: string): CanonicalType {
    return canonicalType(native);
  }

  target(): Target {
    return this.targetSide;
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

/** Opens the connector (the folder's factory in index.ts calls this). */
export async function connect(opts: ConnectOptions): Promise<Connector> {
  const location = parseLocation(opts.url);
  const options = parseTargetOptions(location.params, opts.options);
  const store = await openStore(location, options);
  try {
    await store.check();
    const compression = options.compression ?? (options.format === 'parquet' ? 'zstd' : 'none');
    const codec = await loadCodec(
      options.format === 'parquet' ? (compression as 'zstd' | 'snappy' | 'none') : 'none',
      options.compressionLevel,
    );
    const settings: TargetSettings = {
      format: {
        format: options.format,
        codec,
        gzip: compression === 'gzip',
        gzipLevel: compression === 'gzip' ? options.compressionLevel : undefined,
        pageBytes: options.pageSize,
        rowGroupBytes: options.rowGroupSize,
        rowGroupRows: options.rowGroupRows,
        fileBytes: options.fileSize,
        createdBy: CREATED_BY,
      },
      compression,
      maxPartitionsPerChunk: options.maxPartitionsPerChunk,
    };
    return new ObjectStoreConnector(store, options, settings, opts);
  } catch (err) {
    await store.close();
    throw err;
  }
}
