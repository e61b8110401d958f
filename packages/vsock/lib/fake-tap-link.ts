/**
 * A fake of {@link TapLinkPrimitives} for unit tests of what owns TAP links
 * (the link itself, the forwarder, the helper): no device, socket or thread.
 * It models what the owners rely on: a TAP name stays taken while its fd or a
 * relay's dup of it is open, and a relay releases that dup only when it
 * reports 'close' (one turn of the event loop after close()).
 * Import it as `@arca-net/vsock/fake-tap-link`.
 */
import { EventEmitter } from 'node:events';
import type { ListenEndpoint } from './endpoint.js';
import type { FrameRelay, RelayCloseInfo, RelayStats } from './relay.js';
import type { TapOptions } from './tap.js';
import type { LinkListener, LinkSocket, LinkTap, TapLinkPrimitives } from './tap-link.js';

/** A TAP the fake created. */
export interface FakeTap extends LinkTap {
  readonly options: TapOptions;
  /** Its own fd is closed (relays may still hold dups). */
  readonly closed: boolean;
}

/** A listener the fake bound. */
export class FakeListener extends EventEmitter implements LinkListener {
  closed = false;
  constructor(readonly where: ListenEndpoint) {
    super();
  }
  close(): void {
    this.closed = true;
  }
}

/** A relay the fake opened; set `counters` to what the relay should report. */
export class FakeRelay extends EventEmitter implements FrameRelay {
  counters: RelayStats = {
    aToB: { frames: 0, bytes: 0, drops: 0, protocolErrors: 0 },
    bToA: { frames: 0, bytes: 0, drops: 0, protocolErrors: 0 },
  };
  #closing = false;
  #info: RelayCloseInfo | undefined;

  constructor(private readonly release: () => void) {
    super();
  }

  get closed(): boolean {
    return this.#closing;
  }

  stats(): RelayStats {
    return structuredClone(this.counters);
  }

  /** Closes like the native relay: the dup is released and 'close' emitted on a later turn. */
  close(): void {
    this.end({ reason: 'closed' });
  }

  /** The relay ends by itself, e.g. `{ reason: 'eof', side: 'b' }` when the host goes away. */
  end(info: RelayCloseInfo): void {
    if (this.#closing) return;
    this.#closing = true;
    setImmediate(() => {
      this.release();
      this.#info = info;
      this.emit('close', info);
    });
  }

  whenClosed(): Promise<RelayCloseInfo> {
    const info = this.#info;
    if (info) return Promise.resolve(info);
    return new Promise((resolve) => this.once('close', resolve));
  }
}

/** An accepted connection handed to a listener by {@link FakeTapLinkPrimitives.connect}. */
export interface FakeSocket extends LinkSocket {
  readonly closed: boolean;
}

/** The fake primitives, with what they created for tests to look at. */
export class FakeTapLinkPrimitives implements TapLinkPrimitives {
  /** Every TAP created, by name (the latest of a name). */
  readonly taps = new Map<string, FakeTap>();
  /** Every listener bound, by port (the latest of a port). */
  readonly listeners = new Map<number, FakeListener>();
  /** Every relay opened, in order. */
  readonly relays: FakeRelay[] = [];
  /** Every socket handed to a listener, in order. */
  readonly sockets: FakeSocket[] = [];
  /** Makes the next listen() calls fail as a port taken by another process does. */
  failListen = false;
  /** Open fds per TAP name (its own plus relays' dups): the kernel's view of "taken". */
  readonly #holds = new Map<string, number>();

  createTap(name: string, options: TapOptions): FakeTap {
    if ((this.#holds.get(name) ?? 0) > 0) throw new Error(`TUNSETIFF ${name}: EBUSY`);
    this.#hold(name, 1);
    const primitives = this;
    let closed = false;
    const tap: FakeTap = {
      name,
      mac: options.mac ?? '02:00:00:00:00:01',
      offload: options.offload === true,
      options,
      get closed() {
        return closed;
      },
      dupFd: () => {
        if (closed) throw new Error(`TAP ${name} is closed`);
        primitives.#hold(name, 1);
        return 100;
      },
      close() {
        if (closed) return;
        closed = true;
        primitives.#hold(name, -1);
      },
    };
    this.taps.set(name, tap);
    return tap;
  }

  async listen(where: ListenEndpoint, port: number): Promise<FakeListener> {
    if (this.failListen) throw new Error(`bind port ${port}: EADDRINUSE`);
    const listener = new FakeListener(where);
    this.listeners.set(port, listener);
    return listener;
  }

  openRelay(tap: LinkTap): FakeRelay {
    tap.dupFd();
    const relay = new FakeRelay(() => this.#hold(tap.name, -1));
    this.relays.push(relay);
    return relay;
  }

  /**
   * A host connects to `port`: the listener emits a connection even when it is
   * closed (an accept already on its way when close() ran). Returns the socket.
   */
  connect(port: number): FakeSocket {
    const listener = this.listeners.get(port);
    if (!listener) throw new Error(`nothing listens on port ${port}`);
    let closed = false;
    const socket: FakeSocket = {
      fd: 200,
      get closed() {
        return closed;
      },
      detachFd: () => 200,
      close() {
        closed = true;
      },
    };
    this.sockets.push(socket);
    listener.emit('connection', socket);
    return socket;
  }

  /** Whether the kernel would let a TAP named `name` be created now. */
  nameFree(name: string): boolean {
    return (this.#holds.get(name) ?? 0) === 0;
  }

  #hold(name: string, delta: number): void {
    this.#holds.set(name, (this.#holds.get(name) ?? 0) + delta);
  }
}
