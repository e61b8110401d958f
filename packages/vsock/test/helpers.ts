import { closeSync, readdirSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { FrameDecoder, socketPair, splitFrames } from '../lib/index.js';

export function netSocket(fd: number): Socket {
  return new Socket({ fd, readable: true, writable: true });
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Deterministic pseudo-random numbers (xorshift32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

const POOL = (() => {
  const next = rng(42);
  const pool = Buffer.alloc(256 * 1024);
  for (let i = 0; i < pool.length; i++) pool[i] = Math.floor(next() * 256);
  return pool;
})();

/** Frame i: its length (log-uniform in [min, max]) and bytes (index + a slice of a fixed pool). */
export function makeFrame(i: number, len: number): Buffer {
  const frame = Buffer.allocUnsafe(len);
  frame.writeUInt32BE(i, 0);
  const off = (i * 7919) % (POOL.length - len);
  POOL.copy(frame, 4, off, off + len - 4);
  return frame;
}

export function frameOk(i: number, frame: Buffer): boolean {
  if (frame.length < 4 || frame.readUInt32BE(0) !== i) return false;
  const off = (i * 7919) % (POOL.length - frame.length);
  return POOL.compare(frame, 4, frame.length, off, off + frame.length - 4) === 0;
}

export function frameLengths(count: number, min: number, max: number, seed = 7): number[] {
  const next = rng(seed);
  const lmin = Math.log(min);
  const lmax = Math.log(max + 1);
  return Array.from({ length: count }, () =>
    Math.min(max, Math.floor(Math.exp(lmin + next() * (lmax - lmin)))),
  );
}

export function header(len: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(len >>> 0, 0);
  return h;
}

/**
 * How many writes of `bytes` bytes the kernel buffers in a fresh socketpair
 * nobody reads (the last one may be partial): the most one hop can hold.
 */
export function socketCapacity(bytes: number): number {
  const [a, b] = socketPair();
  const chunk = Buffer.alloc(bytes);
  let total = 0;
  try {
    for (;;) total += writeSync(a, chunk);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EAGAIN') throw err;
  } finally {
    closeSync(a);
    closeSync(b);
  }
  return Math.ceil(total / bytes);
}

/** Writes buffers to a socket honouring backpressure. */
export async function writeAll(socket: Socket, chunks: Iterable<Buffer>): Promise<void> {
  for (const chunk of chunks) {
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        socket.once('error', onError);
        socket.once('drain', () => {
          socket.off('error', onError);
          resolve();
        });
      });
    }
  }
}

/** Collects frames arriving on a socket. */
export class FrameSink {
  readonly frames: Buffer[] = [];
  bytes = 0;
  ended = false;
  #decoder = new FrameDecoder(1 << 20);
  #waiters: Array<() => void> = [];
  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const out = this.#decoder.push(chunk);
      for (const frame of splitFrames(out.complete)) this.frames.push(frame);
      this.bytes += chunk.length;
      this.#wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.#wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }
  get partialBytes(): number {
    return this.#decoder.pendingBytes;
  }
  #wake() {
    for (const w of this.#waiters.splice(0)) w();
  }
  async until(predicate: () => boolean): Promise<void> {
    while (!predicate()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
  waitFrames(n: number): Promise<void> {
    return this.until(() => this.frames.length >= n || this.ended);
  }
}

/** A chain of `n` relays between two test sockets: x → r1 → … → rn → y. */
export function chain<R>(
  n: number,
  open: (a: number, b: number) => R,
): { x: Socket; y: Socket; relays: R[] } {
  const pairs = Array.from({ length: n + 1 }, () => socketPair());
  const relays: R[] = [];
  for (let i = 0; i < n; i++) relays.push(open(pairs[i]![1], pairs[i + 1]![0]));
  return { x: netSocket(pairs[0]![0]), y: netSocket(pairs[n]![1]), relays };
}

/**
 * Polls `condition` every 5 ms until it holds or `timeoutMs` passes. For
 * state another thread publishes after the event a test saw: a relay's loop
 * thread bumps its counters after send() returns, so the far end can hold a
 * frame a moment before the counter shows it.
 */
export async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 2000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
