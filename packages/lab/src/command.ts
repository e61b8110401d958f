/**
 * The one way the lab, its tests and the bench run an external tool:
 * `execFile` with an argument array (never a shell), a timeout, and an error
 * that carries argv, exit code and stderr. {@link inNamespace} prefixes argv
 * to run inside a network namespace.
 */
import { execFile } from 'node:child_process';

/** A tool that failed: argv, exit code and its own stderr. */
export class CommandError extends Error {
  override readonly name = 'CommandError';

  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    const reason = stderr.trim().split('\n').pop() || `exit code ${exitCode}`;
    super(`${argv.join(' ')}: ${reason}`);
  }
}

/** Options of {@link runCommand} and {@link tryCommand}. */
export interface CommandOptions {
  /** Kills the tool after this long (default 120 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** What a finished tool printed and how it exited. */
export interface CommandResult {
  /** Exit code; 1 when it was killed or could not start. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv and collects its output; never rejects (a failure is in `code` and `stderr`). */
export function tryCommand(
  argv: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('tryCommand: empty argv'));
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        timeout: options.timeoutMs ?? 120_000,
        env: options.env ?? process.env,
        maxBuffer: 64 * 2 ** 20,
      },
      (error, stdout, stderr) => {
        const exited = error === null || typeof error.code === 'number';
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        // A tool that could not start or was killed says nothing: the error does.
        const said = String(stderr) || (exited ? '' : (error?.message ?? ''));
        resolve({ code, stdout: String(stdout), stderr: said });
      },
    );
  });
}

/** Runs argv; resolves with its output, rejects with {@link CommandError} unless it exits 0. */
export async function runCommand(
  argv: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const result = await tryCommand(argv, options);
  if (result.code !== 0) {
    throw new CommandError(argv, result.code, result.stderr);
  }
  return result;
}

/** argv that runs `argv` inside network namespace `namespace` (as is when undefined). */
export function inNamespace(namespace: string | undefined, argv: readonly string[]): string[] {
  return namespace === undefined ? [...argv] : ['ip', 'netns', 'exec', namespace, ...argv];
}
