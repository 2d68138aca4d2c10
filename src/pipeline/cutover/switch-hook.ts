// The switch hook: the user's shell command that moves the application (a secret, a DNS name, a
// feature flag). It gets the plan and the positions in its environment, never a URL or a secret;
// a non-zero exit fails the cutover, which is then undone.
import { spawn } from 'node:child_process';
import { FerryError } from '../../core/errors.js';
import { redact } from '../../core/secrets.js';

export interface HookEnv {
  FERRY_PLAN: string;
  FERRY_PLAN_HASH: string;
  FERRY_SOURCE_KIND: string;
  FERRY_TARGET_KIND: string;
  FERRY_FROZEN_POSITION: string;
  FERRY_APPLIED_POSITION: string;
}

/** the last output lines a failing hook's message shows */
const TAIL_CHARS = 400;

export function runSwitchHook(command: string, env: HookEnv, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, {
      shell: true,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
    });
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-TAIL_CHARS));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (e) =>
      reject(hookFailed(signal.aborted ? 'was stopped at the freeze deadline' : e.message, output)),
    );
    child.on('exit', (code, sig) => {
      if (code === 0) resolve();
      else reject(hookFailed(code !== null ? `exited with ${code}` : `was ended by ${sig}`, output));
    });
  });
}

function hookFailed(what: string, output: string): FerryError {
  const tail = redact(output.trim().split('\n').slice(-2).join(' / '));
  return new FerryError(
    'CUTOVER_ABORTED',
    `the switch hook ${what}${tail ? ` (${tail})` : ''}`,
    'fix the hook (it runs with FERRY_PLAN and the positions in its environment), then run ferry cutover again',
  );
}
