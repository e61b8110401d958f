/**
 * @arca-net/cli as a library: the entry point of the `arca-net` command line
 * (tests run it in-process). The lab itself is @arca-net/lab.
 */
export { helpText, runCli } from './cli.js';
export { describeError, ExitCode, UsageError } from './errors.js';
export { type Io, processIo } from './output.js';
