/**
 * The lab's long-running processes: started detached (they outlive the CLI
 * command that started them), recorded in pidfiles, and stopped only when
 * their command line proves they belong to this lab.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SpawnOptions {
  /** stdout and stderr are appended here. */
  logFile: string;
  /** The pid is written here. */
  pidfile?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts `argv` in its own session, detached from the CLI; resolves with its pid. */
export async function spawnDetached(
  argv: readonly string[],
  options: SpawnOptions,
): Promise<number> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('spawnDetached: empty argv');
  await mkdir(dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'a', 0o600);
  try {
    const child = spawn(file, args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: options.env ?? process.env,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid ?? -1));
    });
    child.unref();
    if (options.pidfile) {
      await mkdir(dirname(options.pidfile), { recursive: true });
      await writeFile(options.pidfile, `${pid}\n`);
    }
    return pid;
  } finally {
    closeSync(log);
  }
}

/** The pid in `pidfile`, or undefined when the file is absent or garbage. */
export async function readPidfile(pidfile: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(pidfile, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` exists (and is not a zombie). */
export async function processAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // state is the field after "(comm)"
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X' && state !== '';
  } catch {
    return false;
  }
}

/** The command line of `pid` as one string (arguments joined by spaces), or '' when gone. */
export async function processCommandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** True when `pid` runs and its command line mentions `marker` (the lab directory). */
export async function processOwnedBy(pid: number, marker: string): Promise<boolean> {
  return (await processAlive(pid)) && (await processCommandLine(pid)).includes(marker);
}

/**
 * Sends SIGTERM, waits up to `timeoutMs` for the process to go, then SIGKILL.
 * Resolves once it is gone (or was never there).
 */
export async function stopProcess(pid: number, timeoutMs = 5000): Promise<void> {
  if (!(await processAlive(pid))) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await processAlive(pid))) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  while (await processAlive(pid)) await sleep(20);
}

/** Stops the process of `pidfile` if it belongs to `marker`, then removes the pidfile. */
export async function stopPidfile(
  pidfile: string,
  marker: string,
  timeoutMs = 5000,
): Promise<boolean> {
  const pid = await readPidfile(pidfile);
  let stopped = false;
  if (pid !== undefined && (await processOwnedBy(pid, marker))) {
    await stopProcess(pid, timeoutMs);
    stopped = true;
  }
  await rm(pidfile, { force: true });
  return stopped;
}

/**
 * Retries `check` every `intervalMs` until it returns true or `timeoutMs`
 * passes; `onTry` sees the attempt number (for progress lines).
 */
export async function waitFor(
  check: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; onTry?: (attempt: number) => void },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    options.onTry?.(attempt);
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(options.intervalMs ?? 100);
  }
}
