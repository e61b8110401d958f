import { EventEmitter } from 'node:events';
import { closeSync, fstatSync, readSync, writeSync } from 'node:fs';
import { FRAME_HEADER, type Framing, protocolErrorMessage, scanFrames } from './codec.js';
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

interface Direction {
  src: RelayEnd;
  dst: RelayEnd;
  side: 'a' | 'b';
  stats: DirectionStats;
  /** Bytes read from a stream source not yet forming a complete frame. */
  inBuf: Buffer;
  inLen: number;
  /** Complete frames (wire format) waiting to be written, from `outPos`. */
  out: Buffer | undefined;
  outPos: number;
}

function errCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The old design, kept to be measured against: non-blocking reads on the fds, and a 1 ms sleep
 * whenever a round moved nothing. Same interface and framing rules as the native Relay; fds
 * must already be non-blocking (sockets from this package and TAP fds are).
 */
export class PollingRelay extends EventEmitter implements FrameRelay {
  readonly #dirs: [Direction, Direction];
  readonly #stats: RelayStats = emptyStats();
  readonly #latch = new CloseLatch(this);
  readonly #maxFrame: number;
  readonly #framing: Framing;
  #closing = false;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;

  private constructor(a: RelayEnd, b: RelayEnd, maxFrame: number, framing: Framing) {
    super();
    this.#maxFrame = maxFrame;
    this.#framing = framing;
    const cap = Math.max(256 * 1024, 2 * (maxFrame + FRAME_HEADER + 1));
    const dir = (src: RelayEnd, dst: RelayEnd, side: 'a' | 'b', stats: DirectionStats) => ({
      src,
      dst,
      side,
      stats,
      inBuf: Buffer.allocUnsafe(cap),
      inLen: 0,
      out: undefined,
      outPos: 0,
    });
    this.#dirs = [dir(a, b, 'a', this.#stats.aToB), dir(b, a, 'b', this.#stats.bToA)];
    this.#timer = setImmediate(this.#tick);
  }

  /** Takes ownership of both fds on success; on a throw the caller still owns them. */
  static open(a: RelayEnd, b: RelayEnd, options?: RelayOptions): PollingRelay {
    const maxFrame = checkMaxFrame(options);
    const framing = checkFraming(options);
    [a, b].forEach((end, i) => {
      const side = i === 0 ? 'a' : 'b';
      if (end.kind === 'raw')
        throw new VsockError('ENOTSUP', `PollingRelay end ${side}: raw ends are not supported`);
      let stat: ReturnType<typeof fstatSync>;
      try {
        stat = fstatSync(end.fd);
      } catch (err) {
        throw toVsockError(err, `PollingRelay end ${side}`);
      }
      const ok = end.kind === 'stream' ? stat.isSocket() : stat.isCharacterDevice();
      if (!ok) {
        throw new VsockError(
          'EINVAL',
          `PollingRelay end ${side}: fd ${end.fd} is not a ${end.kind === 'stream' ? 'socket' : 'TAP'}`,
        );
      }
    });
    return new PollingRelay(a, b, maxFrame, framing);
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

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (this.#closing) return;
    let progress = false;
    for (const dir of this.#dirs) {
      progress = this.#step(dir) || progress;
      if (this.#closing) return;
    }
    // The old relay's loop: keep going while data moves, sleep 1 ms when nothing was read.
    this.#timer = progress ? setImmediate(this.#tick) : setTimeout(this.#tick, 1);
  };

  /** One read or write for a direction; returns whether anything moved. */
  #step(dir: Direction): boolean {
    if (dir.out) return this.#write(dir);
    let n: number;
    try {
      if (dir.src.kind === 'tap') {
        n = readSync(dir.src.fd, dir.inBuf, FRAME_HEADER, this.#maxFrame + 1, null);
      } else {
        n = readSync(dir.src.fd, dir.inBuf, dir.inLen, dir.inBuf.length - dir.inLen, null);
      }
    } catch (err) {
      const code = errCode(err);
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return false;
      const gone = code === 'ECONNRESET';
      this.#finish({
        reason: gone ? 'eof' : 'error',
        side: dir.side,
        message: `${dir.side}: read: ${String(err)}`,
      });
      return false;
    }
    if (n === 0) {
      this.#finish({ reason: 'eof', side: dir.side, message: `${dir.side}: end of stream` });
      return false;
    }
    if (dir.src.kind === 'tap') {
      if (n > this.#maxFrame) {
        dir.stats.drops++;
        return true;
      }
      dir.inBuf.writeUInt32BE(n, 0);
      dir.out = Buffer.from(dir.inBuf.subarray(0, FRAME_HEADER + n));
      dir.outPos = 0;
      return this.#write(dir) || true;
    }
    dir.inLen += n;
    const scan = scanFrames(dir.inBuf.subarray(0, dir.inLen), this.#maxFrame, this.#framing);
    if (scan.complete > 0) {
      dir.out = Buffer.from(dir.inBuf.subarray(0, scan.complete));
      dir.outPos = 0;
      dir.inBuf.copy(dir.inBuf, 0, scan.complete, dir.inLen);
      dir.inLen -= scan.complete;
    }
    if (scan.error) {
      dir.stats.protocolErrors++;
      this.#finish({
        reason: 'protocol',
        side: dir.side,
        message: protocolErrorMessage(dir.side, scan, this.#maxFrame, this.#framing),
      });
      return false;
    }
    if (dir.out) this.#write(dir);
    return true;
  }

  #write(dir: Direction): boolean {
    const out = dir.out!;
    let progress = false;
    try {
      if (dir.dst.kind === 'tap') {
        while (dir.outPos < out.length) {
          const len = out.readUInt32BE(dir.outPos);
          try {
            writeSync(dir.dst.fd, out, dir.outPos + FRAME_HEADER, len);
            dir.stats.frames++;
            dir.stats.bytes += len;
          } catch (err) {
            const code = errCode(err);
            if (code !== 'EAGAIN' && code !== 'ENOBUFS' && code !== 'EIO' && code !== 'EINVAL')
              throw err;
            dir.stats.drops++;
          }
          dir.outPos += FRAME_HEADER + len;
          progress = true;
        }
      } else {
        const before = dir.outPos;
        const n = writeSync(dir.dst.fd, out, dir.outPos, out.length - dir.outPos);
        dir.outPos += n;
        progress = n > 0;
        // Count frames that are now fully written.
        let pos = 0;
        while (pos < dir.outPos) {
          const len = out.readUInt32BE(pos);
          const end = pos + FRAME_HEADER + len;
          if (end > dir.outPos) break;
          if (end > before) {
            dir.stats.frames++;
            dir.stats.bytes += len;
          }
          pos = end;
        }
      }
    } catch (err) {
      const code = errCode(err);
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return progress;
      const other = dir.side === 'a' ? 'b' : 'a';
      const gone = code === 'EPIPE' || code === 'ECONNRESET';
      this.#finish({
        reason: gone ? 'eof' : 'error',
        side: other,
        message: `${other}: write: ${String(err)}`,
      });
      return false;
    }
    if (dir.outPos >= out.length) dir.out = undefined;
    return progress;
  }

  #finish(info: RelayCloseInfo): void {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#timer) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
    closeSync(this.#dirs[0].src.fd);
    closeSync(this.#dirs[1].src.fd);
    queueMicrotask(() => this.#latch.settle(info));
  }
}
