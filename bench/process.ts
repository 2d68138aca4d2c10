// Child processes: run a tool with its wall time (and peak RSS when asked) measured, its
// output kept in a log file, and a failure reported with the end of that log.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const GNU_TIME = '/usr/bin/time';

export interface RunOptions {
  /** What the command is, for messages ("ferry run", "pgloader"). */
  label: string;
  cwd: string;
  /** Output of the command is appended here. */
  logFile: string;
  /** Measure the peak resident set size and the CPU time (under GNU time). */
  measureRss?: boolean;
  /** The exit code of a run that went as expected (0 unless said). */
  expectedExit?: number;
}

export interface Timed {
  wallSeconds: number;
  /** Peak RSS in MiB, when measured. */
  peakRssMb?: number;
  /** user + system CPU seconds, when measured */
  cpuSeconds?: number;
}

function logTail(logFile: string, lines = 25): string {
  return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function exitCode(command: string, args: string[], options: RunOptions): Promise<number> {
  const out = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', out, out] });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  } finally {
    closeSync(out);
  }
}

/** Runs a command to completion; throws with the end of its log unless it exits with the expected code. */
export async function runTimed(command: string, args: string[], options: RunOptions): Promise<Timed> {
  appendFileSync(options.logFile, `$ ${[command, ...args].join(' ')}\n`);
  const rssFile = `${options.logFile}.rss`;
  const [program, programArgs] = options.measureRss
    ? [GNU_TIME, ['-f', '%M %U %S', '-o', rssFile, command, ...args]]
    : [command, args];
  const started = performance.now();
  const code = await exitCode(program, programArgs, options);
  const wallSeconds = (performance.now() - started) / 1000;
  try {
    if (code !== (options.expectedExit ?? 0))
      throw new Error(
        `${options.label} exited with code ${code}; the end of ${options.logFile}:\n${logTail(options.logFile)}`,
      );
    if (!options.measureRss) return { wallSeconds };
    // GNU time writes the peak in KiB, user and system seconds as the last line of its output file.
    const [kib, user, system] = readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { wallSeconds, peakRssMb: kib! / 1024, cpuSeconds: user! + system! };
  } finally {
    rmSync(rssFile, { force: true });
  }
}

function onPath(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

/** Installs the Debian package that provides a missing program. */
export function ensureInstalled(binary: string, debianPackage: string): void {
  if (onPath(binary)) return;
  console.log(`${binary} is missing: installing the Debian package ${debianPackage}`);
  const install = () =>
    spawnSync('apt-get', ['install', '-y', debianPackage], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    install();
  }
  if (!onPath(binary))
    throw new Error(
      `could not install ${debianPackage} (needed for ${binary}): install it with apt-get install -y ${debianPackage}`,
    );
}

export function ensureGnuTime(): void {
  ensureInstalled(GNU_TIME, 'time');
}
