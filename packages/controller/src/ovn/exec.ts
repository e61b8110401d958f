/**
 * The one way arca-net runs OVS/OVN command-line tools: `execFile` with an
 * argument array (never a shell), the tool's own `--timeout` plus a process
 * timeout, errors that carry argv, exit code and stderr, debug logs.
 */
import { execFile } from 'node:child_process';
import type { Logger } from '@arca-net/log';
import { silentLogger } from '@arca-net/log';

/** The tools the controller drives. */
export type Tool = 'ovn-nbctl' | 'ovn-sbctl' | 'ovs-vsctl' | 'ovs-appctl';

/** What a finished tool run produced. */
export interface ToolResult {
  stdout: string;
  stderr: string;
}

/** Runs one tool with an argv (without the tool name); rejects with {@link ToolError}. */
export type ToolRunner = (tool: Tool, args: readonly string[]) => Promise<ToolResult>;

/** A tool run that failed: non-zero exit, timeout, or the tool could not be started. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
  constructor(
    readonly tool: Tool,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly timedOut: boolean,
    cause?: unknown,
  ) {
    super(
      `${tool} ${args.join(' ')} ${
        timedOut ? 'timed out' : exitCode === null ? 'could not run' : `exited ${exitCode}`
      }: ${stderr.trim() || String((cause as Error | undefined)?.message ?? '')}`,
      { cause },
    );
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
            const code = typeof error.code === 'number' ? error.code : null;
            const timedOut = error.killed === true && error.signal === 'SIGKILL';
            log.debug({ tool, args, code, stderr, ms }, 'tool failed');
            reject(new ToolError(tool, args, code, stderr, timedOut, error));
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
