import { closeSync, openSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeFrame,
  encodeVnetHeader,
  type FrameRelay,
  OFFLOAD_MAX_FRAME,
  PollingRelay,
  Relay,
  type RelayCloseInfo,
  type RelayEnd,
  socketPair,
  TsRelay,
  VsockError,
} from '../lib/index.js';
import {
  chain,
  FrameSink,
  frameLengths,
  frameOk,
  header,
  makeFrame,
  netSocket,
  socketCapacity,
  until,
  writeAll,
} from './helpers.js';

type Opener = (
  a: RelayEnd,
  b: RelayEnd,
  options?: { maxFrame?: number; framing?: 'plain' | 'offload' },
) => FrameRelay;

/** A virtio-net header + frame unit of offload framing (a TSO4 segment when `gso`). */
function offloadUnit(len: number, fill: number, gso: boolean): Buffer {
  const hdr = gso
    ? { flags: 1, gsoType: 1, hdrLen: 54, gsoSize: 1448, csumStart: 34, csumOffset: 16 }
    : { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  return Buffer.concat([encodeVnetHeader(hdr), Buffer.alloc(len, fill)]);
}

/** One contract suite, run against every relay implementation. */
const implementations: Array<{ name: string; open: Opener; chainFrames: number }> = [
  { name: 'native Relay', open: (a, b, o) => Relay.open(a, b, o), chainFrames: 100_000 },
  { name: 'TsRelay', open: (a, b, o) => TsRelay.open(a, b, o), chainFrames: 20_000 },
  { name: 'PollingRelay', open: (a, b, o) => PollingRelay.open(a, b, o), chainFrames: 5_000 },
];

const stream = (fd: number): RelayEnd => ({ kind: 'stream', fd });

describe.each(implementations)('$name', ({ open, chainFrames }) => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const fn of cleanup.splice(0)) fn();
  });
  function track<
    T extends { relays: FrameRelay[]; x: { destroy(): void }; y: { destroy(): void } },
  >(c: T): T {
    cleanup.push(() => {
      for (const r of c.relays) r.close();
      c.x.destroy();
      c.y.destroy();
    });
    return c;
  }

  it(`carries ${chainFrames} random frames (60 B – 64 KiB) through three relays intact and in order`, async () => {
    const c = track(chain(3, (a, b) => open(stream(a), stream(b))));
    const lengths = frameLengths(chainFrames, 60, 65536);
    const sink = new FrameSink(c.y);
    const writing = writeAll(
      c.x,
      (function* () {
        for (let i = 0; i < lengths.length; i++) yield encodeFrame(makeFrame(i, lengths[i]!));
      })(),
    );
    await sink.waitFrames(lengths.length);
    await writing;
    expect(sink.frames.length).toBe(lengths.length);
    let bad = 0;
    sink.frames.forEach((frame, i) => {
      if (frame.length !== lengths[i] || !frameOk(i, frame)) bad++;
    });
    expect(bad).toBe(0);
    const total = lengths.reduce((s, l) => s + l, 0);
    for (const relay of c.relays) {
      await until(
        () => relay.stats().aToB.frames >= lengths.length,
        'the relay counted every frame',
      );
      expect(relay.stats().aToB).toEqual({
        frames: lengths.length,
        bytes: total,
        drops: 0,
        protocolErrors: 0,
      });
      expect(relay.stats().bToA.frames).toBe(0);
    }
  }, 180_000);

  it('carries frames both ways and counts them per direction', async () => {
    const c = track(chain(1, (a, b) => open(stream(a), stream(b))));
    const atY = new FrameSink(c.y);
    const atX = new FrameSink(c.x);
    c.x.write(Buffer.concat([encodeFrame(Buffer.alloc(100, 1)), encodeFrame(Buffer.alloc(60, 2))]));
    c.y.write(encodeFrame(Buffer.alloc(1500, 3)));
    await atY.waitFrames(2);
    await atX.waitFrames(1);
    const relay = c.relays[0]!;
    await until(
      () => relay.stats().aToB.frames >= 2 && relay.stats().bToA.frames >= 1,
      'the relay counted both directions',
    );
    expect(relay.stats()).toEqual({
      aToB: { frames: 2, bytes: 160, drops: 0, protocolErrors: 0 },
      bToA: { frames: 1, bytes: 1500, drops: 0, protocolErrors: 0 },
    });
  });

  it('survives a peer that stops reading, and resumes intact when it reads again', async () => {
    const c = track(chain(1, (a, b) => open(stream(a), stream(b))));
    c.y.pause();
    const count = 400; // 400 × 32 KiB = 12.8 MiB: far more than every buffer on the way
    const lengths = Array.from({ length: count }, () => 32 * 1024);
    let written = 0;
    const writing = writeAll(
      c.x,
      (function* () {
        for (let i = 0; i < count; i++) {
          written = i + 1;
          yield encodeFrame(makeFrame(i, lengths[i]!));
        }
      })(),
    );
    // Backpressure reaches the writer: the relay has forwarded what y's buffer
    // takes and the kernel refused part of a write to x (node holds it until
    // 'drain'). A relay that read on without bound would let the writer finish.
    const relay = c.relays[0]!;
    await until(
      () => (relay.stats().aToB.frames > 0 && c.x.writableLength > 0) || written === count,
      'the writer is held back by a full pipeline',
      10_000,
    );
    // What the way can hold: one frame waiting in node, x's and y's kernel
    // buffers, the relay's own (256 KiB at most) and what node read into y
    // before it stopped (its high-water mark plus one 64 KiB read).
    const frame = 4 + 32 * 1024;
    const hop = socketCapacity(frame);
    const inRelay = Math.ceil((256 * 1024) / frame);
    const inPausedY = Math.ceil((c.y.readableHighWaterMark + 64 * 1024) / frame);
    expect(written).toBeLessThanOrEqual(1 + hop + inRelay + hop + inPausedY);
    expect(relay.closed).toBe(false);
    const sink = new FrameSink(c.y);
    c.y.resume();
    await sink.waitFrames(count);
    await writing;
    expect(sink.frames.length).toBe(count);
    expect(sink.frames.every((f, i) => f.length === lengths[i] && frameOk(i, f))).toBe(true);
    expect(relay.closed).toBe(false);
  });

  it('closes on a malformed length with protocolErrors=1, without touching another relay', async () => {
    const c1 = track(chain(1, (a, b) => open(stream(a), stream(b))));
    const c2 = track(chain(1, (a, b) => open(stream(a), stream(b))));
    const closed = c1.relays[0]!.whenClosed();
    const sink1 = new FrameSink(c1.y);
    const sink2 = new FrameSink(c2.y);
    c1.x.write(Buffer.concat([encodeFrame(Buffer.alloc(64, 9)), header(70000), Buffer.alloc(100)]));
    const info: RelayCloseInfo = await closed;
    expect(info.reason).toBe('protocol');
    expect(info.side).toBe('a');
    expect(c1.relays[0]!.stats().aToB.protocolErrors).toBe(1);
    await sink1.until(() => sink1.ended);
    expect(sink1.partialBytes).toBe(0);
    expect(sink1.frames.every((f) => f.length === 64)).toBe(true);
    c2.x.write(encodeFrame(Buffer.alloc(200, 5)));
    await sink2.waitFrames(1);
    expect(sink2.frames[0]).toEqual(Buffer.alloc(200, 5));
    expect(c2.relays[0]!.closed).toBe(false);
  });

  it('treats length 0 as a protocol error', async () => {
    const c = track(chain(1, (a, b) => open(stream(a), stream(b))));
    const closed = c.relays[0]!.whenClosed();
    c.x.write(header(0));
    expect((await closed).reason).toBe('protocol');
    expect(c.relays[0]!.stats().aToB.protocolErrors).toBe(1);
  });

  it('emits close when the peer vanishes mid-frame and forwards no partial frame', async () => {
    const c = track(chain(1, (a, b) => open(stream(a), stream(b))));
    const relay = c.relays[0]!;
    const events: RelayCloseInfo[] = [];
    relay.on('close', (info: RelayCloseInfo) => events.push(info));
    const sink = new FrameSink(c.y);
    c.x.end(Buffer.concat([encodeFrame(Buffer.alloc(100, 1)), header(1000), Buffer.alloc(500, 2)]));
    const info = await relay.whenClosed();
    expect(info.reason).toBe('eof');
    expect(info.side).toBe('a');
    await sink.until(() => sink.ended);
    expect(sink.frames.length).toBe(1);
    expect(sink.partialBytes).toBe(0);
    expect(sink.bytes).toBe(104);
    expect(events).toHaveLength(1);
    expect(relay.stats().aToB.frames).toBe(1);
  });

  it('offload framing: carries header + 64 KiB segments as one unit through two relays', async () => {
    const offload = { framing: 'offload' as const };
    const c = track(chain(2, (a, b) => open(stream(a), stream(b), offload)));
    const sink = new FrameSink(c.y);
    const units = [
      offloadUnit(65535, 1, true),
      offloadUnit(60, 2, false),
      offloadUnit(30000, 3, true),
    ];
    c.x.write(Buffer.concat(units.map((u) => encodeFrame(u))));
    await sink.waitFrames(units.length);
    expect(sink.frames).toEqual(units);
    expect(units[0]!.length).toBe(OFFLOAD_MAX_FRAME);
    await until(() => c.relays[1]!.stats().aToB.frames >= 3, 'the last relay counted them');
    expect(c.relays[1]!.stats().aToB.protocolErrors).toBe(0);
  });

  it('offload framing: closes on an invalid virtio-net header with protocolErrors=1 and forwards no part of it', async () => {
    const c = track(chain(1, (a, b) => open(stream(a), stream(b), { framing: 'offload' })));
    const closed = c.relays[0]!.whenClosed();
    const sink = new FrameSink(c.y);
    const bad = offloadUnit(3000, 4, true);
    bad.writeUInt16LE(0, 4); // gso_size 0 on a TSO frame
    c.x.write(Buffer.concat([encodeFrame(offloadUnit(100, 1, false)), encodeFrame(bad)]));
    const info = await closed;
    expect(info.reason).toBe('protocol');
    expect(info.side).toBe('a');
    expect(info.message).toMatch(/virtio-net header \(gso_size 0/);
    expect(c.relays[0]!.stats().aToB.protocolErrors).toBe(1);
    await sink.until(() => sink.ended);
    expect(sink.partialBytes).toBe(0);
    expect(sink.frames.every((f) => f.equals(offloadUnit(100, 1, false)))).toBe(true);
  });

  it('offload framing: a length no longer than the header is a protocol error', async () => {
    const c = track(chain(1, (a, b) => open(stream(a), stream(b), { framing: 'offload' })));
    const closed = c.relays[0]!.whenClosed();
    c.x.write(Buffer.concat([header(12), Buffer.alloc(12)]));
    const info = await closed;
    expect(info.reason).toBe('protocol');
    expect(info.message).toMatch(/invalid frame length 12 \(allowed 13\.\.65547\)/);
  });

  it('close is idempotent and emits close once', async () => {
    const [a, x] = socketPair();
    const [b, y] = socketPair();
    const relay = open(stream(a), stream(b));
    let count = 0;
    relay.on('close', () => count++);
    relay.close();
    relay.close();
    expect(relay.closed).toBe(true);
    const info = await relay.whenClosed();
    relay.close();
    expect(info.reason).toBe('closed');
    // Both ends are closed: the peers see EOF, after any second 'close' would have come.
    const sx = new FrameSink(netSocket(x));
    const sy = new FrameSink(netSocket(y));
    await sx.until(() => sx.ended);
    await sy.until(() => sy.ended);
    expect(count).toBe(1);
  });

  it('rejects an fd that is not a socket with a clear error and keeps the caller owning it', () => {
    const file = openSync('/proc/self/status', 'r');
    const [a, x] = socketPair();
    try {
      expect(() => open(stream(file), stream(a))).toThrow(VsockError);
      expect(() => open(stream(file), stream(a))).toThrow(/not a socket/);
      expect(() => open(stream(123456), stream(a))).toThrow(VsockError);
    } finally {
      closeSync(file);
      closeSync(a);
      closeSync(x);
    }
  });
});
