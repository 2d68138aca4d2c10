// `ferry run PLAN --follow --cutover`: the cutover in the process that copies and follows. Once
// the follow loop streams, the cutover's sequence runs beside it as `ferry cutover` from another
// shell would (a session of its own; the two talk through the state folder), waiting first for
// the lag to come under --max-lag. Once cut over, the follow loop stops and the run ends. An
// aborted cutover (the source writable again) leaves following on: the abort is told, and
// `ferry cutover PLAN` from another shell can try again.
import { FerryError } from '../../core/errors.js';
import { runPlan, type RunOptions, type RunSummary } from '../copy/run.js';
import { cutoverPlan, type CutoverOptions, type CutoverResult } from './cutover.js';

export interface RunCutoverSummary {
  run: RunSummary;
  /** the cutover, once made; undefined when it aborted (`aborted` says why) or following stopped first */
  cutover?: CutoverResult;
  aborted?: string;
}

export async function runThenCutOver(
  planFile: string,
  run: RunOptions,
  cutover: CutoverOptions & { onAbort?: (e: FerryError) => void },
): Promise<RunCutoverSummary> {
  let startCutover: () => void = () => {};
  const following = new Promise<void>((resolve) => (startCutover = resolve));
  const running = runPlan(planFile, {
    ...run,
    follow: true,
    onEvent: (e) => {
      run.onEvent?.(e);
      if (e.type === 'following') startCutover();
    },
  });
  const ended = running.then(
    () => undefined,
    () => undefined,
  );
  // the cutover starts once following does; a run that ends first (stopped, failed) makes none
  const cutting = Promise.race([following.then(() => 'cut' as const), ended]).then((go) =>
    go ? cutoverPlan(planFile, { ...run, ...cutover }) : undefined,
  );
  const outcome = cutting.then(
    (c): Omit<RunCutoverSummary, 'run'> => (c ? { cutover: c } : {}),
    (e: unknown) => {
      const abort =
        e instanceof FerryError
          ? e
          : new FerryError('CUTOVER_ABORTED', `the cutover failed: ${(e as Error).message}`, 'ferry cutover PLAN');
      cutover.onAbort?.(abort);
      return { aborted: abort.oneLine() };
    },
  );
  const summary = await running;
  const out = await outcome;
  return { run: summary, ...out };
}
