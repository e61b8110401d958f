/**
 * The forwarder's view of the data path: TAP devices, stream listeners and
 * frame relays. `vsock-dataplane.ts` backs it with `@arca-net/vsock`; unit tests
 * use a fake. Shapes follow `@arca-net/vsock` (fds are numbers, "owned" = close once).
 */
import type { EventEmitter } from 'node:events';

/** Where a guest process listens (the same union as `@arca-net/vsock`'s ListenEndpoint). */
export type ListenEndpoint = { kind: 'vsock'; cid?: number } | { kind: 'unixdir'; dir: string };

/** Counters of one relay direction. */
export interface DirectionStats {
  frames: number;
  bytes: number;
  drops: number;
  protocolErrors: number;
}

/** Relay counters; `a` is the TAP, `b` the host stream. */
export interface RelayStats {
  aToB: DirectionStats;
  bToA: DirectionStats;
}

/** A running TAP↔stream relay; emits 'close' once. */
export interface DataRelay extends EventEmitter {
  stats(): RelayStats;
  readonly closed: boolean;
  close(): void;
}

export interface DataTap {
  readonly name: string;
  readonly mac: string;
  /** A dup of the TAP fd, owned by the caller. */
  dupFd(): number;
  close(): void;
}

export interface DataSocket {
  /** Hands the fd's ownership to the caller. */
  detachFd(): number;
  close(): void;
}

/** A bound listener; emits 'connection' (DataSocket) and 'error' (Error). */
export interface DataListener extends EventEmitter {
  close(): void;
}

export interface DataPlane {
  createTap(name: string, options: { mac: string; mtu: number }): DataTap;
  /** Resolves once bound and listening. */
  listen(where: ListenEndpoint, port: number): Promise<DataListener>;
  /** Relays frames between the TAP fd (a) and the stream fd (b); owns both. */
  openRelay(tapFd: number, streamFd: number): DataRelay;
}
