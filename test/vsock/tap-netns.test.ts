import { type ChildProcess, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIperfClient, startIperfServer } from '../../packages/lab/dist/index.js';
import { type FrameRelay, Relay, socketPair, TapDevice } from '../../packages/vsock/dist/index.js';

/**
 * Needs root. Two network namespaces, each with a TAP created by the addon, joined by the
 * path TAP↔stream ⇄ stream↔stream ⇄ stream↔TAP (the container → host → helper shape), on
 * 198.51.100.0/24 (documentation range). Names are prefixed avt and unique per process.
 */
const run = promisify(execFile);
const id = `avt${process.pid % 100000}`;
const nsA = `${id}na`;
const nsB = `${id}nb`;
const ipA = '198.51.100.1';
const ipB = '198.51.100.2';

const taps: TapDevice[] = [];
const relays: FrameRelay[] = [];
const children: ChildProcess[] = [];

async function ns(name: string, ...argv: string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', name, ...argv], { timeout: 30_000 });
  return stdout;
}

async function tapInto(tapName: string, mac: string, netns: string, addr: string) {
  const tap = TapDevice.create(tapName, { mac, up: false });
  taps.push(tap);
  // The TAP fd keeps working after the device moves to another namespace.
  await run('ip', ['link', 'set', tapName, 'netns', netns]);
  await ns(netns, 'ip', 'addr', 'add', `${addr}/24`, 'dev', tapName);
  await ns(netns, 'ip', 'link', 'set', tapName, 'up');
  await ns(netns, 'ip', 'link', 'set', 'lo', 'up');
  return tap;
}

beforeAll(async () => {
  await run('ip', ['netns', 'add', nsA]);
  await run('ip', ['netns', 'add', nsB]);
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
  for (const name of [nsA, nsB]) await run('ip', ['netns', 'del', name]).catch(() => undefined);
});

describe('TAP↔stream⇄stream↔stream⇄stream↔TAP between two namespaces', () => {
  it('carries ping', async () => {
    const out = await ns(nsA, 'ping', '-c', '3', '-W', '5', ipB);
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
    children.push(await startIperfServer(nsB, port, { bind: ipB, once: true }));
    const result = await runIperfClient(nsA, ipB, port, { seconds: 2 });
    expect(result.bytes).toBeGreaterThan(1_000_000);
    expect(relays.every((r) => !r.closed)).toBe(true);
  });
});
