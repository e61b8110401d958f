import { EventEmitter } from 'node:events';
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { FrameDecoder, type Framing, protocolErrorMessage } from './codec.js';
import { toVsockError, VsockError } from './errors.js';
import {
  CloseLatch,
  checkFraming,
  checkMaxFrame,
  type DirectionStats,
  emptyStats,
  type FrameRelay,
  type RelayCloseInfo,
  type RelayEnd,
  type RelayOptions,
  type RelayStats,
} from './relay.js';

/** Checks that every end is a stream socket, without taking ownership. */
export function checkStreamEnds(relay: string, ends: RelayEnd[]): void {
  ends.forEach((end, i) => {
    const side = i === 0 ? 'a' : 'b';
    if (end.kind !== 'stream') {
      throw new VsockError(
        'ENOTSUP',
        `${relay}: end ${side} is '${end.kind}'; only 'stream' ends are supported`,
      );
    }
    let isSocket: boolean;
    try {
      isSocket = fstatSync(end.fd).isSocket();
    } catch (err) {
      throw toVsockError(err, `${relay} end ${side}`);
    }
    if (!isSocket)
      throw new VsockError('ENOTSUP', `${relay} end ${side}: fd ${end.fd} is not a socket`);
  });
}

/**
 * The pure-TypeScript reference relay: event-driven on net.Socket, same framing rules and
 * interface as the native Relay (stream↔stream only). For benchmarks and cross-checks.
 */
export class TsRelay extends EventEmitter implements FrameRelay {
  readonly #sockets: [Socket, Socket];
  readonly #stats: RelayStats = emptyStats();
  readonly #latch = new CloseLatch(this);
  #closing = false;

  private constructor(a: Socket, b: Socket, maxFrame: number, framing: Framing) {
    super();
    this.#sockets = [a, b];
    this.#wire(a, b, this.#stats.aToB, new FrameDecoder(maxFrame, framing), 'a');
    this.#wire(b, a, this.#stats.bToA, new FrameDecoder(maxFrame, framing), 'b');
  }

  /** Takes ownership of both fds on success; on a throw the caller still owns them. */
  static open(a: RelayEnd, b: RelayEnd, options?: RelayOptions): TsRelay {
    const maxFrame = checkMaxFrame(options);
    const framing = checkFraming(options);
    checkStreamEnds('TsRelay', [a, b]);
    const sa = new Socket({ fd: a.fd, readable: true, writable: true });
    const sb = new Socket({ fd: b.fd, readable: true, writable: true });
    return new TsRelay(sa, sb, maxFrame, framing);
  }

  get closed(): boolean {
    return this.#closing;
  }

  stats(): RelayStats {
    return { aToB: { ...this.#stats.aToB }, bToA: { ...this.#stats.bToA } };
  }

  close(): void {
    this.#finish({ reason: 'closed' });
  }

  whenClosed(): Promise<RelayCloseInfo> {
    return this.#latch.wait();
  }

  #wire(src: Socket, dst: Socket, stats: DirectionStats, decoder: FrameDecoder, side: 'a' | 'b') {
    let paused = false;
    src.on('data', (chunk: Buffer) => {
      if (this.#closing) return;
      const out = decoder.push(chunk);
      if (out.frames > 0) {
        stats.frames += out.frames;
        stats.bytes += out.payload;
        if (!dst.write(out.complete) && !paused) {
          // Backpressure: stop reading the source until the destination drains.
          paused = true;
          src.pause();
          dst.once('drain', () => {
            paused = false;
            src.resume();
          });
        }
      }
      if (out.error !== undefined) {
        stats.protocolErrors++;
        this.#finish({
          reason: 'protocol',
          side,
          message: protocolErrorMessage(
            side,
            { badLength: out.error, badHeader: out.badHeader ?? '' },
            decoder.maxFrame,
            decoder.framing,
          ),
        });
      }
    });
    src.on('end', () => {
      // Let what was already written reach the destination, then close everything.
      const partial = decoder.pendingBytes > 0 ? ' inside a frame (partial frame discarded)' : '';
      const info: RelayCloseInfo = {
        reason: 'eof',
        side,
        message: `${side}: end of stream${partial}`,
      };
      if (dst.writable) dst.end(() => this.#finish(info));
      else this.#finish(info);
    });
    src.on('error', (err: NodeJS.ErrnoException) => {
      const gone = err.code === 'EPIPE' || err.code === 'ECONNRESET';
      this.#finish({ reason: gone ? 'eof' : 'error', side, message: `${side}: ${err.message}` });
    });
  }

  #finish(info: RelayCloseInfo): void {
    if (this.#closing) return;
    this.#closing = true;
    let open = 2;
    for (const socket of this.#sockets) {
      socket.once('close', () => {
        if (--open === 0) this.#latch.settle(info);
      });
      socket.destroy();
    }
  }
}
