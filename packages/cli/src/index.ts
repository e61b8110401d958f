/**
 * @arca-net/cli as a library: the lab (for tests and benchmarks), its host
 * API client, and the CLI entry point.
 */
export { describeError, helpText, runCli } from './cli.js';
export type * from './daemon/api.js';
export { ApiError } from './daemon/api.js';
export { HostClient, HostUnreachableError } from './daemon/client.js';
export { CliError, ExitCode, UsageError } from './errors.js';
export { EMBEDDED_DNS } from './lab/containers.js';
export {
  checkPrerequisites,
  hostRunning,
  labDown,
  labStatus,
  labUp,
  readLabSettings,
} from './lab/lab.js';
export { inNamespace, listNamespaces } from './lab/netns.js';
export { DEFAULT_LAB_DIR, DEFAULT_LAB_PREFIX, type LabConfig, LabPaths } from './lab/paths.js';
export { type Io, processIo } from './output.js';
