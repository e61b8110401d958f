import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NetworkNamespace,
  runCommand,
  runIperfClient,
  startIperfServer,
} from '../../packages/lab/dist/index.js';
import { type FrameRelay, Relay, socketPair, TapDevice } from '../../packages/vsock/dist/index.js';

/**
 * Needs root. Offload mode on real TAPs: two namespaces, each with a TAP opened with
 * IFF_VNET_HDR and TSO offloads, joined TAP↔stream ⇄ stream↔stream ⇄ stream↔TAP with offload
 * framing (the container → host → helper shape), on 198.51.100.0/24. Names prefixed avo.
 */
const id = `avo${process.pid % 100000}`;
let nsA: NetworkNamespace;
let nsB: NetworkNamespace;
const ipA = '198.51.100.1';
const ipB = '198.51.100.2';
const offload = { framing: 'offload' as const };

const taps: TapDevice[] = [];
const relays: FrameRelay[] = [];
const children: ChildProcess[] = [];

async function tapInto(tapName: string, mac: string, netns: NetworkNamespace, addr: string) {
  const tap = TapDevice.create(tapName, { mac, up: false, offload: true });
  taps.push(tap);
  await runCommand(['ip', 'link', 'set', tapName, 'netns', netns.name]);
  await netns.ip(['addr', 'add', `${addr}/24`, 'dev', tapName]);
  await netns.ip(['link', 'set', tapName, 'up']);
  return tap;
}

beforeAll(async () => {
  nsA = await NetworkNamespace.create(`${id}na`);
  nsB = await NetworkNamespace.create(`${id}nb`);
  const tapA = await tapInto(`${id}ta`, '02:00:c6:33:65:01', nsA, ipA);
  const tapB = await tapInto(`${id}tb`, '02:00:c6:33:65:02', nsB, ipB);
  const [s1a, s1b] = socketPair();
  const [s2a, s2b] = socketPair();
  relays.push(Relay.open({ kind: 'tap', fd: tapA.dupFd() }, { kind: 'stream', fd: s1a }, offload));
  relays.push(Relay.open({ kind: 'stream', fd: s1b }, { kind: 'stream', fd: s2a }, offload));
  relays.push(Relay.open({ kind: 'stream', fd: s2b }, { kind: 'tap', fd: tapB.dupFd() }, offload));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  const closing = relays.map((r) => r.whenClosed());
  for (const relay of relays) relay.close();
  await Promise.all(closing);
  for (const tap of taps) tap.close();
  for (const ns of [nsA, nsB]) await ns?.delete();
});

describe('offload TAPs joined by offload relays between two namespaces', () => {
  it('opens the TAPs with checksum and TSO offloads, and the kernel shows TSO on', async () => {
    for (const tap of taps)
      expect(tap.offloads).toEqual(expect.arrayContaining(['csum', 'tso4', 'tso6']));
    const features = (await nsA.run(['ethtool', '-k', `${id}ta`])).stdout;
    expect(features).toMatch(/tcp-segmentation-offload: on/);
  });

  it('carries ping', async () => {
    const out = (await nsA.run(['ping', '-c', '3', '-W', '5', ipB], { timeoutMs: 30_000 })).stdout;
    expect(out).toMatch(/3 packets transmitted, 3 received/);
    for (const relay of relays) {
      const s = relay.stats();
      expect(s.aToB.protocolErrors + s.bToA.protocolErrors).toBe(0);
    }
  });

  it('carries iperf3 TCP as segments larger than the MTU, with no protocol error', async () => {
    const port = 20000 + (process.pid % 20000);
    children.push(await startIperfServer(nsB.name, port, { bind: ipB, once: true }));
    const before = relays[1]!.stats().aToB;
    const result = await runIperfClient(nsA.name, ipB, port, { seconds: 2 });
    expect(result.bytes).toBeGreaterThan(1_000_000);
    const after = relays[1]!.stats().aToB;
    const frames = after.frames - before.frames;
    const bytes = after.bytes - before.bytes;
    // TSO: the sender's kernel hands 64 KiB segments to the TAP; at MTU 1500 plain frames average < 1514.
    expect(bytes / frames).toBeGreaterThan(4000);
    for (const relay of relays) {
      const s = relay.stats();
      expect(s.aToB.protocolErrors + s.bToA.protocolErrors).toBe(0);
      expect(relay.closed).toBe(false);
    }
  });
});
