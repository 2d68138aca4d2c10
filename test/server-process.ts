// A server for the tests and the benchmark in a child Node process on a free loopback port:
// the CLI, run synchronously by the tests, can talk to it, and its CPU time is its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ServerProcess {
  port: number;
  /** CPU seconds the server has used so far (Linux) */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/**
 * Runs `script` (CommonJS, given `args` as process.argv[1..]): it listens on 127.0.0.1, writes
 * its port and a newline to stdout, and closes on SIGTERM.
 */
export async function startServerProcess(name: string, script: string, args: string[] = []): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['-e', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: process.cwd(),
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
  });
  return {
    port,
    cpuSeconds: () => {
      // utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 a second)
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
