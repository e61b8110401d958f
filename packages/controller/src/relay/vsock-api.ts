/**
 * The part of `@arca-net/vsock` the controller uses (see notes/vsock-api.md),
 * typed structurally so the controller builds while that package evolves;
 * {@link loadVsock} loads the real module at run time.
 */
import type { EventEmitter } from 'node:events';

export type ListenEndpoint = { kind: 'vsock'; cid?: number } | { kind: 'unixdir'; dir: string };

export interface StreamSocketLike {
  detachFd(): number;
  close(): void;
}

export interface StreamListenerLike extends EventEmitter {
  readonly port: number;
  readonly path?: string;
  close(): void;
}

export interface TapDeviceLike {
  readonly name: string;
  dupFd(): number;
  close(): void;
}

export type RelayEnd = { kind: 'stream'; fd: number } | { kind: 'tap'; fd: number };

export interface DirectionStatsLike {
  frames: number;
  bytes: number;
  drops: number;
  protocolErrors: number;
}

export interface FrameRelayLike extends EventEmitter {
  stats(): { aToB: DirectionStatsLike; bToA: DirectionStatsLike };
  readonly closed: boolean;
  close(): void;
}

/** The functions and classes of `@arca-net/vsock` used here. */
export interface VsockApi {
  parseListenEndpoint(text: string): ListenEndpoint;
  listenStream(where: ListenEndpoint, port: number): Promise<StreamListenerLike>;
  proxyListenerTo(listener: StreamListenerLike, targetPath: string): { close(): void };
  TapDevice: {
    create(name: string, options?: { mac?: string; mtu?: number; up?: boolean }): TapDeviceLike;
  };
  Relay: { open(a: RelayEnd, b: RelayEnd): FrameRelayLike };
}

/** Loads `@arca-net/vsock` (the native addon) at run time. */
export async function loadVsock(): Promise<VsockApi> {
  const specifier = '@arca-net/vsock';
  return (await import(specifier)) as VsockApi;
}
