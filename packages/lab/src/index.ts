/**
 * `@arca-net/lab`: the whole system on one Linux machine. The lab host
 * process and its API (networks and attachments are `@arca-net/host`'s own
 * types, errors its `NetworkBackendError`), the lab environment (paths,
 * namespaces, processes, the outside world, `lab up|down|status`), the tour,
 * the one way to run a tool, and the traffic probes the bench and the tests
 * share.
 */
export { LabClient, type LabClientOptions } from './api/client.js';
export {
  answeredByLabHost,
  type ComponentHealth,
  type ConnectBody,
  type DisconnectBody,
  type ErrorBody,
  LAB_ROUTES,
  type LabApi,
  type LabContainer,
  type LabHealth,
  LabHostAnswer,
  type LabRoute,
  type RunBody,
  STATUS_OF_KIND,
} from './api/routes.js';
export { serveLabApi } from './api/server.js';
export {
  hostPaths,
  MAX_LAB_HOSTS,
  UNDERLAY_CIDR,
  underlayAddress,
  underlayNamespace,
} from './cluster.js';
export {
  CommandError,
  type CommandOptions,
  type CommandResult,
  inNamespace,
  runCommand,
  tryCommand,
} from './command.js';
export { CONTAINER_NAME, EMBEDDED_DNS, LabContainers } from './containers.js';
export {
  DEFAULT_NETWORK,
  LabHostService,
  type LabHostServiceOptions,
  type LabNetworkBackend,
} from './host/service.js';
export {
  hostRunning,
  type LabDownResult,
  type LabProgress,
  type LabSettings,
  type LabStatus,
  type LabUpOptions,
  labDown,
  labHelperEnv,
  labStatus,
  labUp,
  readLabSettings,
  requireRunningLab,
  restartLabHost,
  silentProgress,
} from './lab.js';
export { listNamespaces, NetworkNamespace, uniqueSuffix } from './netns.js';
export { OUTSIDE_CIDR, OUTSIDE_GATEWAY } from './outside.js';
export {
  DEFAULT_LAB_DIR,
  DEFAULT_LAB_PREFIX,
  type LabConfig,
  LabPaths,
  labConfigFromEnv,
} from './paths.js';
export { checkPrerequisites, type PrerequisiteOptions } from './prerequisites.js';
export { type DhcpLease, dhcpLease } from './probes/dhcp.js';
export { type DigOptions, type DigResult, dig, parseDig } from './probes/dns.js';
export {
  type IperfClientOptions,
  IperfError,
  type IperfResult,
  type IperfServerOptions,
  parseIperfReport,
  runIperfClient,
  startIperfServer,
} from './probes/iperf.js';
export { type PingOptions, type PingResult, parsePing, ping, pingRtts } from './probes/ping.js';
export { startRrServer, tcpRrRate } from './probes/tcp-rr.js';
export { startUdpEcho, udpEcho } from './probes/udp-echo.js';
export {
  processAlive,
  processCommandLine,
  readPidfile,
  spawnDetached,
  stopProcess,
  waitFor,
} from './processes.js';
export { helperStartupScript } from './programs.js';
export { socketAccepts } from './sockets.js';
export { runTour, type TourEvent, type TourOptions } from './tour.js';
export { runClusterTour } from './tour-cluster.js';
