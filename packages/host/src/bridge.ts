/**
 * NetworkBridge: the host's data path. Per attachment it dials the container
 * VM's data port P and the helper VM's port P + 10000 and hands both fds to
 * one native stream↔stream relay. A relay that breaks (VM restart, peer
 * close) is re-dialled with backoff for as long as the attachment exists:
 * the first re-dial after a relay that carried traffic for a while is
 * immediate, each further close of a short-lived relay doubles the wait
 * (with jitter, up to {@link BridgeReconnect.maxDelayMs}), and a link whose
 * relays keep closing for protocol errors is quarantined (one log line, a
 * counter, re-dialling paused), so a hostile guest cannot make the host
 * redial without limit.
 */
import type { Logger } from '@arca-net/log';
import { silentLogger } from '@arca-net/log';
import { helperDataPort } from '@arca-net/proto';
import {
  type DirectionStats,
  dialStream,
  type FrameRelay,
  type Framing,
  PollingRelay,
  Relay,
  type RelayCloseInfo,
  TsRelay,
  type VmEndpoint,
} from '@arca-net/vsock';
import { errors } from './errors.js';
import {
  type BridgeReconnect,
  DEFAULT_RECONNECT,
  type RedialState,
  redialDelay,
} from './redial.js';

/** A connected stream whose fd can be handed over (the shape of `@arca-net/vsock`'s StreamSocket). */
export interface DialedStream {
  /** The fd, still owned by the stream. */
  readonly fd: number;
  /** Gives up ownership of the fd (after a relay took it). */
  detachFd(): number;
  close(): void;
}

/** How the bridge reaches VMs and relays frames; the default is `@arca-net/vsock`'s native engine. */
export interface DataPlane {
  dial(
    endpoint: VmEndpoint,
    port: number,
    options: { timeoutMs: number; signal: AbortSignal },
  ): Promise<DialedStream>;
  /** Takes ownership of both stream fds when it returns; when it throws, the caller still owns them. */
  relay(containerFd: number, helperFd: number, options?: { framing?: Framing }): FrameRelay;
}

/** The native data plane: `dialStream` + `Relay` (stream↔stream) from `@arca-net/vsock`. */
export const nativeDataPlane: DataPlane = {
  dial: (endpoint, port, options) => dialStream(endpoint, port, options),
  relay: (containerFd, helperFd, options) =>
    Relay.open({ kind: 'stream', fd: containerFd }, { kind: 'stream', fd: helperFd }, options),
};

/**
 * Which relay engine carries the host's frames: `native` (the epoll engine,
 * the default and the only one for production), or one of the two reference
 * relays kept for comparison: `ts` (event-driven, on `net.Socket`) and
 * `polling` (the replaced design: non-blocking reads, 1 ms sleep when idle).
 */
export type RelayEngine = 'native' | 'ts' | 'polling';
export const RELAY_ENGINES: readonly RelayEngine[] = ['native', 'ts', 'polling'];

/** The data plane that relays with `engine`; every engine dials the same way. */
export function dataPlaneFor(engine: RelayEngine): DataPlane {
  if (engine === 'native') return nativeDataPlane;
  const Engine = engine === 'ts' ? TsRelay : PollingRelay;
  return {
    dial: nativeDataPlane.dial,
    relay: (containerFd, helperFd, options) =>
      Engine.open({ kind: 'stream', fd: containerFd }, { kind: 'stream', fd: helperFd }, options),
  };
}

/** One attachment's data path. */
export interface BridgeLink {
  /** Unique key, e.g. `${containerId}/${networkId}`. */
  key: string;
  /** Container-side port P; the helper side is P + 10000. */
  port: number;
  container: VmEndpoint;
  helper: VmEndpoint;
  /** Framing of both streams (default plain). */
  framing?: Framing;
}

/** Counters of one attachment, summed over every relay it has had. */
export interface LinkCounters {
  key: string;
  port: number;
  connected: boolean;
  /** Relays opened so far (1 + reconnects). */
  connects: number;
  /** Frames from the container towards the helper. */
  toHelper: DirectionStats;
  /** Frames from the helper towards the container. */
  toContainer: DirectionStats;
  lastClose?: RelayCloseInfo;
  /** Relays closed for a protocol error (bad frame length) so far. */
  protocolCloses: number;
  /** Times the link was quarantined for repeated protocol errors. */
  quarantines: number;
  /** Re-dialling is paused (quarantine) until this time (ISO), when it is. */
  quarantinedUntil?: string;
}

/** Retry policy of dialing. */
export interface BridgeRetry {
  /** Attempts of the first connection before `add` fails (default 20: about 4 s). */
  attempts: number;
  /** First delay between attempts, ms (default 25). */
  initialDelayMs: number;
  /**
   * Largest delay between attempts, ms (default 250). It also bounds how long a
   * broken relay waits after its VM is back: a restarted helper's attachments
   * carry frames again within this delay of its listeners.
   */
  maxDelayMs: number;
}

export interface NetworkBridgeOptions {
  dataPlane?: DataPlane;
  logger?: Logger;
  /** Timeout of one dial, ms (default 2000). */
  dialTimeoutMs?: number;
  retry?: Partial<BridgeRetry>;
  reconnect?: Partial<BridgeReconnect>;
}

interface LinkState extends RedialState {
  link: BridgeLink;
  abort: AbortController;
  relay?: FrameRelay;
  connects: number;
  past: { toHelper: DirectionStats; toContainer: DirectionStats };
  lastClose?: RelayCloseInfo;
}

const zero = (): DirectionStats => ({ frames: 0, bytes: 0, drops: 0, protocolErrors: 0 });
const add = (a: DirectionStats, b: DirectionStats): DirectionStats => ({
  frames: a.frames + b.frames,
  bytes: a.bytes + b.bytes,
  drops: a.drops + b.drops,
  protocolErrors: a.protocolErrors + b.protocolErrors,
});

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Relays of every attachment; one instance per daemon. */
export class NetworkBridge {
  readonly #links = new Map<string, LinkState>();
  readonly #dataPlane: DataPlane;
  readonly #log: Logger;
  readonly #dialTimeoutMs: number;
  readonly #retry: BridgeRetry;
  readonly #reconnect: BridgeReconnect;
  #closed = false;

  constructor(options: NetworkBridgeOptions = {}) {
    this.#dataPlane = options.dataPlane ?? nativeDataPlane;
    this.#log = (options.logger ?? silentLogger).child({ component: 'bridge' });
    this.#dialTimeoutMs = options.dialTimeoutMs ?? 2000;
    this.#retry = { attempts: 20, initialDelayMs: 25, maxDelayMs: 250, ...options.retry };
    this.#reconnect = { ...DEFAULT_RECONNECT, ...options.reconnect };
  }

  /**
   * Starts relaying one attachment. Resolves once the first relay runs;
   * rejects (RELAY_FAILED, the link forgotten) when either VM cannot be
   * dialled within the retry policy. Replaces an existing link with the same key.
   */
  async add(link: BridgeLink): Promise<void> {
    if (this.#closed) throw errors.closed();
    this.remove(link.key);
    const state: LinkState = {
      link,
      abort: new AbortController(),
      connects: 0,
      past: { toHelper: zero(), toContainer: zero() },
      openedAt: 0,
      closeStreak: 0,
      protocolStreak: 0,
      protocolCloses: 0,
      quarantines: 0,
    };
    this.#links.set(link.key, state);
    try {
      await this.#connect(state, this.#retry.attempts);
    } catch (err) {
      if (this.#links.get(link.key) === state) this.#links.delete(link.key);
      state.abort.abort();
      throw err;
    }
  }

  /** Stops relaying an attachment and closes its relay. Returns false when unknown. */
  remove(key: string): boolean {
    const state = this.#links.get(key);
    if (!state) return false;
    this.#links.delete(key);
    state.abort.abort();
    state.relay?.close();
    return true;
  }

  has(key: string): boolean {
    return this.#links.has(key);
  }

  /** The framing a link relays with, or undefined when unknown. */
  framingOf(key: string): Framing | undefined {
    const state = this.#links.get(key);
    return state ? (state.link.framing ?? 'plain') : undefined;
  }

  /** Counters of one attachment, or undefined when unknown. */
  counters(key: string): LinkCounters | undefined {
    const state = this.#links.get(key);
    if (!state) return undefined;
    let { toHelper, toContainer } = state.past;
    const relay = state.relay;
    if (relay && !relay.closed) {
      const now = relay.stats();
      toHelper = add(toHelper, now.aToB);
      toContainer = add(toContainer, now.bToA);
    }
    return {
      key,
      port: state.link.port,
      connected: relay !== undefined && !relay.closed,
      connects: state.connects,
      toHelper,
      toContainer,
      ...(state.lastClose ? { lastClose: state.lastClose } : {}),
      protocolCloses: state.protocolCloses,
      quarantines: state.quarantines,
      ...(state.quarantinedUntil && state.quarantinedUntil > Date.now()
        ? { quarantinedUntil: new Date(state.quarantinedUntil).toISOString() }
        : {}),
    };
  }

  /** Keys of every link. */
  keys(): string[] {
    return [...this.#links.keys()];
  }

  /** Closes every relay and stops re-dialling. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const key of [...this.#links.keys()]) this.remove(key);
  }

  /** Dials both sides (retrying `attempts` times, 0 = while the link exists) and opens the relay. */
  async #connect(state: LinkState, attempts: number): Promise<void> {
    const { link, abort } = state;
    const log = this.#log.child({ key: link.key, port: link.port });
    let delay = this.#retry.initialDelayMs;
    let lastError: unknown;
    for (let attempt = 1; attempts === 0 || attempt <= attempts; attempt++) {
      if (abort.signal.aborted) throw errors.relayFailed(`attachment ${link.key} was removed`);
      try {
        const relay = await this.#openRelay(link, abort.signal);
        if (abort.signal.aborted) {
          relay.close();
          throw errors.relayFailed(`attachment ${link.key} was removed`);
        }
        state.relay = relay;
        state.connects += 1;
        state.openedAt = Date.now();
        relay.once('close', (info: RelayCloseInfo) => this.#onClose(state, relay, info));
        log.debug({ attempt, connects: state.connects }, 'relay open');
        return;
      } catch (err) {
        lastError = err;
        log.debug({ attempt, err }, 'dial failed');
      }
      await sleep(delay, abort.signal);
      delay = Math.min(delay * 2, this.#retry.maxDelayMs);
    }
    throw errors.relayFailed(
      `cannot connect the data path of ${link.key} (port ${link.port} / ${helperDataPort(link.port)}): ${
        lastError instanceof Error ? lastError.message : String(lastError)
      }`,
      lastError,
    );
  }

  async #openRelay(link: BridgeLink, signal: AbortSignal): Promise<FrameRelay> {
    const options = { timeoutMs: this.#dialTimeoutMs, signal };
    const [container, helper] = await Promise.allSettled([
      this.#dataPlane.dial(link.container, link.port, options),
      this.#dataPlane.dial(link.helper, helperDataPort(link.port), options),
    ]);
    if (container.status === 'rejected' || helper.status === 'rejected') {
      if (container.status === 'fulfilled') container.value.close();
      if (helper.status === 'fulfilled') helper.value.close();
      throw container.status === 'rejected'
        ? container.reason
        : (helper as PromiseRejectedResult).reason;
    }
    let relay: FrameRelay;
    try {
      relay = this.#dataPlane.relay(container.value.fd, helper.value.fd, {
        framing: link.framing ?? 'plain',
      });
    } catch (err) {
      container.value.close();
      helper.value.close();
      throw err;
    }
    container.value.detachFd();
    helper.value.detachFd();
    return relay;
  }

  #onClose(state: LinkState, relay: FrameRelay, info: RelayCloseInfo): void {
    const stats = relay.stats();
    state.past = {
      toHelper: add(state.past.toHelper, stats.aToB),
      toContainer: add(state.past.toContainer, stats.bToA),
    };
    state.lastClose = info;
    if (state.relay === relay) state.relay = undefined;
    if (this.#links.get(state.link.key) !== state || state.abort.signal.aborted) return;
    const delay = this.#closeDelay(state, info, stats.aToB.frames + stats.bToA.frames > 0);
    this.#log.info(
      {
        key: state.link.key,
        port: state.link.port,
        reason: info.reason,
        side: info.side,
        delayMs: delay,
      },
      'relay closed, re-dialling',
    );
    sleep(delay, state.abort.signal)
      .then(() => this.#connect(state, 0))
      .catch((err: unknown) => {
        if (!state.abort.signal.aborted) {
          this.#log.error({ key: state.link.key, err }, 're-dial stopped');
        }
      });
  }

  /** {@link redialDelay}, with one log line when the link is quarantined. */
  #closeDelay(state: LinkState, info: RelayCloseInfo, carried: boolean): number {
    const { delayMs, quarantined } = redialDelay(this.#reconnect, state, info, carried);
    if (quarantined) {
      this.#log.error(
        {
          key: state.link.key,
          port: state.link.port,
          protocolErrors: state.protocolStreak,
          pauseMs: delayMs,
          quarantines: state.quarantines,
        },
        'relay quarantined: its peer keeps sending malformed frames; re-dialling paused',
      );
    }
    return delayMs;
  }
}
