/**
 * The CLI's exit codes, and the one place where a failure becomes a line on
 * stderr and an exit code. Scripts rely on these codes; `arca-net --help`
 * and docs/cli.md list them. Every failure other than a usage error is one
 * of @arca-net/host's errors, and its kind decides the code.
 */
import { type ErrorKind, isBackendError } from '@arca-net/host';
import { answeredByLabHost } from '@arca-net/lab';

/** Exit codes of every `arca-net` command. */
export const ExitCode = {
  /** Success. */
  ok: 0,
  /** The request failed (unknown network, name taken, …). */
  failed: 1,
  /** Bad command line: unknown command or flag, missing or malformed argument. */
  usage: 2,
  /** The lab is not running, or a prerequisite (root, Open vSwitch, OVN) is missing. */
  unavailable: 3,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code of each error kind. */
const EXIT_CODE_OF_KIND: Record<ErrorKind, ExitCodeValue> = {
  invalid: ExitCode.failed,
  'not-found': ExitCode.failed,
  conflict: ExitCode.failed,
  forbidden: ExitCode.failed,
  unavailable: ExitCode.unavailable,
  internal: ExitCode.failed,
};

/** A command-line mistake (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = ExitCode.usage;
}

/**
 * One line and an exit code for any failure: the lab host's answers in
 * Docker's words (`Error response from daemon: …`), the lab's own failures
 * and usage errors as `arca-net: …`.
 */
export function describeError(error: unknown): [string, ExitCodeValue] {
  if (error instanceof UsageError) return [`arca-net: ${error.message}`, error.exitCode];
  // `docker port` says this one itself, not the daemon.
  if (isBackendError(error, 'NO_PUBLIC_PORT')) return [`Error: ${error.message}`, ExitCode.failed];
  if (isBackendError(error)) {
    const line = answeredByLabHost(error)
      ? `Error response from daemon: ${error.message}`
      : `arca-net: ${error.message}`;
    return [line, EXIT_CODE_OF_KIND[error.kind]];
  }
  const text = error instanceof Error ? error.message : String(error);
  return [`arca-net: ${text.split('\n')[0]}`, ExitCode.failed];
}
