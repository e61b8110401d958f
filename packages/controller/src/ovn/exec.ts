/**
 * The one way arca-net runs OVS/OVN command-line tools: `execFile` with an
 * argument array (never a shell), the tool's own `--timeout` plus a process
 * timeout, errors that carry argv, exit code and stderr, debug logs.
 */
import { execFile } from 'node:child_process';
import type { Logger } from '@arca-net/log';
import { silentLogger } from '@arca-net/log';

/** The tools the controller drives. */
export type Tool =
  | 'ovn-nbctl'
  | 'ovn-sbctl'
  | 'ovs-vsctl'
  | 'ovs-appctl'
  // guarded OVSDB transactions (ovsdb-tx.ts: router groups)
  | 'ovsdb-client'
  | 'ovn-appctl'
  // the OVS port layer's veths and container namespaces (ovs/)
  | 'ip'
  | 'docker'
  // packet sockets' drop counters (ovs/drops.ts: OVS's capture of a TAP)
  | 'ss';

/** What a finished tool run produced. */
export interface ToolResult {
  stdout: string;
  stderr: string;
}

/** Runs one tool with an argv (without the tool name); rejects with {@link ToolError}. */
export type ToolRunner = (tool: Tool, args: readonly string[]) => Promise<ToolResult>;

/** What went wrong in a tool run, as the process reported it. */
export interface ToolFailure {
  tool: Tool;
  args: readonly string[];
  /** Exit status; null when the process was killed by a signal or never started. */
  exitCode: number | null;
  /** The signal that ended it (SIGALRM: the tool's own `--timeout`), or null. */
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Killed by the runner's process timeout. */
  timedOut: boolean;
}

function outcome(f: ToolFailure): string {
  if (f.timedOut) return 'timed out';
  if (f.signal === 'SIGALRM') return 'hit its --timeout';
  if (f.signal) return `was killed by ${f.signal}`;
  return f.exitCode === null ? 'could not run' : `exited ${f.exitCode}`;
}

/** A tool run that failed: non-zero exit, a signal, a timeout, or the tool could not be started. */
export class ToolError extends Error implements ToolFailure {
  override readonly name = 'ToolError';
  readonly tool: Tool;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly timedOut: boolean;
  constructor(failure: ToolFailure, cause?: unknown) {
    super(
      `${failure.tool} ${failure.args.join(' ')} ${outcome(failure)}: ${
        failure.stderr.trim() || String((cause as Error | undefined)?.message ?? '')
      }`,
      { cause },
    );
    this.tool = failure.tool;
    this.args = failure.args;
    this.exitCode = failure.exitCode;
    this.signal = failure.signal;
    this.stderr = failure.stderr;
    this.timedOut = failure.timedOut;
  }
}

/** Options of {@link createToolRunner}. */
export interface ToolRunnerOptions {
  /** Kill the process after this long (ms); the tools get `--timeout` of this minus a margin. */
  timeoutMs?: number;
  /** Extra environment (e.g. OVS_RUNDIR) merged over process.env. */
  env?: Record<string, string>;
  logger?: Logger;
}

/** Creates the real runner around `execFile`. */
export function createToolRunner(options: ToolRunnerOptions = {}): ToolRunner {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const log = (options.logger ?? silentLogger).child({ component: 'exec' });
  const env = options.env ? { ...process.env, ...options.env } : process.env;
  return (tool, args) =>
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      execFile(
        tool,
        [...args],
        { timeout: timeoutMs, killSignal: 'SIGKILL', env, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          if (error) {
            const exitCode = typeof error.code === 'number' ? error.code : null;
            const signal = error.signal ?? null;
            const timedOut = error.killed === true && signal === 'SIGKILL';
            log.debug({ tool, args, exitCode, signal, stderr, ms }, 'tool failed');
            reject(new ToolError({ tool, args, exitCode, signal, stderr, timedOut }, error));
            return;
          }
          log.debug({ tool, args, stdout, stderr, ms }, 'tool ran');
          resolve({ stdout, stderr });
        },
      );
    });
}

/** Seconds for a tool's own `--timeout`, a little below the process timeout. */
export function toolTimeoutSeconds(timeoutMs: number): number {
  return Math.max(1, Math.floor(timeoutMs / 1000) - 1);
}
