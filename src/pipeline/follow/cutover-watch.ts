// The follow loop's side of a cutover (pipeline/cutover/): it reads the plan's cutover record in
// the state folder when the cutover says it changed (announcePhase touches a file the watch
// listens to: no wait for a poll), and every POLL_MS besides. While the source's writes are
// frozen, it stores positions without changes too, asks the stream for heartbeats until the
// target holds the frozen position (the cutover waits for that), and has the batch that reaches
// it applied at once; once the plan is cut over, following stops. A freeze whose cutover was
// killed is told of once, with what undoes it.
import { watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { ChangeLog, ChangeStream } from '../../core/contracts.js';
import type { CutoverRecord } from '../session/checkpoints.js';
import type { Session } from '../session/session.js';
import { freezeOf, staleFreezeLine } from '../cutover/freeze-record.js';

/** the fallback when the file system tells nothing (a folder on a network file system) */
const POLL_MS = 100;

/** The file a cutover touches when its phase changes, in the state folder's locks. */
function phaseFile(session: Session): { folder: string; name: string } {
  return { folder: session.state.folder('locks'), name: `${session.hash}.cutover.phase` };
}

/** Records a cutover's phase and tells the follow loop at once. */
export function announcePhase(session: Session, record: CutoverRecord): void {
  session.state.setCutover(session.hash, record);
  const { folder, name } = phaseFile(session);
  writeFileSync(join(folder, name), record.phase, { mode: 0o600 });
}

export class CutoverWatch {
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
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
    const { folder, name } = phaseFile(this.session);
    try {
      this.watcher = watch(folder, (_, file) => {
        if (file === name) this.poll();
      });
      this.watcher.on('error', () => {});
    } catch {
      // polling alone
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.watcher?.close();
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

  /** whether `position` reaches the frozen position: the batch holding it is applied at once */
  reaches(position: string): boolean {
    const at = this.record?.position;
    return this.frozen() && at !== undefined && (this.changeLog.comparePositions?.(position, at) ?? -1) >= 0;
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
