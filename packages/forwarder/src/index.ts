/**
 * `@arca-net/forwarder`: the container VM's forwarder (TAPForwarder on vsock
 * 5555, TAP relays, embedded DNS), startable in-process for the lab.
 */
import type { Logger } from '@arca-net/log';
import type { ListenAddress } from '@arca-net/rpc';
import type { DataPlane } from './dataplane.js';
import type { Upstream } from './dns/upstream.js';
import { type Forwarder, type ForwarderOptions, startForwarderWith } from './server.js';
import { vsockDataPlane } from './vsock-dataplane.js';

export type { DataPlane, ListenEndpoint } from './dataplane.js';
export type { Upstream } from './dns/upstream.js';
export { ForwarderError, type ForwarderErrorCode, forwarderErrors } from './errors.js';
export {
  type Forwarder,
  type ForwarderOptions,
  parseDnsListen,
  parseForwarderListen,
} from './server.js';
export { FORWARDER_VERSION } from './version.js';

/** Options of {@link startForwarder}; see {@link ForwarderOptions}. */
export interface StartForwarderOptions extends Omit<ForwarderOptions, 'dataPlane'> {
  /** `'vsock'`, `'vsock:5555'`, `'unixdir:/dir'` or the parsed form. */
  listen: ListenAddress | string;
  /** `'127.0.0.11:53'` (default), `'off'`, or `{host, port}`. */
  dns?: Upstream | 'off' | string;
  logger?: Logger;
  /** Replaces `@arca-net/vsock` (tests, embedding). */
  dataPlane?: DataPlane;
}

/** Starts a forwarder in this process; resolves once gRPC, DNS and the listeners are up. */
export function startForwarder(options: StartForwarderOptions): Promise<Forwarder> {
  return startForwarderWith({ ...options, dataPlane: options.dataPlane ?? vsockDataPlane });
}
