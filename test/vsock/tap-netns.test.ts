import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TapPath } from './tap-path.js';

/**
 * Needs root. Two network namespaces, each with a TAP created by the addon, joined by the
 * path TAP↔stream ⇄ stream↔stream ⇄ stream↔TAP (the container → host → helper shape), on
 * 198.51.100.0/24 (documentation range). Names are prefixed avt and unique per process.
 */
const path = new TapPath(`avt${process.pid % 100000}`, {
  macPrefix: '02:00:c6:33:64',
  offload: false,
});

beforeAll(() => path.open());
afterAll(() => path.close());

describe('TAP↔stream⇄stream↔stream⇄stream↔TAP between two namespaces', () => {
  it('carries ping', async () => {
    expect(await path.pingAtoB()).toMatch(/3 packets transmitted, 3 received/);
    for (const relay of path.relays) {
      const s = relay.stats();
      expect(s.aToB.frames).toBeGreaterThan(0);
      expect(s.bToA.frames).toBeGreaterThan(0);
      expect(s.aToB.protocolErrors + s.bToA.protocolErrors).toBe(0);
    }
  });

  it('carries a short iperf3 run', async () => {
    const result = await path.iperfAtoB(2);
    expect(result.bytes).toBeGreaterThan(1_000_000);
    expect(path.relays.every((r) => !r.closed)).toBe(true);
  });
});
