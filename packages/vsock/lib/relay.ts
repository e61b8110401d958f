import { EventEmitter } from 'node:events';
import { DEFAULT_MAX_FRAME, type Framing, OFFLOAD_MAX_FRAME, VNET_HDR } from './codec.js';
import { invalid, toVsockError } from './errors.js';
import {
  addon,
  END_RAW,
  END_STREAM,
  END_TAP,
  type NativeEvent,
  type RelayHandle,
  registerEvents,
  unregisterEvents,
} from './native.js';

/**
 * One end of a relay. 'stream' = 4-byte big-endian length + Ethernet frame (QEMU -netdev
 * stream format); 'tap' = one frame per read/write; 'raw' (native Relay only, raw↔raw) = bytes
 * copied unchanged, for socket proxies.
 */
export type RelayEnd =
  | { kind: 'stream'; fd: number }
  | { kind: 'tap'; fd: number }
  | { kind: 'raw'; fd: number };

export interface DirectionStats {
  frames: number;
  bytes: number;
  drops: number;
  protocolErrors: number;
}
export interface RelayStats {
  aToB: DirectionStats;
  bToA: DirectionStats;
}
export interface RelayCloseInfo {
  reason: 'closed' | 'eof' | 'error' | 'protocol';
  side?: 'a' | 'b';
  message?: string;
}
export interface RelayOptions {
  /**
   * Largest length accepted on a stream end (default 65536, or 65535 + 12 in offload framing);
   * 0 or more is a protocol error.
   */
  maxFrame?: number;
  /**
   * 'offload': every frame carries a 12-byte virtio-net header after its length (TAP ends must
   * be opened with offload); stream sources are checked header by header. Default 'plain'.
   */
  framing?: Framing;
  /**
   * Offload framing, native relay: frames written to a TAP end for this MAC (the network's
   * router) that carry offloaded checksums leave segmented and checksummed in software:
   * OVS 3.1's userspace NAT corrupts offloaded checksums.
   */
  finishMac?: string;
}

/** What every relay implementation (native, TS, polling) offers. */
export interface FrameRelay extends EventEmitter {
  stats(): RelayStats;
  readonly closed: boolean;
  /** Closes both ends exactly once; 'close' is emitted once. Idempotent. */
  close(): void;
  /** Resolves with the close info once the relay has closed both ends. */
  whenClosed(): Promise<RelayCloseInfo>;
}

export function checkMaxFrame(options?: RelayOptions): number {
  const offload = checkFraming(options) === 'offload';
  const maxFrame = options?.maxFrame ?? (offload ? OFFLOAD_MAX_FRAME : DEFAULT_MAX_FRAME);
  const min = offload ? VNET_HDR + 1 : 1;
  if (!Number.isInteger(maxFrame) || maxFrame < min || maxFrame > 1 << 20) {
    throw invalid(`bad maxFrame ${maxFrame}: expected an integer ${min}..1048576`);
  }
  return maxFrame;
}

/** The framing asked for ('plain' by default). */
export function checkFraming(options?: RelayOptions): Framing {
  const framing = options?.framing ?? 'plain';
  if (framing !== 'plain' && framing !== 'offload') {
    throw invalid(`bad framing '${String(framing)}': expected 'plain' or 'offload'`);
  }
  return framing;
}

export function emptyStats(): RelayStats {
  return {
    aToB: { frames: 0, bytes: 0, drops: 0, protocolErrors: 0 },
    bToA: { frames: 0, bytes: 0, drops: 0, protocolErrors: 0 },
  };
}

function macBytes(mac: string): Uint8Array {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) throw invalid(`bad finishMac '${mac}'`);
  return Buffer.from(mac.split(':').map((h) => Number.parseInt(h, 16)));
}

function kindCode(end: RelayEnd, side: string): number {
  if (!Number.isInteger(end.fd) || end.fd < 0) throw invalid(`relay end ${side}: bad fd ${end.fd}`);
  switch (end.kind) {
    case 'stream':
      return END_STREAM;
    case 'tap':
      return END_TAP;
    case 'raw':
      return END_RAW;
    default:
      throw invalid(`relay end ${side}: unknown kind '${(end as { kind: string }).kind}'`);
  }
}

/** Helper shared by the relay classes: resolves whenClosed() and emits 'close' exactly once. */
export class CloseLatch {
  info: RelayCloseInfo | undefined;
  readonly #waiters: Array<(info: RelayCloseInfo) => void> = [];
  constructor(private readonly emitter: EventEmitter) {}
  settle(info: RelayCloseInfo): void {
    if (this.info) return;
    this.info = info;
    for (const waiter of this.#waiters.splice(0)) waiter(info);
    this.emitter.emit('close', info);
  }
  wait(): Promise<RelayCloseInfo> {
    if (this.info) return Promise.resolve(this.info);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/**
 * The native event-driven relay: runs on the addon's epoll threads, no JavaScript per frame.
 * Takes ownership of both fds when open() returns; if open() throws (e.g. an fd that is not a
 * socket), nothing was closed and the caller still owns both fds.
 */
export class Relay extends EventEmitter implements FrameRelay {
  readonly #handle: RelayHandle;
  readonly #latch = new CloseLatch(this);
  #closing = false;
  #finalStats: RelayStats | undefined;

  private constructor(handle: RelayHandle) {
    super();
    this.#handle = handle;
  }

  static open(a: RelayEnd, b: RelayEnd, options?: RelayOptions): Relay {
    const maxFrame = checkMaxFrame(options);
    const offload = checkFraming(options) === 'offload';
    const kindA = kindCode(a, 'a');
    const kindB = kindCode(b, 'b');
    let relay: Relay | undefined;
    const pending: NativeEvent[] = [];
    const id = registerEvents((event) => {
      if (relay) relay.#onEvent(id, event);
      else pending.push(event);
    });
    try {
      const handle = addon.relayOpen(
        id,
        kindA,
        a.fd,
        kindB,
        b.fd,
        maxFrame,
        offload,
        options?.finishMac === undefined ? undefined : macBytes(options.finishMac),
      );
      relay = new Relay(handle);
    } catch (err) {
      unregisterEvents(id);
      throw toVsockError(err);
    }
    for (const event of pending) relay.#onEvent(id, event);
    return relay;
  }

  get closed(): boolean {
    return this.#closing || this.#latch.info !== undefined;
  }

  stats(): RelayStats {
    if (this.#finalStats) return this.#finalStats;
    const s = addon.relayStats(this.#handle);
    const at = (i: number): number => s[i] ?? 0;
    return {
      aToB: { frames: at(0), bytes: at(1), drops: at(2), protocolErrors: at(3) },
      bToA: { frames: at(4), bytes: at(5), drops: at(6), protocolErrors: at(7) },
    };
  }

  close(): void {
    if (this.closed) return;
    this.#closing = true;
    addon.relayClose(this.#handle);
  }

  whenClosed(): Promise<RelayCloseInfo> {
    return this.#latch.wait();
  }

  #onEvent(id: number, event: NativeEvent): void {
    if (event.type !== 'relay-close') return;
    unregisterEvents(id);
    this.#finalStats = this.stats();
    const info: RelayCloseInfo = { reason: event.reason as RelayCloseInfo['reason'] };
    if (event.side) info.side = event.side;
    if (event.message) info.message = event.message;
    this.#latch.settle(info);
  }
}

/** Number of native relay loop threads (the pool starts on first use). */
export function relayLoopThreads(): number {
  return addon.loopThreads();
}

/** Sets the number of native relay loop threads; only before the first relay or listener. */
export function setRelayLoopThreads(threads: number): boolean {
  return addon.setLoopThreads(threads);
}
