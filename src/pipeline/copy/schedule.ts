// The schedule gate of a run: outside the plan's windows, workers wait before their next
// chunk (a chunk in flight finishes) and go on when a window opens. Time comes from a clock
// that tests replace.
import { insideAny, nextOpening, parseWindow, type Window } from '../../core/schedule.js';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Longest single sleep: the window is checked again after it, so a changed system clock is noticed. */
const MAX_SLEEP_MS = 60_000;

export class ScheduleGate {
  private readonly windows: Window[];
  /** the wait all workers share while the run is paused */
  private waiting: Promise<void> | undefined;

  constructor(
    windows: string[],
    private readonly clock: Clock,
    private readonly onPause: (until: Date | undefined) => void,
    private readonly onResume: () => void,
  ) {
    this.windows = windows.map(parseWindow);
  }

  /** Resolves at once inside a window, else when the next one opens. */
  wait(): Promise<void> {
    if (this.waiting) return this.waiting;
    if (insideAny(this.windows, this.clock.now())) return Promise.resolve();
    this.waiting = this.pause().finally(() => (this.waiting = undefined));
    return this.waiting;
  }

  private async pause(): Promise<void> {
    let opens = nextOpening(this.windows, this.clock.now());
    this.onPause(opens === undefined ? undefined : new Date(opens));
    while (!insideAny(this.windows, this.clock.now())) {
      const now = this.clock.now();
      // past the expected opening and still outside (the clock was set back): look again
      if (opens === undefined || now >= opens) opens = nextOpening(this.windows, now) ?? now + MAX_SLEEP_MS;
      await this.clock.sleep(Math.max(1, Math.min(MAX_SLEEP_MS, opens - now)));
    }
    this.onResume();
  }
}
