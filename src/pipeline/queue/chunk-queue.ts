// What a queued run's coordinator asks of its queue, whichever carries the chunk jobs: a Redis
// queue of `ferry worker`s (coordinator.ts, BullMQ) or an Amazon SQS queue feeding a function
// (sqs-coordinator.ts, `ferry/lambda`). Either way the chunk states live in the run's shared
// state (shared-state.ts, in Redis), where the coordinator finds each chunk done.
import type { Logger } from '../../core/log.js';
import { sharedStateUrl } from './address.js';
import type { ChunkJobMessage } from './job.js';
import type { SharedCheckpoints, SharedChunk, SharedOutcome } from './shared-state.js';
import { isSqsQueue } from './sqs-address.js';

/** A chunk a carrier finished, as the shared store holds it, with the attempts it took (a replay after a carrier died is one more). */
export type FinishedChunk = NonNullable<SharedChunk['done']> & { attempts: number };

/** How long the queue or the shared state may be out of reach before the run stops (the same command resumes). */
export const QUEUE_SILENCE_MS = 60_000;

export interface ChunkQueue {
  /** the run's shared state */
  readonly shared: SharedCheckpoints;
  /** the run starts coordinating the plan: carriers take only its jobs */
  begin(planHash: string, runId: string): Promise<void>;
  /** a global rate limit of chunk jobs across all carriers, or none */
  limitRate(chunksPerSecond: number | undefined): Promise<void>;
  /** has a carrier copy a chunk: its record once done, or the job's final failure */
  copy(message: ChunkJobMessage, onRows: (delta: number) => void): Promise<FinishedChunk>;
  /** ends the run's use of the queue, recording how the run ended in the shared state; never throws (a queue out of reach is let go) */
  close(planHash: string, end: { phase: SharedOutcome['phase']; error?: string }): Promise<void>;
}

/** Opens the queue a --queue URL names (an SQS queue needs its shared state's Redis URL as well). */
export async function openChunkQueue(queue: string, sharedState: string | undefined, log: Logger): Promise<ChunkQueue> {
  const state = sharedStateUrl(queue, sharedState);
  if (isSqsQueue(queue)) {
    const { SqsChunkQueue } = await import('./sqs-coordinator.js');
    return SqsChunkQueue.open(queue, state, log);
  }
  const { BullChunkQueue } = await import('./coordinator.js');
  return BullChunkQueue.open(queue, log);
}
