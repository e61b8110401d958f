import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkNamespace, runCommand } from '../../packages/lab/dist/index.js';
import { dialStream, type FrameRelay, Relay, TapDevice } from '../../packages/vsock/dist/index.js';
import { type ForwarderProcess, ipJson, startForwarderProcess } from './harness.js';

/**
 * DHCP mode (issue 5): a device attached without an address gets its lease
 * from busybox udhcpd in a peer namespace. The test plays the host: it dials
 * the device's data port and relays it to a TAP that it moves into the peer
 * namespace, where udhcpd serves 192.0.2.0/24.
 */
const tag = `anf${process.pid % 100_000}`;

describe('forwarder DHCP client mode', () => {
  let vm: NetworkNamespace;
  let peer: NetworkNamespace;
  let dir: string;
  let fwd: ForwarderProcess;
  let tap: TapDevice | undefined;
  let relay: FrameRelay | undefined;
  let udhcpd: ChildProcess | undefined;

  beforeAll(async () => {
    vm = await NetworkNamespace.create(`${tag}-dv`);
    peer = await NetworkNamespace.create(`${tag}-dp`);
    dir = mkdtempSync(`/tmp/${tag}-dhcp-`);
    fwd = await startForwarderProcess(vm, dir, ['--dns', 'off']);
  });

  afterAll(async () => {
    relay?.close();
    tap?.close();
    udhcpd?.kill('SIGTERM');
    await fwd?.stop();
    await vm?.delete();
    await peer?.delete();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('obtains a lease once the host connects and installs address and default route', async () => {
    const reply = await fwd.client.attachNetwork({
      device: 'eth0',
      vsockPort: 20011,
      ipAddress: '',
      gateway: '',
      netmask: 0,
      macAddress: '02:00:5e:20:00:01',
      defaultRoute: true,
      mtu: 0,
    });
    expect(reply.ipAddress).toBe(''); // DHCP runs only after the relay starts

    // The "host" side: a TAP in the peer namespace with udhcpd behind it.
    const tapName = `${tag}d`;
    tap = TapDevice.create(tapName, { mac: '02:00:5e:20:00:fe' });
    await runCommand(['ip', 'link', 'set', tapName, 'netns', peer.name]);
    await peer.ip(['addr', 'add', '192.0.2.1/24', 'dev', tapName]);
    await peer.ip(['link', 'set', tapName, 'up']);
    const conf = join(dir, 'udhcpd.conf');
    writeFileSync(join(dir, 'udhcpd.leases'), '');
    writeFileSync(
      conf,
      [
        'start 192.0.2.100',
        'end 192.0.2.110',
        `interface ${tapName}`,
        `lease_file ${join(dir, 'udhcpd.leases')}`,
        `pidfile ${join(dir, 'udhcpd.pid')}`,
        'opt subnet 255.255.255.0',
        'opt router 192.0.2.1',
        'opt lease 3600',
        '',
      ].join('\n'),
    );
    udhcpd = spawn('ip', ['netns', 'exec', peer.name, 'busybox', 'udhcpd', '-f', conf], {
      stdio: 'ignore',
    });
    const socket = await dialStream({ kind: 'unixdir', dir }, 20011);
    relay = Relay.open({ kind: 'tap', fd: tap.dupFd() }, { kind: 'stream', fd: socket.detachFd() });

    await expect
      .poll(async () => (await fwd.client.listNetworks({})).networks[0]?.ipAddress, {
        timeout: 30_000,
        interval: 200,
      })
      .toMatch(/^192\.0\.2\.1(0\d|10)$/);
    const [info] = (await fwd.client.listNetworks({})).networks;
    expect(info).toMatchObject({ prefixLength: 24, gateway: '192.0.2.1', connected: true });
    const addrs = (await ipJson(vm, ['-4', 'addr', 'show', 'dev', 'eth0'])) as {
      addr_info: { local: string; prefixlen: number }[];
    }[];
    expect(addrs[0]?.addr_info).toEqual([
      expect.objectContaining({ local: info?.ipAddress, prefixlen: 24 }),
    ]);
    const routes = (await ipJson(vm, ['route', 'show', 'default'])) as {
      gateway: string;
      dev: string;
    }[];
    expect(routes).toEqual([expect.objectContaining({ gateway: '192.0.2.1', dev: 'eth0' })]);
  });
});
