// The follow loop's side of a cutover (pipeline/cutover/): it polls the plan's cutover record in
// the state folder. While the source's writes are frozen, it stores positions without changes
// too and asks the stream for heartbeats until the target holds the frozen position (the
// cutover waits for that); once the plan is cut over, following stops. A freeze whose cutover
// was killed is told of once, with what undoes it.
import type { ChangeLog, ChangeStream } from '../../core/contracts.js';
import type { CutoverRecord } from '../session/checkpoints.js';
import type { Session } from '../session/session.js';
import { freezeOf, staleFreezeLine } from '../cutover/freeze-record.js';

const POLL_MS = 100;

export class CutoverWatch {
  private timer: NodeJS.Timeout | undefined;
  private record: CutoverRecord | undefined;
  private last: string | undefined;
  /** the run whose stale freeze was told of */
  private warned: string | undefined;

  constructor(
    private readonly session: Session,
    private readonly changeLog: ChangeLog,
    private readonly stream: ChangeStream,
    private readonly onCutOver: () => void,
  ) {}

  start(): void {
    this.poll();
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  frozen(): boolean {
    return this.record?.phase === 'frozen';
  }

  cutOver(): boolean {
    return this.record?.phase === 'cut over';
  }

  /** the position the target holds now */
  applied(position: string): void {
    this.last = position;
  }

  private poll(): void {
    let freeze: ReturnType<typeof freezeOf>;
    try {
      this.record = this.session.state.cutover(this.session.hash);
      freeze = freezeOf(this.session.state, this.session.hash);
    } catch {
      // the state file busy a moment: the next poll reads it
      return;
    }
    // a cutover killed while frozen: its freeze stays until undone, and this stream idles meanwhile
    if (freeze?.standing === 'stale' && this.warned !== freeze.runId) {
      this.warned = freeze.runId;
      const side = this.session.followedBy ? 'the old target' : 'the source';
      this.session.log.warn(staleFreezeLine(freeze, side, this.session.planFile));
    }
    if (this.cutOver()) return this.onCutOver();
    const at = this.record?.position;
    if (!this.frozen() || at === undefined) return;
    const compare = this.changeLog.comparePositions?.bind(this.changeLog);
    if (this.last === undefined || !compare || compare(this.last, at) < 0) this.stream.pulse?.();
  }
}
