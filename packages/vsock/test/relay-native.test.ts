import { closeSync, readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeFrame, Relay, relayLoopThreads, socketPair, VNET_HDR } from '../lib/index.js';
import { FrameSink, netSocket, openFdCount, until } from './helpers.js';

/**
 * Opens `count` relays in batches, moves one frame through a few of each batch,
 * closes everything; resolves once every fd is closed.
 */
async function churn(count: number, batch: number): Promise<void> {
  for (let done = 0; done < count; done += batch) {
    const open: Array<{ relay: Relay; x: number; y: number }> = [];
    for (let i = 0; i < batch; i++) {
      const [x, a] = socketPair();
      const [b, y] = socketPair();
      open.push({ relay: Relay.open({ kind: 'stream', fd: a }, { kind: 'stream', fd: b }), x, y });
    }
    // Traffic on a few of them so their buffers get allocated too.
    const probe = open.slice(0, 10).map(async ({ x, y }) => {
      const sx = netSocket(x);
      const sink = new FrameSink(netSocket(y));
      sx.write(encodeFrame(Buffer.alloc(1000, 1)));
      await sink.waitFrames(1);
      await Promise.all([destroyed(sx), destroyed(sink.socket)]);
    });
    await Promise.all(probe);
    const closed = open.map(({ relay }) => relay.whenClosed());
    for (const { relay } of open) relay.close();
    await Promise.all(closed);
    for (const { x, y } of open.slice(10)) {
      closeSync(x);
      closeSync(y);
    }
  }
}

/** Destroys a socket; resolves once its fd is closed (net.Socket closes it asynchronously). */
function destroyed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.destroy();
  });
}

describe('native Relay resources', () => {
  // RSS growth over 10 000 relays and idle CPU are figures of the bench's relay suite.
  it('opening and closing 10 000 relays leaves the fd count where it started', async () => {
    await churn(500, 500); // the loop threads and their epoll and event fds start on first use
    const fdsBefore = openFdCount();
    await churn(10_000, 500);
    expect(openFdCount()).toBe(fdsBefore);
  }, 120_000);

  it('runs its loops on threads named arca-relay (top -H, perf, and the idle-CPU benchmark find them)', () => {
    const [x, a] = socketPair();
    const [b, y] = socketPair();
    const relay = Relay.open({ kind: 'stream', fd: a }, { kind: 'stream', fd: b });
    const names = readdirSync('/proc/self/task').map((tid) =>
      readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(),
    );
    expect(names.filter((name) => name === 'arca-relay').length).toBe(relayLoopThreads());
    relay.close();
    closeSync(x);
    closeSync(y);
  });

  it('reports per-direction stats from the loop threads while traffic flows', async () => {
    const [x, a] = socketPair();
    const [b, y] = socketPair();
    const relay = Relay.open({ kind: 'stream', fd: a }, { kind: 'stream', fd: b });
    const sx = netSocket(x);
    const sink = new FrameSink(netSocket(y));
    for (let i = 0; i < 50; i++) sx.write(encodeFrame(Buffer.alloc(1500, i)));
    await sink.waitFrames(50);
    await until(() => relay.stats().aToB.frames >= 50, 'the loop thread counted 50 frames');
    expect(relay.stats().aToB).toEqual({ frames: 50, bytes: 75_000, drops: 0, protocolErrors: 0 });
    relay.close();
    const info = await relay.whenClosed();
    expect(info.reason).toBe('closed');
    expect(relay.stats().aToB.frames).toBe(50); // still readable after close
    sx.destroy();
    sink.socket.destroy();
  });

  it('gives the stream ends of an offload relay 1 MiB socket buffers: a hop holds sixteen 64 KiB units, not three', async () => {
    const [x, a] = socketPair();
    const [b, y] = socketPair(); // nobody reads y: the relay moves what b's buffer holds
    const relay = Relay.open(
      { kind: 'stream', fd: a },
      { kind: 'stream', fd: b },
      { framing: 'offload' },
    );
    const sx = netSocket(x);
    try {
      const unit = encodeFrame(Buffer.alloc(VNET_HDR + 60_000, 0)); // a zero header: no offloads
      for (let i = 0; i < 40; i++) sx.write(unit);
      // The kernel's default (208 KiB) would stop the relay after three units.
      await until(
        () => relay.stats().aToB.bytes >= 1024 * 1024,
        'the relay moved 1 MiB into a socket nobody reads',
      );
      expect(relay.stats().aToB.protocolErrors).toBe(0);
    } finally {
      await destroyed(sx); // first: closing the relay with unread bytes resets x
      relay.close();
      await relay.whenClosed();
      closeSync(y);
    }
  });

  it('rejects mixing a raw end with a framed end, and the same fd twice', () => {
    const [a, b] = socketPair();
    try {
      expect(() => Relay.open({ kind: 'raw', fd: a }, { kind: 'stream', fd: b })).toThrow(/raw/);
      expect(() => Relay.open({ kind: 'stream', fd: a }, { kind: 'stream', fd: a })).toThrow(
        /same fd/,
      );
      expect(() => Relay.open({ kind: 'tap', fd: a }, { kind: 'stream', fd: b })).toThrow(
        /not a TAP/,
      );
      expect(() =>
        Relay.open({ kind: 'stream', fd: a }, { kind: 'stream', fd: b }, { maxFrame: 0 }),
      ).toThrow(/maxFrame/);
    } finally {
      closeSync(a);
      closeSync(b);
    }
  });
});
