import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkNamespace } from '../../packages/lab/dist/index.js';
import type { tapforwarder } from '../../packages/proto/dist/index.js';
import { askHealth, reflect } from '../grpc-ecosystem.js';
import {
  arpRequest,
  type ForwarderProcess,
  FramePeer,
  ipJson,
  isArpReply,
  linkNames,
  startForwarderProcess,
} from './harness.js';

/**
 * The forwarder process in a real network namespace (issue 5): TAPs with the
 * requested MACs and addresses, frames through Unix-socket data ports, detach,
 * bad input, and the embedded DNS server asked by `dig`.
 */
const tag = `anf${process.pid % 100_000}`;
const here = new URL('.', import.meta.url).pathname;

const eth0: tapforwarder.AttachNetworkRequest = {
  device: 'eth0',
  vsockPort: 20001,
  ipAddress: '198.51.100.5',
  gateway: '198.51.100.1',
  netmask: 24,
  macAddress: '02:00:5e:10:00:01',
  defaultRoute: true,
  mtu: 0,
  offload: false,
};
const eth1: tapforwarder.AttachNetworkRequest = {
  device: 'eth1',
  vsockPort: 20002,
  ipAddress: '203.0.113.5',
  gateway: '203.0.113.1',
  netmask: 28,
  macAddress: '02:00:5e:10:00:02',
  defaultRoute: false,
  mtu: 1400,
  offload: false,
};
const PEER_MAC = '02:00:5e:99:00:01';

async function statusOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'OK',
    (error: { code?: number; message?: string }) =>
      error.code === 3
        ? 'INVALID_ARGUMENT'
        : error.code === 5
          ? 'NOT_FOUND'
          : String(error.message),
  );
}

describe('forwarder in a network namespace', () => {
  let ns: NetworkNamespace;
  let dir: string;
  let fwd: ForwarderProcess;
  let upstream: ChildProcess;

  beforeAll(async () => {
    ns = await NetworkNamespace.create(`${tag}-vm`);
    dir = mkdtempSync(`/tmp/${tag}-`);
    upstream = spawn('ip', [
      'netns',
      'exec',
      ns.name,
      process.execPath,
      join(here, 'fake-upstream.mjs'),
      '127.0.0.53',
      '53',
    ]);
    await new Promise<void>((resolve, reject) => {
      upstream.stdout?.once('data', () => resolve());
      upstream.once('exit', () => reject(new Error('fake upstream exited')));
    });
    fwd = await startForwarderProcess(ns, dir, [
      '--dns',
      '127.0.0.11:53',
      '--upstream',
      '127.0.0.53:53',
    ]);
  });

  afterAll(async () => {
    await fwd?.stop();
    upstream?.kill('SIGTERM');
    await ns?.delete();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves reflection that lists and describes TAPForwarder and grpc.health.v1.Health', async () => {
    const reflected = await reflect(join(dir, '5555.sock'));
    expect(reflected.services).toEqual([
      'arca.tapforwarder.v1.TAPForwarder',
      'grpc.health.v1.Health',
    ]);
    expect(Object.values(reflected.described)).toEqual([true, true]);
  });

  it('serves reflection v1alpha too (what grpc-js-reflection-client asks): lists and describes both', async () => {
    expect(await reflect(join(dir, '5555.sock'), 'v1alpha')).toEqual({
      services: ['arca.tapforwarder.v1.TAPForwarder', 'grpc.health.v1.Health'],
      described: { 'arca.tapforwarder.v1.TAPForwarder': true, 'grpc.health.v1.Health': true },
    });
  });

  it('health answers Check and Watch for "" and TAPForwarder by name, and List', async () => {
    const name = 'arca.tapforwarder.v1.TAPForwarder';
    expect(await askHealth(join(dir, '5555.sock'), [name, 'no.such.Service'])).toEqual({
      check: { '': 'SERVING', [name]: 'SERVING', 'no.such.Service': 'NOT_FOUND' },
      watch: { '': 'SERVING', [name]: 'SERVING', 'no.such.Service': 'SERVICE_UNKNOWN' },
      list: { '': 'SERVING', [name]: 'SERVING' },
    });
  });

  it('attaches two TAPs with the exact MACs, addresses, prefixes and the default route', async () => {
    expect((await fwd.client.attachNetwork(eth0)).macAddress).toBe(eth0.macAddress);
    expect((await fwd.client.attachNetwork(eth1)).macAddress).toBe(eth1.macAddress);
    const links = (await ipJson(ns, ['link', 'show'])) as {
      ifname: string;
      address: string;
      mtu: number;
    }[];
    expect(links.find((l) => l.ifname === 'eth0')).toMatchObject({
      address: eth0.macAddress,
      mtu: 1500,
    });
    expect(links.find((l) => l.ifname === 'eth1')).toMatchObject({
      address: eth1.macAddress,
      mtu: 1400,
    });
    const addrs = (await ipJson(ns, ['-4', 'addr', 'show'])) as {
      ifname: string;
      addr_info: { local: string; prefixlen: number }[];
    }[];
    const addrOf = (dev: string) => addrs.find((a) => a.ifname === dev)?.addr_info;
    expect(addrOf('eth0')).toEqual([
      expect.objectContaining({ local: '198.51.100.5', prefixlen: 24 }),
    ]);
    expect(addrOf('eth1')).toEqual([
      expect.objectContaining({ local: '203.0.113.5', prefixlen: 28 }),
    ]);
    const routes = (await ipJson(ns, ['route', 'show', 'default'])) as {
      gateway: string;
      dev: string;
    }[];
    expect(routes).toEqual([expect.objectContaining({ gateway: '198.51.100.1', dev: 'eth0' })]);
    // Same device and parameters again: the same attachment.
    expect((await fwd.client.attachNetwork(eth0)).macAddress).toBe(eth0.macAddress);
  });

  it('relays frames both ways between each TAP and its Unix-socket data port', async () => {
    for (const [req, peerIp] of [
      [eth0, '198.51.100.1'],
      [eth1, '203.0.113.1'],
    ] as const) {
      const peer = await FramePeer.connect(join(dir, `${req.vsockPort}.sock`));
      try {
        peer.send(arpRequest(PEER_MAC, peerIp, req.ipAddress)); // stream → TAP
        await peer.waitFor((f) => isArpReply(f, PEER_MAC, req.ipAddress)); // TAP → stream
      } finally {
        peer.close();
      }
    }
    const { networks } = await fwd.client.listNetworks({});
    for (const info of networks) {
      expect(info.stats?.packetsReceived).toBeGreaterThanOrEqual(1n);
      expect(info.stats?.packetsSent).toBeGreaterThanOrEqual(1n);
    }
  });

  it('a reconnect replaces the relay and keeps the counters', async () => {
    const before = (await fwd.client.listNetworks({})).networks.find((n) => n.device === 'eth0');
    const peer = await FramePeer.connect(join(dir, '20001.sock'));
    try {
      peer.send(arpRequest(PEER_MAC, '198.51.100.1', '198.51.100.5'));
      await peer.waitFor((f) => isArpReply(f, PEER_MAC, '198.51.100.5'));
      const after = (await fwd.client.listNetworks({})).networks.find((n) => n.device === 'eth0');
      expect(after?.connected).toBe(true);
      expect(after?.stats?.packetsReceived).toBeGreaterThan(before?.stats?.packetsReceived ?? 0n);
    } finally {
      peer.close();
    }
  });

  const bad: [string, Partial<tapforwarder.AttachNetworkRequest>][] = [
    ['a device name over 15 bytes', { device: 'eth0123456789abc' }],
    ['a device name with /', { device: 'eth/9' }],
    ['a malformed MAC', { macAddress: '02:00:5e:10:00' }],
    ['a multicast MAC', { macAddress: '01:00:5e:10:00:09' }],
    ['a port below 20000', { vsockPort: 19999 }],
    ['a port of 30000', { vsockPort: 30000 }],
    ['a prefix above 32', { netmask: 33 }],
    ['an IP that does not parse', { ipAddress: '198.51.100.999' }],
  ];
  for (const [what, change] of bad) {
    it(`rejects ${what} with INVALID_ARGUMENT and creates nothing`, async () => {
      const linksBefore = await linkNames(ns);
      const request = { ...eth0, device: 'eth9', vsockPort: 20009, ...change };
      expect(await statusOf(fwd.client.attachNetwork(request))).toBe('INVALID_ARGUMENT');
      expect(await linkNames(ns)).toEqual(linksBefore);
      expect(existsSync(join(dir, `${request.vsockPort}.sock`))).toBe(false);
    });
  }

  it('rejects a DNS snapshot with bad IPs or names and keeps the old records', async () => {
    const good = await fwd.client.updateDNSMappings({
      networks: {
        n: { containers: [{ name: 'kept', id: '', ipAddress: '198.51.100.21', aliases: [] }] },
      },
      upstreamServers: [],
    });
    expect(good.success).toBe(true);
    for (const container of [
      { name: 'x', id: '', ipAddress: '10.1.1', aliases: [] },
      { name: 'bad name', id: '', ipAddress: '198.51.100.20', aliases: [] },
    ]) {
      const call = fwd.client.updateDNSMappings({
        networks: { n: { containers: [container] } },
        upstreamServers: [],
      });
      expect(await statusOf(call)).toBe('INVALID_ARGUMENT');
    }
    const answer = await ns.run(['dig', '@127.0.0.11', '+time=2', '+tries=1', '+short', 'kept'], {
      timeoutMs: 10_000,
    });
    expect(answer.stdout.trim()).toBe('198.51.100.21');
  });

  describe('embedded DNS asked by dig in the namespace', () => {
    const id = `0123456789ab${'c'.repeat(52)}`;
    const dig = async (...args: string[]) =>
      (await ns.run(['dig', '@127.0.0.11', '+time=2', '+tries=1', ...args], { timeoutMs: 10_000 }))
        .stdout;

    beforeAll(async () => {
      const reply = await fwd.client.updateDNSMappings({
        networks: {
          front: {
            containers: [{ name: 'web', id, ipAddress: '198.51.100.10', aliases: ['www'] }],
          },
          back: {
            containers: [{ name: 'db', id: '', ipAddress: '203.0.113.11', aliases: ['database'] }],
          },
        },
        upstreamServers: [],
      });
      expect(reply.success).toBe(true);
    });

    it('answers A for container names, aliases and 12-character ids', async () => {
      expect((await dig('+short', 'web')).trim()).toBe('198.51.100.10');
      expect((await dig('+short', 'WWW.')).trim()).toBe('198.51.100.10');
      expect((await dig('+short', '0123456789ab')).trim()).toBe('198.51.100.10');
      expect((await dig('+short', 'database')).trim()).toBe('203.0.113.11');
      expect((await dig('+short', '+tcp', 'db')).trim()).toBe('203.0.113.11');
    });

    it('answers NODATA for AAAA of a known name', async () => {
      const out = await dig('web', 'AAAA');
      expect(out).toContain('status: NOERROR');
      expect(out).toMatch(/ANSWER: 0,/);
    });

    it('forwards unknown names to the upstream, which answers or says NXDOMAIN', async () => {
      expect((await dig('+short', 'elsewhere.example')).trim()).toBe('192.0.2.53');
      expect(await dig('nowhere.example')).toContain('status: NXDOMAIN');
    });

    it('answers every query without a timeout', async () => {
      // dig exits non-zero ("no servers could be reached") if any query times out.
      for (const name of ['web', 'nowhere.example', 'elsewhere.example', 'db']) {
        for (const type of ['A', 'AAAA', 'MX']) await dig(name, type);
      }
    });
  });

  it('detach removes the TAP and its data port; NOT_FOUND afterwards', async () => {
    expect((await fwd.client.detachNetwork({ device: 'eth1' })).success).toBe(true);
    expect(await linkNames(ns)).not.toContain('eth1');
    expect(existsSync(join(dir, '20002.sock'))).toBe(false);
    expect((await fwd.client.listNetworks({})).networks.map((n) => n.device)).toEqual(['eth0']);
    expect(await statusOf(fwd.client.detachNetwork({ device: 'eth1' }))).toBe('NOT_FOUND');
  });

  it('a device detached while its relay runs can be attached again at once', async () => {
    for (let round = 0; round < 5; round++) {
      await fwd.client.attachNetwork(eth1);
      const peer = await FramePeer.connect(join(dir, `${eth1.vsockPort}.sock`));
      peer.send(arpRequest(PEER_MAC, '203.0.113.1', eth1.ipAddress));
      await peer.waitFor((f) => isArpReply(f, PEER_MAC, eth1.ipAddress));
      await fwd.client.detachNetwork({ device: 'eth1' });
      peer.close();
    }
    expect(await linkNames(ns)).not.toContain('eth1');
  });
});
