/**
 * A TAP link: one TAP device plus a stream listener whose connections are
 * relayed to the TAP, one at a time. The forwarder (the container's eth
 * device, its data port) and the helper (a TAP on br-int, `port + 10000`)
 * both run one per attachment.
 *
 * Each accepted connection gets a native relay over a dup of the TAP fd; a new
 * connection replaces the previous relay (the host reconnected); counters are
 * summed over every relay, so reconnects keep totals. The listener stays up
 * until {@link TapLink.close}.
 */

import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import { type Logger, silentLogger } from '@arca-net/log';
import type { ListenEndpoint } from './endpoint.js';
import {
  type DirectionStats,
  type FrameRelay,
  Relay,
  type RelayCloseInfo,
  type RelayStats,
} from './relay.js';
import { listenStream } from './socket.js';
import { TapDevice, type TapOptions } from './tap.js';

/** Counters of a TAP link, per direction, summed over every relay it ran. */
export interface TapLinkStats {
  /** Read from the TAP, written to the stream (towards the host). */
  toStream: DirectionStats;
  /** Read from the stream, written to the TAP (from the host). */
  toTap: DirectionStats;
}

/** The TAP as a link uses it ({@link TapDevice} is one). */
export interface LinkTap {
  readonly name: string;
  readonly mac: string;
  /** Frames carry a virtio-net header (the TAP was opened in offload mode). */
  readonly offload?: boolean;
  /** A dup of the TAP fd, owned by the caller; the device lives while any dup is open. */
  dupFd(): number;
  close(): void;
}

/** An accepted connection ({@link StreamSocket} is one). */
export interface LinkSocket {
  /** The fd, still owned by this object. */
  readonly fd: number;
  /** Hands the fd's ownership to the caller. */
  detachFd(): number;
  close(): void;
}

/** A bound listener: emits 'connection' (a {@link LinkSocket}) and 'error' ({@link StreamListener} is one). */
export interface LinkListener extends EventEmitter {
  close(): void;
}

/**
 * What a TAP link is built from: the only seam between it and the kernel, so
 * unit tests can give it fakes. {@link nativeTapLinkPrimitives} is the real one.
 */
export interface TapLinkPrimitives {
  createTap(name: string, options: TapOptions): LinkTap;
  /** Resolves once bound and listening. */
  listen(where: ListenEndpoint, port: number): Promise<LinkListener>;
  /**
   * Relays frames between a dup of `tap`'s fd (end a) and `socket` (end b);
   * takes the socket's fd when it returns, leaves everything as it was when it throws.
   */
  openRelay(tap: LinkTap, socket: LinkSocket, options?: { finishMac?: string }): FrameRelay;
}

/** TAP devices, stream listeners and native relays of this package. */
export const nativeTapLinkPrimitives: TapLinkPrimitives = {
  createTap: (name, options) => TapDevice.create(name, options),
  listen: (where, port) => listenStream(where, port),
  openRelay(tap, socket, options) {
    const tapFd = tap.dupFd();
    try {
      const framing = tap.offload === true ? 'offload' : 'plain';
      const relay = Relay.open(
        { kind: 'tap', fd: tapFd },
        { kind: 'stream', fd: socket.fd },
        {
          framing,
          ...(framing === 'offload' && options?.finishMac ? { finishMac: options.finishMac } : {}),
        },
      );
      socket.detachFd();
      return relay;
    } catch (err) {
      closeSync(tapFd);
      throw err;
    }
  },
};

/** Which step of {@link TapLink.open} failed; the primitive's error is the cause. */
export class TapLinkError extends Error {
  readonly step: 'create-tap' | 'listen';
  constructor(step: 'create-tap' | 'listen', message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'TapLinkError';
    this.step = step;
  }
}

/** Options of {@link TapLink.open}. */
export interface TapLinkOptions {
  /** The TAP device's name. */
  name: string;
  /** MAC and MTU of the TAP (the kernel's defaults when absent); it is always brought up. */
  mac?: string;
  mtu?: number;
  /** Offload mode: the TAP is opened with offloads and the stream carries virtio-net headers. */
  offload?: boolean;
  /** Offload mode: frames to this MAC (the router) reach the TAP segmented and checksummed. */
  finishMac?: string;
  /** Where the listener binds, and its port. */
  listen: ListenEndpoint;
  port: number;
  /** Default: {@link nativeTapLinkPrimitives}. */
  primitives?: TapLinkPrimitives;
  /** Relays and host connections are logged here (bind the device and port in a child). */
  logger?: Logger;
}

/** How long {@link TapLink.close} waits for the relay to release its dup of the TAP fd. */
const RELAY_RELEASE_WAIT_MS = 2000;

/** Counters of no traffic. */
export function emptyTapLinkStats(): TapLinkStats {
  const zero = (): DirectionStats => ({ frames: 0, bytes: 0, drops: 0, protocolErrors: 0 });
  return { toStream: zero(), toTap: zero() };
}

/** The sum of `a` and `b`, direction by direction. */
export function addTapLinkStats(a: TapLinkStats, b: TapLinkStats): TapLinkStats {
  const add = (x: DirectionStats, y: DirectionStats): DirectionStats => ({
    frames: x.frames + y.frames,
    bytes: x.bytes + y.bytes,
    drops: x.drops + y.drops,
    protocolErrors: x.protocolErrors + y.protocolErrors,
  });
  return { toStream: add(a.toStream, b.toStream), toTap: add(a.toTap, b.toTap) };
}

/** A relay's counters as a link's: end a is the TAP, end b the stream. */
function linkStats(stats: RelayStats): TapLinkStats {
  return { toStream: stats.aToB, toTap: stats.bToA };
}

/**
 * One TAP, its listener and (while a host is connected) one relay. Emits
 * 'connection' (the number of connections so far) once the relay of a new
 * host connection runs.
 */
export class TapLink extends EventEmitter<{ connection: [connections: number] }> {
  /** The TAP device's name. */
  readonly name: string;
  /** The TAP's MAC (the kernel's pick when none was asked for). */
  readonly mac: string;
  /** The listener's port. */
  readonly port: number;
  /** Whether the stream uses offload framing (virtio-net header after each length). */
  readonly offload: boolean;
  readonly #tap: LinkTap;
  readonly #listener: LinkListener;
  readonly #primitives: TapLinkPrimitives;
  readonly #finishMac: string | undefined;
  readonly #log: Logger;
  /** The relay of the current host connection. */
  #relay: FrameRelay | undefined;
  /** Every relay that has not reported closed yet (each holds a dup of the TAP fd). */
  readonly #unreleased = new Set<FrameRelay>();
  /** Final counters of the relays that have closed. */
  #retired = emptyTapLinkStats();
  #connections = 0;
  #closing: Promise<void> | undefined;

  private constructor(
    options: TapLinkOptions,
    tap: LinkTap,
    listener: LinkListener,
    primitives: TapLinkPrimitives,
  ) {
    super();
    this.name = tap.name;
    this.mac = tap.mac;
    this.port = options.port;
    this.offload = tap.offload === true;
    this.#tap = tap;
    this.#listener = listener;
    this.#primitives = primitives;
    this.#finishMac = options.finishMac;
    this.#log = options.logger ?? silentLogger;
    listener.on('connection', (socket: LinkSocket) => this.#accept(socket));
    listener.on('error', (err: Error) => this.#log.error({ err }, 'data listener error'));
  }

  /**
   * Creates the TAP (up), then binds the listener; resolves once both exist.
   * Throws a {@link TapLinkError} naming the failed step, with nothing left behind.
   */
  static async open(options: TapLinkOptions): Promise<TapLink> {
    const primitives = options.primitives ?? nativeTapLinkPrimitives;
    let tap: LinkTap;
    try {
      tap = primitives.createTap(options.name, {
        mac: options.mac,
        mtu: options.mtu,
        up: true,
        offload: options.offload ?? false,
      });
    } catch (err) {
      throw new TapLinkError('create-tap', `cannot create TAP ${options.name}: ${text(err)}`, {
        cause: err,
      });
    }
    let listener: LinkListener;
    try {
      listener = await primitives.listen(options.listen, options.port);
    } catch (err) {
      tap.close();
      throw new TapLinkError('listen', `cannot listen on data port ${options.port}: ${text(err)}`, {
        cause: err,
      });
    }
    return new TapLink(options, tap, listener, primitives);
  }

  /** Host connections accepted so far. */
  get connections(): number {
    return this.#connections;
  }

  /** Whether a host is connected and its relay runs. */
  get connected(): boolean {
    return this.#relay !== undefined && !this.#relay.closed;
  }

  /** Counters summed over every relay of this link, the running ones included. */
  stats(): TapLinkStats {
    let total = this.#retired;
    for (const relay of this.#unreleased) total = addTapLinkStats(total, linkStats(relay.stats()));
    return total;
  }

  /** A host connection: replaces the running relay, if any. Refused once closing. */
  #accept(socket: LinkSocket): void {
    if (this.#closing) {
      socket.close();
      return;
    }
    if (this.#relay) {
      this.#log.info('new host connection replaces the previous relay');
      this.#relay.close();
    }
    let relay: FrameRelay;
    try {
      relay = this.#primitives.openRelay(
        this.#tap,
        socket,
        this.#finishMac ? { finishMac: this.#finishMac } : undefined,
      );
    } catch (err) {
      socket.close();
      this.#log.error({ err }, 'cannot start relay');
      return;
    }
    this.#connections++;
    this.#relay = relay;
    this.#unreleased.add(relay);
    relay.once('close', (info: RelayCloseInfo) => {
      this.#unreleased.delete(relay);
      this.#retired = addTapLinkStats(this.#retired, linkStats(relay.stats()));
      if (this.#relay === relay) this.#relay = undefined;
      this.#log.info(
        { reason: info.reason, side: info.side, message: info.message },
        'relay closed',
      );
    });
    this.#log.info({ connections: this.#connections }, 'host connected, relay running');
    this.emit('connection', this.#connections);
  }

  /**
   * Stops listening, closes the relay and the TAP. Resolves once every relay
   * has released its dup of the TAP fd (bounded), so the kernel has deleted
   * the device and its name can be used again at once. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#listener.close();
    this.#relay?.close();
    const released = Promise.all([...this.#unreleased].map((relay) => relay.whenClosed()));
    this.#tap.close();
    await withinMs(released, RELAY_RELEASE_WAIT_MS);
  }
}

/** Resolves when `promise` does or after `ms`, whichever comes first. */
async function withinMs(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
