import { EventEmitter } from 'node:events';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPort, type ListenEndpoint, unixdirPath, type VmEndpoint } from './endpoint.js';
import { invalid, toVsockError, VsockError } from './errors.js';
import {
  addon,
  type ListenerHandle,
  type NativeEvent,
  registerEvents,
  unregisterEvents,
} from './native.js';
import { Relay } from './relay.js';

export interface PeerAddress {
  cid?: number;
  port?: number;
  path?: string;
}

/** A connected stream socket (AF_VSOCK or AF_UNIX) owning its fd until detached or closed. */
export class StreamSocket {
  readonly peer: PeerAddress;
  #fd: number;

  /** Wraps an owned, connected stream socket fd. */
  constructor(fd: number, peer: PeerAddress = {}) {
    this.#fd = fd;
    this.peer = peer;
  }

  /** The fd, still owned by this object. */
  get fd(): number {
    if (this.#fd < 0) throw new VsockError('EBADF', 'stream socket is closed or detached');
    return this.#fd;
  }

  /** Transfers ownership of the fd to the caller. Throws if already detached/closed. */
  detachFd(): number {
    const fd = this.fd;
    this.#fd = -1;
    return fd;
  }

  /**
   * A node `net.Socket` for control traffic; ownership moves to it. Unix sockets are wrapped
   * directly; AF_VSOCK (which libuv cannot wrap) is piped through a socketpair by a native raw
   * relay that closes when either side does.
   */
  toNetSocket(): Socket {
    const fd = this.detachFd();
    try {
      return new Socket({ fd, readable: true, writable: true });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ERR_INVALID_FD_TYPE') {
        this.#fd = fd;
        throw toVsockError(err, 'toNetSocket');
      }
    }
    const [inner, outer] = addon.socketPair();
    try {
      Relay.open({ kind: 'raw', fd }, { kind: 'raw', fd: inner });
    } catch (err) {
      closeSync(inner);
      closeSync(outer);
      this.#fd = fd;
      throw toVsockError(err, 'toNetSocket');
    }
    return new Socket({ fd: outer, readable: true, writable: true });
  }

  /** Closes the fd if still owned. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closeSync(fd);
  }
}

export interface ListenOptions {
  backlog?: number;
  /** vsock only: accept only these peer CIDs; others are closed and counted in `rejected`. */
  allowCids?: number[];
}

/**
 * A listening socket whose connections are accepted on the native loops.
 * Events: 'connection' (socket: StreamSocket), 'error' (err: VsockError; only emitted when
 * someone listens for it), 'close' (after the listening fd is closed).
 */
export class StreamListener extends EventEmitter {
  readonly port: number;
  /** unixdir only: the socket path. */
  readonly path?: string;
  #handle: ListenerHandle | undefined;
  #id = 0;
  #closed = false;

  /** @internal use listenStream() */
  constructor(port: number, path: string | undefined) {
    super();
    this.port = port;
    if (path !== undefined) this.path = path;
  }

  /** @internal */
  attach(id: number, handle: ListenerHandle): void {
    this.#id = id;
    this.#handle = handle;
  }

  /** Connections refused by the allow-list. */
  get rejected(): number {
    return this.#handle ? addon.listenerRejected(this.#handle) : 0;
  }

  /** @internal */
  onNativeEvent(event: NativeEvent): void {
    switch (event.type) {
      case 'accept': {
        const socket = new StreamSocket(
          event.fd,
          this.path !== undefined
            ? { path: this.path, port: this.port }
            : { cid: event.cid, port: event.port },
        );
        if (this.#closed || this.listenerCount('connection') === 0) socket.close();
        else this.emit('connection', socket);
        break;
      }
      case 'listener-error':
        if (this.listenerCount('error') > 0) {
          this.emit(
            'error',
            toVsockError(
              Object.assign(new Error(event.message), event),
              `listener port ${this.port}`,
            ),
          );
        }
        break;
      case 'listener-close':
        unregisterEvents(this.#id);
        this.emit('close');
        break;
      default:
        break;
    }
  }

  /** Stops accepting, closes the listening fd, unlinks the unixdir socket file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#handle) addon.listenerClose(this.#handle);
    if (this.path !== undefined) {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone
      }
    }
  }
}

function removeStaleSocket(path: string): void {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) {
    throw new VsockError('EEXIST', `${path} exists and is not a socket`);
  }
  unlinkSync(path);
}

function listenUnixPath(path: string, port: number, backlog: number): StreamListener {
  removeStaleSocket(path);
  const listener = new StreamListener(port, path);
  const id = registerEvents((event) => listener.onNativeEvent(event));
  try {
    listener.attach(id, addon.listenUnix(id, path, backlog));
  } catch (err) {
    unregisterEvents(id);
    throw toVsockError(err);
  }
  return listener;
}

/**
 * Binds and listens; resolves once the socket is bound and listening (so a peer's connect
 * cannot race it). For unixdir it creates `dir` if missing and replaces a stale socket file.
 */
export async function listenStream(
  where: ListenEndpoint,
  port: number,
  options?: ListenOptions,
): Promise<StreamListener> {
  checkPort(port);
  const backlog = options?.backlog ?? 128;
  if (!Number.isInteger(backlog) || backlog < 1) throw invalid(`bad backlog ${backlog}`);
  if (where.kind === 'unixdir') {
    if (options?.allowCids) throw invalid('allowCids applies to vsock listeners only');
    mkdirSync(where.dir, { recursive: true });
    return listenUnixPath(unixdirPath(where.dir, port), port, backlog);
  }
  const allow = options?.allowCids ?? [];
  for (const cid of allow) {
    if (!Number.isInteger(cid) || cid < 0 || cid > 0xffff_ffff) throw invalid(`bad CID ${cid}`);
  }
  let listener: StreamListener | undefined;
  const id = registerEvents((event) => listener?.onNativeEvent(event));
  try {
    const result = addon.listenVsock(id, where.cid, port, backlog, allow);
    listener = new StreamListener(result.port, undefined);
    listener.attach(id, result.handle);
  } catch (err) {
    unregisterEvents(id);
    throw toVsockError(err);
  }
  return listener;
}

export interface DialOptions {
  /** Overall deadline (default 10 s), including hvsock retries. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function abortError(signal: AbortSignal): VsockError {
  return new VsockError('ABORT_ERR', 'dial aborted', { cause: signal.reason });
}

/** Resolves with the fd unless the signal aborts first (then a late fd is closed). */
function raceAbort(fdPromise: Promise<number>, signal?: AbortSignal): Promise<number> {
  if (!signal) return fdPromise;
  if (signal.aborted) {
    fdPromise.then(closeSync, () => undefined);
    return Promise.reject(abortError(signal));
  }
  return new Promise((resolve, reject) => {
    let done = false;
    const onAbort = (): void => {
      if (done) return;
      done = true;
      // A connect still under way resolves later: the handler below closes that fd, once.
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    fdPromise.then(
      (fd) => {
        signal.removeEventListener('abort', onAbort);
        if (done) closeSync(fd);
        else {
          done = true;
          resolve(fd);
        }
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        if (!done) {
          done = true;
          reject(err);
        }
      },
    );
  });
}

async function dialHvsock(path: string, port: number, timeoutMs: number, signal?: AbortSignal) {
  const deadline = Date.now() + timeoutMs;
  let wait = 20;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      return await raceAbort(
        addon.connectHvsock(path, port, Math.max(1, deadline - Date.now())),
        signal,
      );
    } catch (err) {
      const e = toVsockError(err);
      // A guest with no listener on the port shows as a connection closed before OK: retry.
      if (e.code !== 'ECONNRESET') throw e;
      if (Date.now() + wait >= deadline) {
        throw new VsockError(
          'ECONNREFUSED',
          `hvsock ${path} port ${port}: connection closed before the OK reply in ${attempts} attempts over ${timeoutMs} ms (no listener on that port in the guest?)`,
          { cause: e },
        );
      }
      await delay(wait);
      if (signal?.aborted) throw abortError(signal);
      wait = Math.min(wait * 2, 250);
    }
  }
}

/**
 * Connects to port `port` of a VM. Rejects with VsockError (code e.g. 'ECONNREFUSED',
 * 'ETIMEDOUT', 'ENOENT', 'EPROTO' for a bad hvsock reply, 'ABORT_ERR').
 */
export async function dialStream(
  endpoint: VmEndpoint,
  port: number,
  options?: DialOptions,
): Promise<StreamSocket> {
  checkPort(port);
  const timeoutMs = options?.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw invalid(`bad timeoutMs ${timeoutMs}`);
  const signal = options?.signal;
  if (signal?.aborted) throw abortError(signal);
  try {
    switch (endpoint.kind) {
      case 'vsock': {
        const fd = await raceAbort(addon.connectVsock(endpoint.cid, port, timeoutMs), signal);
        return new StreamSocket(fd, { cid: endpoint.cid, port });
      }
      case 'unixdir': {
        const path = unixdirPath(endpoint.dir, port);
        const fd = await raceAbort(addon.connectUnix(path, timeoutMs), signal);
        return new StreamSocket(fd, { path, port });
      }
      case 'hvsock': {
        const fd = await dialHvsock(endpoint.path, port, timeoutMs, signal);
        return new StreamSocket(fd, { path: endpoint.path, port });
      }
      case 'fd': {
        const fd = await raceAbort(endpoint.dial(port, signal), signal);
        return new StreamSocket(fd, { port });
      }
      default:
        throw invalid(`unknown endpoint kind '${(endpoint as { kind: string }).kind}'`);
    }
  } catch (err) {
    throw toVsockError(err);
  }
}

/** Connects to a Unix stream socket path (for proxies and tests). */
export async function dialUnix(path: string, options?: DialOptions): Promise<StreamSocket> {
  const fd = await raceAbort(
    addon.connectUnix(path, options?.timeoutMs ?? 10_000),
    options?.signal,
  ).catch((err: unknown) => {
    throw toVsockError(err);
  });
  return new StreamSocket(fd, { path });
}

/** Pipes a StreamSocket to a second one produced by `dial`, both ways, with a raw relay. */
function pipeTo(local: StreamSocket, dial: () => Promise<StreamSocket>, relays: Set<Relay>): void {
  dial().then(
    (remote) => {
      let relay: Relay;
      try {
        relay = Relay.open({ kind: 'raw', fd: local.fd }, { kind: 'raw', fd: remote.fd });
      } catch {
        local.close();
        remote.close();
        return;
      }
      local.detachFd();
      remote.detachFd();
      relays.add(relay);
      relay.once('close', () => relays.delete(relay));
    },
    () => local.close(),
  );
}

let proxySeq = 0;

/**
 * For gRPC clients that need a Unix path: a local Unix-socket proxy whose every connection is
 * dialled to `endpoint`:`port` and piped both ways. With no `dir`, a private temp dir is used
 * and removed on close.
 */
export async function createDialProxy(
  endpoint: VmEndpoint,
  port: number,
  options?: { dir?: string },
): Promise<{ path: string; close(): Promise<void> }> {
  checkPort(port);
  const ownDir = options?.dir === undefined;
  const dir = options?.dir ?? mkdtempSync(join(tmpdir(), 'arca-net-proxy-'));
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `dial-${port}-${process.pid}-${++proxySeq}.sock`);
  const listener = listenUnixPath(path, port, 128);
  const relays = new Set<Relay>();
  listener.on('connection', (local: StreamSocket) =>
    pipeTo(local, () => dialStream(endpoint, port), relays),
  );
  return {
    path,
    async close() {
      listener.close();
      const closing = [...relays].map((relay) => relay.whenClosed());
      for (const relay of relays) relay.close();
      await Promise.all(closing);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * For gRPC servers on AF_VSOCK: every connection accepted by `listener` is piped to the Unix
 * socket `targetPath` (where grpc-js listens). close() stops proxying, closes the listener and
 * every open pipe.
 */
export function proxyListenerTo(listener: StreamListener, targetPath: string): { close(): void } {
  const relays = new Set<Relay>();
  const onConnection = (local: StreamSocket): void =>
    pipeTo(local, () => dialUnix(targetPath), relays);
  listener.on('connection', onConnection);
  return {
    close() {
      listener.off('connection', onConnection);
      listener.close();
      for (const relay of relays) relay.close();
    },
  };
}
