import { closeSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeFrame, Relay, relayLoopThreads, socketPair } from '../lib/index.js';
import { FrameSink, netSocket, openFdCount, until } from './helpers.js';

/** Opens `count` relays in batches, moves one frame through each, closes everything. */
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
      sx.destroy();
      sink.socket.destroy();
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

describe('native Relay resources', () => {
  it('opening and closing 10 000 relays leaves the fd count and RSS where they started', async () => {
    // Warm-up until RSS plateaus: loop threads, JIT, and what V8 and malloc keep
    // for reuse (measured here: growth per 10 000 relays falls from ~17 MiB in the
    // first round to ~2 MiB by the third and stays flat for 400 000 relays).
    await churn(30_000, 500);
    await new Promise((resolve) => setTimeout(resolve, 50)); // net.Socket closes are async
    global.gc?.();
    const fdsBefore = openFdCount();
    const rssBefore = process.memoryUsage().rss;
    await churn(10_000, 500);
    await new Promise((resolve) => setTimeout(resolve, 50));
    global.gc?.();
    expect(openFdCount()).toBe(fdsBefore);
    const growth = process.memoryUsage().rss - rssBefore;
    // 8 MiB over 10 000 relays: a leak of 1 KiB per relay (10 MiB) fails.
    expect(growth).toBeLessThan(8 * 1024 * 1024);
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

  it('uses no CPU while idle (100 open relays, 1 s)', async () => {
    const relays: Relay[] = [];
    const peers: number[] = [];
    for (let i = 0; i < 100; i++) {
      const [x, a] = socketPair();
      const [b, y] = socketPair();
      relays.push(Relay.open({ kind: 'stream', fd: a }, { kind: 'stream', fd: b }));
      peers.push(x, y);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const used = process.cpuUsage(before);
    const ms = (used.user + used.system) / 1000;
    // Spinning loop threads would burn ~1000 ms per thread here; idle is a few ms of test runner.
    expect(ms).toBeLessThan(100 * Math.max(1, relayLoopThreads() / 2));
    const closed = relays.map((r) => r.whenClosed());
    for (const r of relays) r.close();
    await Promise.all(closed);
    for (const fd of peers) closeSync(fd);
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
