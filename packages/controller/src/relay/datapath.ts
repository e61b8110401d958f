/**
 * The helper side of one attachment's data path, as the domain sees it: a
 * TAP on br-int plus a listener on `vsock_port + 10000` whose connections are
 * relayed to the TAP. The vsock implementation lives in `helper-relay.ts`.
 */
import type { EndpointRecord } from '../ovn/model.js';

/** Counters of one direction (the relay's, summed over every connection). */
export interface LinkDirectionStats {
  frames: bigint;
  bytes: bigint;
  drops: bigint;
  protocolErrors: bigint;
}

/** A running data path of one attachment. */
export interface AttachmentLink {
  readonly listenPort: number;
  /** Host connections accepted since the link opened. */
  readonly connections: number;
  readonly connected: boolean;
  stats(): { toSwitch: LinkDirectionStats; toContainer: LinkDirectionStats };
  /** Stops listening, closes the relay and the TAP, unplugs the OVS port. */
  close(): Promise<void>;
}

/** Opens attachment links; `open` resolves once the TAP is on br-int and the listener is bound. */
export interface DataPath {
  open(ep: EndpointRecord): Promise<AttachmentLink>;
  /** Removes TAP ports left on br-int by an earlier run (no link objects exist for them), at once. */
  removeStalePorts(names: readonly string[]): Promise<void>;
}
