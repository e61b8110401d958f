/**
 * The one way the lab runs an external tool: `execFile` with an argument
 * array (never a shell), a timeout, and an error that carries argv, exit code
 * and stderr.
 */
import { execFile } from 'node:child_process';

/** A tool that failed: argv, exit code and the tool's own stderr. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    const reason = stderr.trim().split('\n').pop() || `exit code ${exitCode}`;
    super(`${argv.join(' ')}: ${reason}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs `file args…`, resolving with stdout; rejects with {@link CommandError}. */
export function runCommand(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      {
        timeout: options.timeoutMs ?? 30_000,
        env: options.env ?? process.env,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) {
          const code = typeof error.code === 'number' ? error.code : null;
          reject(new CommandError([file, ...args], code, String(stderr) || error.message));
          return;
        }
        resolve(String(stdout));
      },
    );
  });
}
