/**
 * `@arca-net/forwarder`: the container VM's forwarder (TAPForwarder on vsock
 * 5555, TAP relays, embedded DNS), startable in-process for the lab.
 */
export type { Upstream } from '@arca-net/dns';
export { ForwarderError, type ForwarderErrorCode, forwarderErrors } from './errors.js';
export {
  type Forwarder,
  type ForwarderOptions,
  parseDnsListen,
  parseForwarderListen,
  startForwarder,
} from './server.js';
export { FORWARDER_VERSION } from './version.js';
