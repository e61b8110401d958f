/**
 * @arca-net/vsock: AF_VSOCK and Unix stream sockets, TAP devices and the event-driven frame
 * relay (a Node-API addon), plus pure-TS reference relays for benchmarks and cross-checks.
 */
export {
  checkVnetHeader,
  DEFAULT_MAX_FRAME,
  encodeFrame,
  encodeVnetHeader,
  FRAME_HEADER,
  FrameDecoder,
  type Framing,
  OFFLOAD_MAX_FRAME,
  type ScanResult,
  scanFrames,
  splitFrames,
  VNET_F_DATA_VALID,
  VNET_F_NEEDS_CSUM,
  VNET_GSO_NONE,
  VNET_GSO_TCPV4,
  VNET_GSO_TCPV6,
  VNET_GSO_UDP_L4,
  VNET_HDR,
  type VnetHeader,
} from './codec.js';
export { type DeviceDrops, parseProcNetDev, readDeviceDrops } from './device-drops.js';
export {
  formatVmEndpoint,
  type ListenEndpoint,
  parseListenEndpoint,
  parseVmEndpoint,
  unixdirPath,
  type VmEndpoint,
} from './endpoint.js';
export { VsockError } from './errors.js';
export { PollingRelay } from './polling-relay.js';
export {
  type DirectionStats,
  type FrameRelay,
  Relay,
  type RelayCloseInfo,
  type RelayEnd,
  type RelayOptions,
  type RelayStats,
  relayLoopThreads,
  setRelayLoopThreads,
} from './relay.js';
export {
  createDialProxy,
  type DialOptions,
  dialStream,
  dialUnix,
  type ListenOptions,
  listenStream,
  type PeerAddress,
  proxyListenerTo,
  StreamListener,
  StreamSocket,
} from './socket.js';
export {
  checkInterfaceName,
  formatMac,
  offloadNames,
  parseMac,
  TapDevice,
  type TapOptions,
} from './tap.js';
export {
  addTapLinkStats,
  emptyTapLinkStats,
  type LinkListener,
  type LinkSocket,
  type LinkTap,
  nativeTapLinkPrimitives,
  TapLink,
  TapLinkError,
  type TapLinkOptions,
  type TapLinkPrimitives,
  type TapLinkStats,
} from './tap-link.js';
export { TsRelay } from './ts-relay.js';

import { addon } from './native.js';

/** A connected, non-blocking AF_UNIX stream socketpair (both fds owned by the caller). */
export function socketPair(): [number, number] {
  return addon.socketPair();
}
export { OVS_PORT_RCVBUF, raisePacketReceiveBuffers } from './peer-buffers.js';
