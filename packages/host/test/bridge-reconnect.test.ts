/**
 * NetworkBridge's re-dial policy after a relay closes, on a fake data plane
 * (no sockets: the relays close the way a hostile or restarting guest makes
 * them close) and fake timers.
 */
import { EventEmitter } from 'node:events';
import type { FrameRelay, RelayCloseInfo, RelayStats } from '@arca-net/vsock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DataPlane, NetworkBridge } from '../src/bridge.js';

const none = () => ({ frames: 0, bytes: 0, drops: 0, protocolErrors: 0 });

class FakeRelay extends EventEmitter implements FrameRelay {
  closed = false;
  frames = 0;
  stats(): RelayStats {
    return { aToB: { ...none(), frames: this.frames }, bToA: none() };
  }
  close(): void {
    this.end({ reason: 'closed' });
  }
  end(info: RelayCloseInfo): void {
    if (this.closed) return;
    this.closed = true;
    setImmediate(() => this.emit('close', info));
  }
  whenClosed(): Promise<RelayCloseInfo> {
    return new Promise((resolve) => this.once('close', resolve));
  }
}

/** A data plane whose every relay is handed to `onRelay` (which may close it). */
function fakePlane(onRelay: (relay: FakeRelay) => void): DataPlane & { dials: number } {
  const plane = {
    dials: 0,
    async dial() {
      plane.dials++;
      return { fd: 3, detachFd: () => 3, close: () => undefined };
    },
    relay() {
      const relay = new FakeRelay();
      onRelay(relay);
      return relay;
    },
  };
  return plane;
}

const link = {
  key: 'c/n',
  port: 20001,
  container: { kind: 'unixdir', dir: '/nowhere' } as const,
  helper: { kind: 'unixdir', dir: '/nowhere' } as const,
};

describe('NetworkBridge re-dials after a close', () => {
  let bridge: NetworkBridge | undefined;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] });
  });
  afterEach(() => {
    bridge?.close();
    vi.useRealTimers();
  });

  it('a peer that closes every relay at once gets exponentially spaced re-dials, not a loop', async () => {
    const plane = fakePlane((relay) => relay.end({ reason: 'eof', side: 'a' }));
    bridge = new NetworkBridge({ dataPlane: plane, reconnect: { initialDelayMs: 100 } });
    await bridge.add(link);
    await vi.advanceTimersByTimeAsync(5_000);
    // 1 + immediate + waits of 50–100, 100–200, …, 3.2–6.4 s: at most 9 relays in 5 s.
    const relays = plane.dials / 2;
    expect(relays).toBeGreaterThanOrEqual(4);
    expect(relays).toBeLessThanOrEqual(9);
    expect(bridge.counters(link.key)?.quarantines).toBe(0);
  });

  it('repeated protocol errors quarantine the link: counted, and no dial during the pause', async () => {
    const plane = fakePlane((relay) => relay.end({ reason: 'protocol', side: 'a' }));
    bridge = new NetworkBridge({
      dataPlane: plane,
      reconnect: { initialDelayMs: 10, quarantineAfter: 4, quarantineMs: 60_000 },
    });
    await bridge.add(link);
    await vi.advanceTimersByTimeAsync(2_000);
    const counters = bridge.counters(link.key);
    expect(counters?.quarantines).toBe(1);
    expect(counters?.protocolCloses).toBe(4);
    expect(counters?.quarantinedUntil).toBeDefined();
    const dials = plane.dials;
    await vi.advanceTimersByTimeAsync(50_000);
    expect(plane.dials).toBe(dials);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(plane.dials).toBeGreaterThan(dials);
  });

  it('a relay that carried frames for a while is re-dialled at once when it closes', async () => {
    const relays: FakeRelay[] = [];
    const plane = fakePlane((relay) => relays.push(relay));
    bridge = new NetworkBridge({ dataPlane: plane, reconnect: { healthyMs: 1_000 } });
    await bridge.add(link);
    for (let round = 1; round <= 3; round++) {
      const relay = relays[relays.length - 1] as FakeRelay;
      relay.frames = 10;
      await vi.advanceTimersByTimeAsync(1_500);
      relay.end({ reason: 'eof', side: 'b' });
      await vi.advanceTimersByTimeAsync(1);
      expect(relays.length).toBe(round + 1);
    }
  });
});
