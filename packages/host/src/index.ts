/**
 * `@arca-net/host`: what a container runtime's daemon embeds to give its
 * VM-per-container workloads Docker networks on OVN. Start with
 * {@link OvsNetworkBackend.open}.
 */
export type { AttachmentInfo } from './attach.js';
export { OvsNetworkBackend, type OvsNetworkBackendOptions } from './backend.js';
export {
  type BridgeLink,
  type BridgeRetry,
  type DataPlane,
  type DialedStream,
  dataPlaneFor,
  type LinkCounters,
  NetworkBridge,
  type NetworkBridgeOptions,
  nativeDataPlane,
  RELAY_ENGINES,
  type RelayEngine,
} from './bridge.js';
export {
  type ClientOptions,
  connectNetworkControl,
  connectTapForwarder,
  type HealthClient,
  type NetworkControlClient,
  type ServiceConnection,
  type TapForwarderClient,
} from './clients.js';
export { checkUpstreams, DNS_UPSTREAMS_OPTION, optionUpstreams } from './dns-upstreams.js';
export {
  type ConnectOptions,
  type ContainerSpec,
  type CreateNetworkOptions,
  endpointId,
  MTU_OPTION,
  type NetworkEndpointInspect,
  type NetworkInspect,
} from './docker.js';
export {
  type AttachmentDrops,
  type DeviceDropCounts,
  deviceDropTotal,
  ovsPortDropTotal,
} from './drops.js';
export {
  type ErrorCode,
  type ErrorKind,
  errors,
  errorTable,
  isBackendError,
  NetworkBackendError,
} from './errors.js';
export type { ForwarderObservation } from './forwarder-watch.js';
export { defaultPools, planNetworkAddressing } from './ipam.js';
export { checkCount, checkLength, LIMITS, quote } from './limits.js';
export { normalizeMac, stableMac } from './mac.js';
export {
  chooseFraming,
  type Framing,
  networkOffloadVeto,
  OFFLOAD_OPTION,
  OFFLOAD_PREFERENCES,
  type OffloadPreference,
  parseOffloadPreference,
} from './offload.js';
export {
  formatBinding,
  type PortBinding,
  type PortProtocol,
  type PortRequest,
  parsePortFilter,
  parsePortSpec,
  parsePortSpecs,
} from './port-spec.js';
export { PortAllocator } from './ports.js';
export type { PublishedPort } from './publish.js';
export type { ReconcileReport } from './reconcile.js';
export type { BridgeReconnect } from './redial.js';
export { optionRouter, ROUTER_OPTION } from './router-option.js';
