import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  dialUnix,
  encodeFrame,
  Relay,
  socketPair,
  TapDevice,
  TapLink,
  VsockError,
} from '../../packages/vsock/dist/index.js';

/** Needs root and /dev/net/tun: real TAP devices in the root namespace (names prefixed avt). */
const name = (suffix: string) => `avt${process.pid % 10000}${suffix}`;

function ipLink(dev: string): { address: string; mtu: number; flags: string[]; ifindex: number } {
  const out = execFileSync('ip', ['-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' });
  return (
    JSON.parse(out) as Array<{ address: string; mtu: number; flags: string[]; ifindex: number }>
  )[0]!;
}

function linkExists(dev: string): boolean {
  try {
    execFileSync('ip', ['link', 'show', 'dev', dev], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const taps: TapDevice[] = [];
afterEach(() => {
  for (const tap of taps.splice(0)) tap.close();
});

describe('TapDevice (root)', () => {
  it('creates a TAP with the exact MAC and MTU, up, and removes it on close', () => {
    const tap = TapDevice.create(name('a'), { mac: '02:00:c6:33:64:0a', mtu: 1400 });
    taps.push(tap);
    const link = ipLink(tap.name);
    expect(link.address).toBe('02:00:c6:33:64:0a');
    expect(tap.mac).toBe('02:00:c6:33:64:0a');
    expect(link.mtu).toBe(1400);
    expect(link.flags).toContain('UP');
    expect(tap.ifindex).toBe(link.ifindex);
    tap.setMtu(9000);
    expect(ipLink(tap.name).mtu).toBe(9000);
    tap.close();
    tap.close();
    expect(linkExists(tap.name)).toBe(false);
  });

  it('keeps the device while a dupFd is open', () => {
    const tap = TapDevice.create(name('b'), { up: false });
    const dup = tap.dupFd();
    tap.close();
    expect(linkExists(name('b'))).toBe(true);
    closeSync(dup);
    expect(linkExists(name('b'))).toBe(false);
  });

  it('names the device and errno when the kernel refuses (MTU too large)', () => {
    try {
      taps.push(TapDevice.create(name('c'), { mtu: 65535 }));
      // Some kernels accept 65535 on a TAP; then nothing to assert.
    } catch (err) {
      expect(err).toBeInstanceOf(VsockError);
      expect((err as VsockError).message).toContain(name('c'));
      expect((err as VsockError).code).toMatch(/^E[A-Z]+$/);
    }
  });

  it('relays frames tap↔stream: a frame written into the stream leaves the TAP as one frame', async () => {
    const tap = TapDevice.create(name('d'), { mac: '02:00:00:00:00:0d' });
    taps.push(tap);
    const [x, s] = socketPair();
    const relay = Relay.open({ kind: 'tap', fd: tap.dupFd() }, { kind: 'stream', fd: s });
    // A broadcast ARP frame injected through the stream reaches the TAP (tx counter of the
    // device's peer side shows as rx on the interface).
    const before = ipStats(tap.name).rx;
    const arp = Buffer.from(
      'ffffffffffff02000000000e0806000108000604000102000000000ec633640100000000000000c6336402',
      'hex',
    );
    const sx = new Socket({ fd: x, readable: true, writable: true });
    sx.write(encodeFrame(Buffer.concat([arp, Buffer.alloc(60 - arp.length)])));
    await until(
      () => relay.stats().bToA.frames + relay.stats().bToA.drops >= 1,
      'the frame is counted',
    );
    expect(relay.stats().bToA).toMatchObject({ frames: 1, bytes: 60, protocolErrors: 0 });
    expect(ipStats(tap.name).rx).toBe(before + 1);
    relay.close();
    await relay.whenClosed();
    sx.destroy();
  });
});

/** A 60-byte broadcast ARP frame (what any TAP accepts). */
function arpFrame(): Buffer {
  const arp = Buffer.from(
    'ffffffffffff02000000000e0806000108000604000102000000000ec633640100000000000000c6336402',
    'hex',
  );
  return Buffer.concat([arp, Buffer.alloc(60 - arp.length)]);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (!condition()) throw new Error(`timed out waiting until ${what}`);
}

describe('TapDevice bad conditions (root)', () => {
  it('a TAP that refuses frames (link down: EIO) counts drops and keeps the relay', async () => {
    const tap = TapDevice.create(name('n'), { mac: '02:00:00:00:00:0e', up: false });
    taps.push(tap);
    const [x, s] = socketPair();
    const relay = Relay.open({ kind: 'tap', fd: tap.dupFd() }, { kind: 'stream', fd: s });
    const sx = new Socket({ fd: x, readable: true, writable: true });
    for (let i = 0; i < 5; i++) sx.write(encodeFrame(arpFrame()));
    await until(() => relay.stats().bToA.drops >= 5, 'five drops are counted');
    expect(relay.stats().bToA).toMatchObject({ frames: 0, drops: 5, protocolErrors: 0 });
    expect(relay.closed).toBe(false);
    // Once the link is up the same relay delivers again.
    execFileSync('ip', ['link', 'set', 'dev', tap.name, 'up']);
    sx.write(encodeFrame(arpFrame()));
    await until(() => relay.stats().bToA.frames >= 1, 'a frame is delivered');
    expect(relay.stats().bToA).toMatchObject({ frames: 1, drops: 5 });
    relay.close();
    await relay.whenClosed();
    sx.destroy();
  });

  it('a TAP deleted under a running relay closes that relay once; another relay goes on', async () => {
    const doomed = TapDevice.create(name('x'), { mac: '02:00:00:00:00:0f' });
    const other = TapDevice.create(name('y'), { mac: '02:00:00:00:00:10' });
    taps.push(doomed, other);
    const [x1, s1] = socketPair();
    const [x2, s2] = socketPair();
    const r1 = Relay.open({ kind: 'tap', fd: doomed.dupFd() }, { kind: 'stream', fd: s1 });
    const r2 = Relay.open({ kind: 'tap', fd: other.dupFd() }, { kind: 'stream', fd: s2 });
    let closes = 0;
    r1.on('close', () => closes++);
    const sx1 = new Socket({ fd: x1, readable: true, writable: true });
    const sx2 = new Socket({ fd: x2, readable: true, writable: true });
    sx1.on('error', () => undefined);
    execFileSync('ip', ['link', 'del', 'dev', doomed.name]);
    // Writing into the stream makes the relay touch the vanished device.
    sx1.write(encodeFrame(arpFrame()));
    const info = await r1.whenClosed();
    expect(['error', 'eof']).toContain(info.reason);
    expect(closes).toBe(1);
    expect(linkExists(doomed.name)).toBe(false);
    sx2.write(encodeFrame(arpFrame()));
    await until(() => r2.stats().bToA.frames >= 1, 'the other relay delivers');
    expect(r2.closed).toBe(false);
    r2.close();
    await r2.whenClosed();
    sx1.destroy();
    sx2.destroy();
  });
});

describe('TapLink on a real TAP and a unixdir listener (root)', () => {
  const dirs: string[] = [];
  const links: TapLink[] = [];
  afterEach(async () => {
    for (const link of links.splice(0)) await link.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** Connects as the host does and sends one broadcast frame into the link. */
  async function hostSends(dir: string, port: number): Promise<Socket> {
    const socket = (await dialUnix(join(dir, `${port}.sock`))).toNetSocket();
    socket.on('error', () => undefined);
    socket.write(encodeFrame(arpFrame()));
    return socket;
  }

  it('relays a host connection to the TAP, keeps totals across a reconnect, and frees the name on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'avt-link-'));
    dirs.push(dir);
    const open = () =>
      TapLink.open({
        name: name('l'),
        mac: '02:00:00:00:00:11',
        listen: { kind: 'unixdir', dir },
        port: 20001,
      });
    const link = await open();
    links.push(link);
    expect(ipLink(name('l')).flags).toContain('UP');
    const before = ipStats(name('l')).rx;
    const first = await hostSends(dir, 20001);
    await until(() => link.stats().toTap.frames >= 1, 'the first frame reaches the TAP');
    const second = await hostSends(dir, 20001);
    await until(() => link.connections === 2, 'the second connection replaces the first');
    await until(() => link.stats().toTap.frames >= 2, 'the second frame reaches the TAP');
    expect(link.stats().toTap).toMatchObject({ frames: 2, bytes: 120, protocolErrors: 0 });
    expect(ipStats(name('l')).rx).toBe(before + 2);
    expect(link.connected).toBe(true);
    await link.close();
    expect(linkExists(name('l'))).toBe(false);
    links.push(await open());
    expect(linkExists(name('l'))).toBe(true);
    first.destroy();
    second.destroy();
  });
});

function ipStats(dev: string): { rx: number } {
  const out = execFileSync('ip', ['-j', '-s', 'link', 'show', 'dev', dev], { encoding: 'utf8' });
  const link = (JSON.parse(out) as Array<{ stats64: { rx: { packets: number } } }>)[0]!;
  return { rx: link.stats64.rx.packets };
}
