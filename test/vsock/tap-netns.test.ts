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
 * Needs root. Two network namespaces, each with a TAP created by the addon, joined by the
 * path TAP↔stream ⇄ stream↔stream ⇄ stream↔TAP (the container → host → helper shape), on
 * 198.51.100.0/24 (documentation range). Names are prefixed avt and unique per process.
 */
const id = `avt${process.pid % 100000}`;
let nsA: NetworkNamespace;
let nsB: NetworkNamespace;
const ipA = '198.51.100.1';
const ipB = '198.51.100.2';

const taps: TapDevice[] = [];
const relays: FrameRelay[] = [];
const children: ChildProcess[] = [];

async function tapInto(tapName: string, mac: string, netns: NetworkNamespace, addr: string) {
  const tap = TapDevice.create(tapName, { mac, up: false });
  taps.push(tap);
  // The TAP fd keeps working after the device moves to another namespace.
  await runCommand(['ip', 'link', 'set', tapName, 'netns', netns.name]);
  await netns.ip(['addr', 'add', `${addr}/24`, 'dev', tapName]);
  await netns.ip(['link', 'set', tapName, 'up']);
  return tap;
}

beforeAll(async () => {
  nsA = await NetworkNamespace.create(`${id}na`);
  nsB = await NetworkNamespace.create(`${id}nb`);
  const tapA = await tapInto(`${id}ta`, '02:00:c6:33:64:01', nsA, ipA);
  const tapB = await tapInto(`${id}tb`, '02:00:c6:33:64:02', nsB, ipB);
  const [s1a, s1b] = socketPair(); // container ⇄ host
  const [s2a, s2b] = socketPair(); // host ⇄ helper
  relays.push(Relay.open({ kind: 'tap', fd: tapA.dupFd() }, { kind: 'stream', fd: s1a }));
  relays.push(Relay.open({ kind: 'stream', fd: s1b }, { kind: 'stream', fd: s2a }));
  relays.push(Relay.open({ kind: 'stream', fd: s2b }, { kind: 'tap', fd: tapB.dupFd() }));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  const closing = relays.map((r) => r.whenClosed());
  for (const relay of relays) relay.close();
  await Promise.all(closing);
  for (const tap of taps) tap.close();
  for (const ns of [nsA, nsB]) await ns?.delete();
});

describe('TAP↔stream⇄stream↔stream⇄stream↔TAP between two namespaces', () => {
  it('carries ping', async () => {
    const out = (await nsA.run(['ping', '-c', '3', '-W', '5', ipB], { timeoutMs: 30_000 })).stdout;
    expect(out).toMatch(/3 packets transmitted, 3 received/);
    for (const relay of relays) {
      const s = relay.stats();
      expect(s.aToB.frames).toBeGreaterThan(0);
      expect(s.bToA.frames).toBeGreaterThan(0);
      expect(s.aToB.protocolErrors + s.bToA.protocolErrors).toBe(0);
    }
  });

  it('carries a short iperf3 run', async () => {
    const port = 20000 + (process.pid % 20000);
    children.push(await startIperfServer(nsB.name, port, { bind: ipB, once: true }));
    const result = await runIperfClient(nsA.name, ipB, port, { seconds: 2 });
    expect(result.bytes).toBeGreaterThan(1_000_000);
    expect(relays.every((r) => !r.closed)).toBe(true);
  });
});
