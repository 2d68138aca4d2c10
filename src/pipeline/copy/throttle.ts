// Throttles on what a run reads from the source: rows and bytes per second, shared by all
// workers (token buckets with a one-second burst; a batch larger than what is left waits
// for its debt to be paid).
import type { ColumnBatch } from '../../core/columns.js';
import type { Clock } from './schedule.js';

class Bucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly clock: Clock,
  ) {
    this.tokens = rate;
    this.last = clock.now();
  }

  /** Takes n tokens; returns how long to wait (ms) before they were really there. */
  take(n: number): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.rate;
  }
}

/** Bytes a value takes on the wire, roughly (the text length of strings, the length of bytes). */
function valueBytes(v: unknown): number {
  if (v === null || v === undefined) return 1;
  if (typeof v === 'string') return v.length;
  if (v instanceof Uint8Array) return v.byteLength;
  if (typeof v === 'number' || typeof v === 'bigint') return 8;
  if (typeof v === 'boolean') return 1;
  if (Array.isArray(v)) {
    let n = 2;
    for (const e of v) n += valueBytes(e);
    return n;
  }
  return String(v).length;
}

export function rowsBytes(rows: unknown[][]): number {
  let n = 0;
  for (const row of rows) for (const v of row) n += valueBytes(v);
  return n;
}

export interface ThrottleLimits {
  rowsPerSecond?: number;
  bytesPerSecond?: number;
}

export class Throttle {
  private readonly rows?: Bucket;
  private readonly bytes?: Bucket;

  constructor(
    limits: ThrottleLimits,
    private readonly clock: Clock,
  ) {
    if (limits.rowsPerSecond) this.rows = new Bucket(limits.rowsPerSecond, clock);
    if (limits.bytesPerSecond) this.bytes = new Bucket(limits.bytesPerSecond, clock);
  }

  /** undefined when the limits limit nothing, so the hot path pays nothing */
  static of(limits: ThrottleLimits | undefined, clock: Clock): Throttle | undefined {
    return limits?.rowsPerSecond || limits?.bytesPerSecond ? new Throttle(limits, clock) : undefined;
  }

  /** Waits until a batch just read may go on. */
  async pass(rows: unknown[][]): Promise<void> {
    await this.passCounted(rows.length, this.bytes ? rowsBytes(rows) : 0);
  }

  /** pass() for a column batch: its rows, and the bytes its values take */
  async passColumns(batch: ColumnBatch): Promise<void> {
    await this.passCounted(
      batch.rows,
      batch.columns.reduce((n, c) => n + c.data.byteLength, 0),
    );
  }

  private async passCounted(rows: number, bytes: number): Promise<void> {
    const wait = Math.max(this.rows?.take(rows) ?? 0, this.bytes?.take(bytes) ?? 0);
    if (wait > 0) await this.clock.sleep(wait);
  }
}

/** How many source readers a run uses: the plan's parallelism within the source connection limit. */
export function readerCount(settings: { parallelism: number; throttle?: { sourceConnections?: number } }): number {
  return Math.max(1, Math.min(settings.parallelism, settings.throttle?.sourceConnections ?? settings.parallelism));
}
