import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TapPath } from './tap-path.js';

/**
 * Needs root. Offload mode on real TAPs: two namespaces, each with a TAP opened with
 * IFF_VNET_HDR and TSO offloads, joined TAP↔stream ⇄ stream↔stream ⇄ stream↔TAP with offload
 * framing (the container → host → helper shape), on 198.51.100.0/24. Names prefixed avo.
 */
const path = new TapPath(`avo${process.pid % 100000}`, {
  macPrefix: '02:00:c6:33:65',
  offload: true,
});

beforeAll(() => path.open());
afterAll(() => path.close());

describe('offload TAPs joined by offload relays between two namespaces', () => {
  it('opens the TAPs with checksum and TSO offloads, and the kernel shows TSO on', async () => {
    for (const tap of path.taps)
      expect(tap.offloads).toEqual(expect.arrayContaining(['csum', 'tso4', 'tso6']));
    const features = (await path.nsA.run(['ethtool', '-k', `${path.id}ta`])).stdout;
    expect(features).toMatch(/tcp-segmentation-offload: on/);
  });

  it('carries ping', async () => {
    expect(await path.pingAtoB()).toMatch(/3 packets transmitted, 3 received/);
    for (const relay of path.relays) {
      const s = relay.stats();
      expect(s.aToB.protocolErrors + s.bToA.protocolErrors).toBe(0);
    }
  });

  it('carries iperf3 TCP as segments larger than the MTU, with no protocol error', async () => {
    const before = path.relays[1]!.stats().aToB;
    const result = await path.iperfAtoB(2);
    expect(result.bytes).toBeGreaterThan(1_000_000);
    const after = path.relays[1]!.stats().aToB;
    const frames = after.frames - before.frames;
    const bytes = after.bytes - before.bytes;
    // TSO: the sender's kernel hands 64 KiB segments to the TAP; at MTU 1500 plain frames average < 1514.
    expect(bytes / frames).toBeGreaterThan(4000);
    for (const relay of path.relays) {
      const s = relay.stats();
      expect(s.aToB.protocolErrors + s.bToA.protocolErrors).toBe(0);
      expect(relay.closed).toBe(false);
    }
  });
});
