import { execFile } from 'node:child_process';

/** Result of a finished command. */
export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs argv (no shell) and resolves with its output; rejects with an error
 * naming the command, its exit code and stderr.
 */
export function run(argv: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException & { code?: unknown }).code;
          reject(
            new Error(
              `${argv.join(' ')} failed (${String(code ?? error.signal ?? 'error')}): ${stderr.trim() || error.message}`,
            ),
          );
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

/** argv prefixed to run inside network namespace `ns` (root namespace when undefined). */
export function inNetns(ns: string | undefined, argv: readonly string[]): string[] {
  return ns ? ['ip', 'netns', 'exec', ns, ...argv] : [...argv];
}
