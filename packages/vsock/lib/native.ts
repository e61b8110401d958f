/**
 * The only module that loads the native addon: node-gyp-build picks this package's own build
 * (`build/Release/arca_vsock.node`, from `make build` or an install that compiled it) and
 * otherwise the prebuilt binary shipped in the tarball (`prebuilds/<platform>-<arch>/`). Everything
 * else goes through the typed functions exported here. It also routes the addon's events
 * (relay closed, connection accepted, …) to the object that registered for them, and keeps the
 * process alive while any relay or listener is open (like an open net.Socket does).
 */
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Opaque native handles (napi externals). */
export type RelayHandle = { readonly __brand: 'RelayHandle' };
export type ListenerHandle = { readonly __brand: 'ListenerHandle' };

export type NativeEvent =
  | { type: 'relay-close'; id: number; reason: string; side?: 'a' | 'b'; message?: string }
  | { type: 'accept'; id: number; fd: number; cid: number; port: number }
  | { type: 'listener-close'; id: number }
  | { type: 'listener-error'; id: number; errno: number; syscall: string; message: string };

export interface NativeScanResult {
  complete: number;
  frames: number;
  payload: number;
  error: boolean;
  badLength: number;
  /** Offload framing: why the virtio-net header was refused ('' when it was not). */
  badHeader: string;
}

/** End kinds as the addon numbers them. */
export const END_STREAM = 0;
export const END_TAP = 1;
export const END_RAW = 2;

/** The addon's exports (see src/addon.cc). Errors thrown carry `errno` and `syscall`. */
export interface NativeAddon {
  setEventHandler(handler: (event: NativeEvent) => void): void;
  ref(): void;
  unref(): void;
  setLoopThreads(threads: number): boolean;
  loopThreads(): number;
  droppedEvents(): number;
  scanFrames(data: Uint8Array, maxFrame: number, offload?: boolean): NativeScanResult;
  /** What the relay writes to the router for one offload unit (src/offload.cc; tests only). */
  finishOffloads(unit: Uint8Array): Buffer[];
  relayOpen(
    id: number,
    kindA: number,
    fdA: number,
    kindB: number,
    fdB: number,
    maxFrame: number,
    offload?: boolean,
    finishMac?: Uint8Array,
  ): RelayHandle;
  relayClose(handle: RelayHandle): void;
  /** [aToB.frames, bytes, drops, protocolErrors, bToA.frames, bytes, drops, protocolErrors] */
  relayStats(handle: RelayHandle): number[];
  listenVsock(
    id: number,
    cid: number | undefined,
    port: number,
    backlog: number,
    allowCids: number[],
  ): { port: number; handle: ListenerHandle };
  listenUnix(id: number, path: string, backlog: number): ListenerHandle;
  listenerClose(handle: ListenerHandle): void;
  listenerRejected(handle: ListenerHandle): number;
  connectVsock(cid: number, port: number, timeoutMs: number): Promise<number>;
  connectUnix(path: string, timeoutMs: number): Promise<number>;
  connectHvsock(path: string, port: number, timeoutMs: number): Promise<number>;
  tapCreate(
    name: string,
    mac: Uint8Array | null,
    mtu: number,
    up: boolean,
    offload?: boolean,
  ): { fd: number; ifindex: number; mac: Buffer; offloads: number };
  tapSetMtu(name: string, mtu: number): void;
  socketPair(): [number, number];
  dupFd(fd: number): number;
  /** src/peer-buffers.h: SO_RCVBUF of `pid`'s AF_PACKET sockets raised to `bytes`; how many. */
  raisePacketReceiveBuffers(pid: number, bytes: number): number;
}

const require = createRequire(import.meta.url);
/** The addon; lib/ and dist/ sit at the same depth, so `..` is the package directory from both. */
export const addon = require('node-gyp-build')(
  fileURLToPath(new URL('..', import.meta.url)),
) as NativeAddon;

const handlers = new Map<number, (event: NativeEvent) => void>();
let nextId = 1;

addon.setEventHandler((event) => {
  const handler = handlers.get(event.id);
  if (handler) {
    handler(event);
  } else if (event.type === 'accept') {
    closeSync(event.fd); // the listener is already gone
  }
});

/** Registers a receiver of native events; returns the id to pass to the addon. */
export function registerEvents(handler: (event: NativeEvent) => void): number {
  const id = nextId++;
  handlers.set(id, handler);
  if (handlers.size === 1) addon.ref();
  return id;
}

/** Stops routing events to `id` (after its final close event). */
export function unregisterEvents(id: number): void {
  if (handlers.delete(id) && handlers.size === 0) addon.unref();
}
