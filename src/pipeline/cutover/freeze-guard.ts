// The bound on the frozen window: a timer started as the freeze begins undoes it when
// --max-freeze passes, even while a step hangs (the freeze itself included: a freeze that comes
// after the deadline is undone as it comes), and fails the step being awaited. Every step of the
// frozen window runs through step(); the hook gets the guard's signal, so it is stopped too.
import type { WriteFreeze } from '../../core/contracts.js';
import { FerryError } from '../../core/errors.js';

export class FreezeGuard {
  readonly since = Date.now();
  private readonly timer: NodeJS.Timeout;
  private readonly expired: Promise<never>;
  private readonly stop = new AbortController();
  private undone: Promise<void> | undefined;

  constructor(
    /** the freeze as it is being made (a freeze that fails undoes what it did itself) */
    private readonly freeze: Promise<WriteFreeze>,
    readonly maxMs: number,
  ) {
    this.freeze.catch(() => {});
    let fail: (e: FerryError) => void = () => {};
    this.expired = new Promise<never>((_, reject) => (fail = reject));
    this.expired.catch(() => {});
    this.timer = setTimeout(() => {
      const e = new FerryError(
        'CUTOVER_ABORTED',
        `the freeze would pass --max-freeze (${maxMs} ms)`,
        'let the target catch up (lower --max-lag), or allow a longer freeze',
      );
      this.stop.abort(e);
      void this.undo().catch(() => {});
      fail(e);
    }, maxMs);
  }

  /** the freeze, once made */
  get frozen(): Promise<WriteFreeze> {
    return this.freeze;
  }

  /** aborted when the deadline passes */
  get signal(): AbortSignal {
    return this.stop.signal;
  }

  /** `work`, unless the deadline passes first */
  step<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.expired]);
  }

  /** ms since the freeze */
  elapsed(): number {
    return Date.now() - this.since;
  }

  /** Makes the source writable again (once, however often it is called). */
  undo(): Promise<void> {
    clearTimeout(this.timer);
    this.undone ??= this.freeze.then(
      (f) => f.undo(),
      () => {},
    );
    return this.undone;
  }

  /** The cutover is done: the source stays frozen (the application writes to the target now). */
  keep(): void {
    clearTimeout(this.timer);
  }
}
