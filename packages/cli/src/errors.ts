/**
 * The CLI's exit codes and its one error type. Scripts rely on these codes;
 * `arca-net --help` and docs/cli.md list them.
 */

/** Exit codes of every `arca-net` command. */
export const ExitCode = {
  /** Success. */
  ok: 0,
  /** The lab host refused or failed the request (unknown network, name taken, …). */
  failed: 1,
  /** Bad command line: unknown command or flag, missing or malformed argument. */
  usage: 2,
  /** The lab is not running, or a prerequisite (root, Open vSwitch, OVN) is missing. */
  unavailable: 3,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A command-line mistake (exit code 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'UsageError';
  }
}
