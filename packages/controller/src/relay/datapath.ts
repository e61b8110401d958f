/**
 * The helper side of one attachment's data path, as the domain sees it: an
 * interface named after the logical switch port (the domain plugs it into
 * br-int) plus a listener on `vsock_port + 10000` whose connections are
 * relayed to it. The vsock implementation lives in `helper-relay.ts`.
 */
import type { TapLinkStats } from '@arca-net/vsock';
import type { EndpointRecord } from '../ovn/model.js';

/** A running data path of one attachment ({@link TapLink} is one). */
export interface AttachmentLink {
  /** Host connections accepted since the link opened. */
  readonly connections: number;
  readonly connected: boolean;
  /** Summed over every host connection; `toTap` is towards the switch, `toStream` towards the container. */
  stats(): TapLinkStats;
  /** Stops listening, closes the relay and the interface. */
  close(): Promise<void>;
}

/** Opens attachment links. */
export interface DataPath {
  /**
   * Creates the interface `ep.portName` (up, not yet on br-int) and binds the
   * listener; resolves once both exist. `mtu` is the network's (default 1500).
   */
  open(ep: EndpointRecord, mtu?: number): Promise<AttachmentLink>;
}
