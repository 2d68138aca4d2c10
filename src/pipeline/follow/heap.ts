// The follow loop's memory. What it holds is bounded: the stream stops reading while a batch
// waits, and batches are bounded in bytes. What it let go of is not: V8 collects when its heap
// nears a limit set from the machine's memory (4 GB here), so while a backlog is applied at full
// speed, or on a machine busy enough that V8's background marking lags, the garbage of applied
// batches piled up to over 300 MB of resident memory (issue 14). A heap limit for the process
// would bound it too, but would also fail a copy of large values (which need more, briefly).
// So after a batch, a heap grown past the budget is collected at once. When what survives a
// collection is itself near the budget (a backlog of large values), collecting after every batch
// would cost a full collection per batch for little: the next one waits for the heap to double.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** heap in use (live and garbage) past which the follow loop collects after a batch */
const HEAP_BUDGET = 128 * 2 ** 20;

let collect: (() => void) | undefined;
/** heap in use past which the next collection runs: the budget, or twice what survived the last */
let threshold = HEAP_BUDGET;

/** Collects the heap's garbage when the heap has grown past the budget. */
export function boundHeap(): void {
  if (getHeapStatistics().used_heap_size < threshold) return;
  if (!collect) {
    // V8's collector, as --expose-gc gives it to contexts made after the flag is set
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  threshold = Math.max(HEAP_BUDGET, 2 * getHeapStatistics().used_heap_size);
}
