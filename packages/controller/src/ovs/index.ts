/**
 * `@arca-net/controller/ovs`: the OVS port layer (ports of containers found
 * by their ovs-docker ids) and `ovs-docker`'s four commands on it, without
 * the controller's server (no gRPC, no vsock addon).
 */
export { createToolRunner, ToolError, type ToolRunner } from '../ovn/exec.js';
export {
  type AddPortOptions,
  defaultOvsdb,
  OvsDocker,
  OvsDockerError,
  type OvsDockerOptions,
  portStem,
  UTIL,
} from './ovs-docker.js';
export {
  type ContainerPort,
  containerPortConditions,
  OvsPorts,
  ovsDockerIdArgs,
} from './ports.js';
export * from './validate.js';
export { PortManager, type PortManagerCounters, type PortManagerOptions } from './watch.js';
export { LABEL, loadWatchConfig, type WatchConfig } from './watch-config.js';
