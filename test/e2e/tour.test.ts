/**
 * The demo's scenarios as assertions, on one lab: two networks, three
 * containers (api on both), DNS scoped to each network, isolation,
 * connect/disconnect at run time, relay counters, bad input, and a
 * `lab down` that leaves nothing behind.
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkInspect } from '../../packages/host/dist/index.js';
import { type LabContainer, runCommand } from '../../packages/lab/dist/index.js';
import { LabHarness, pingReplies } from './harness.js';

const lab = new LabHarness('tour');
let rootLinksBefore = '';

async function rootLinks(): Promise<string> {
  const out = await runCommand(['ip', '-o', 'link', 'show']);
  return out.stdout
    .split('\n')
    .map((line) => line.split(':')[1]?.trim() ?? '')
    .sort()
    .join(' ');
}

async function container(name: string): Promise<LabContainer> {
  const all = await lab.json<LabContainer[]>('lab', 'ps');
  const found = all.find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

function ipOn(view: LabContainer, network: string): string {
  return view.attachments.find((a) => a.networkName === network)?.ip ?? '';
}

async function ping(from: string, target: string, count = 2): Promise<number> {
  const result = await lab.exec(from, 'ping', '-c', String(count), '-W', '1', '-i', '0.2', target);
  return pingReplies(result.stdout);
}

async function resolve(from: string, name: string): Promise<string | undefined> {
  const result = await lab.exec(from, 'getent', 'hosts', name);
  return result.code === 0 ? result.stdout.split(/\s+/)[0] : undefined;
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] ?? '';
}

beforeAll(async () => {
  rootLinksBefore = await rootLinks();
  const up = await lab.cli('lab', 'up');
  if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr}`);
  await lab.ok('network', 'create', 'front');
  await lab.ok('network', 'create', '--subnet', '10.77.0.0/24', '--label', 'tier=data', 'back');
  await lab.ok('lab', 'run', '--network', 'front', 'web');
  await lab.ok('lab', 'run', '--network', 'back', 'db');
  await lab.ok('lab', 'run', '--network', 'front', '--alias', 'apisrv', 'api');
  await lab.ok('network', 'connect', 'back', 'api');
});

afterAll(async () => {
  await lab.down();
});

describe('the lab tour', () => {
  it('lists both networks with their subnets and labels', async () => {
    const networks = await lab.json<NetworkInspect[]>('network', 'ls');
    expect(networks.map((n) => n.Name).sort()).toEqual(['back', 'bridge', 'front']);
    const [back] = await lab.json<NetworkInspect[]>('network', 'inspect', 'back');
    expect(back?.Labels).toEqual({ tier: 'data' });
    expect(back?.IPAM.Config[0]?.Subnet).toBe('10.77.0.0/24');
  });

  it("network inspect prints Docker's own object: its keys, in its order, and Driver bridge", async () => {
    const [front] = await lab.json<Array<Record<string, unknown>>>('network', 'inspect', 'front');
    expect(Object.keys(front ?? {})).toEqual([
      ...['Name', 'Id', 'Created', 'Scope', 'Driver', 'EnableIPv6', 'IPAM', 'Internal'],
      ...['Attachable', 'Ingress', 'ConfigFrom', 'ConfigOnly', 'Containers', 'Options', 'Labels'],
    ]);
    expect(front?.Driver).toBe('bridge');
    const ls = await lab.ok('network', 'ls');
    expect(ls.split('\n')[0]?.split(/\s{3,}/)).toEqual([
      ...['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'GATEWAY', 'INTERNAL', 'CONTAINERS'],
    ]);
    expect(ls).toMatch(
      / {3}front {3,}bridge {3,}172\.\d+\.0\.0\/16 {3,}172\.\d+\.0\.1 {3,}no {3,}2\n/,
    );
  });

  it('gives every container an address in its networks, api one on each', async () => {
    const api = await container('api');
    expect(api.attachments.map((a) => [a.networkName, a.device]).sort()).toEqual([
      ['back', 'eth1'],
      ['front', 'eth0'],
    ]);
    expect(ipOn(api, 'back')).toMatch(/^10\.77\.0\.\d+$/);
    const all = await lab.json<LabContainer[]>('lab', 'ps');
    const ips = all.flatMap((c) => c.attachments.map((a) => a.ip));
    expect(new Set(ips).size).toBe(ips.length);
    const inspect = await lab.json<NetworkInspect[]>('network', 'inspect', 'front');
    expect(
      Object.values(inspect[0]?.Containers ?? {})
        .map((c) => c.Name)
        .sort(),
    ).toEqual(['api', 'web']);
  });

  it("OVN's DHCP, asked through the relays, leases every container exactly its address", async () => {
    for (const c of await lab.json<LabContainer[]>('lab', 'ps')) {
      for (const a of c.attachments) {
        // -s /bin/true: a lease query that configures nothing.
        const result = await lab.exec(
          c.name,
          ...['busybox', 'udhcpc', '-i', a.device, '-f', '-q', '-n', '-t', '5', '-T', '1'],
          ...['-s', '/bin/true'],
        );
        const lease = /lease of ([\d.]+) obtained/.exec(result.stderr + result.stdout)?.[1];
        expect(lease, `${c.name} ${a.device}`).toBe(a.ip);
      }
    }
  });

  it('pings by name within a network, and by alias', async () => {
    expect(await ping('web', 'api')).toBeGreaterThan(0);
    expect(await ping('api', 'db')).toBeGreaterThan(0);
    expect(await ping('db', 'api')).toBeGreaterThan(0);
    expect(await ping('web', 'apisrv')).toBeGreaterThan(0);
  });

  it('a container on two networks resolves names only within each network', async () => {
    const api = await container('api');
    expect(await resolve('web', 'api')).toBe(ipOn(api, 'front'));
    expect(await resolve('db', 'api')).toBe(ipOn(api, 'back'));
    expect(await resolve('api', 'db')).toBe(ipOn(await container('db'), 'back'));
    expect(await resolve('api', 'web')).toBe(ipOn(await container('web'), 'front'));
    expect(await resolve('web', 'db')).toBeUndefined();
    expect(await resolve('db', 'web')).toBeUndefined();
  });

  it('isolates the networks: web cannot reach db by address', async () => {
    const dbIp = ipOn(await container('db'), 'back');
    expect(await ping('web', dbIp)).toBe(0);
  });

  it("reaches the lab's outside namespace through the network's router, from its external (SNAT) address", async () => {
    expect(await ping('web', '198.51.100.1')).toBeGreaterThan(0);
    const peer = fileURLToPath(new URL('../tcp-peer.mjs', import.meta.url));
    const outside = `${lab.prefix}-outside`;
    const listener = spawn(
      'ip',
      ['netns', 'exec', outside, process.execPath, peer, 'listen', '7000'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((ready, fail) => {
        listener.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('listening')) ready();
        });
        listener.once('exit', (code) => fail(new Error(`listener exited ${code}`)));
      });
      const result = await lab.exec(
        'web',
        process.execPath,
        peer,
        'connect',
        '198.51.100.1',
        '7000',
      );
      expect(result.stdout.trim()).toMatch(/^from 198\.51\.100\.(\d+)$/);
      expect(result.stdout.trim()).not.toBe('from 198.51.100.1');
    } finally {
      listener.kill('SIGKILL');
    }
  });

  it('connect at run time makes db reachable, disconnect removes it at once', async () => {
    await lab.ok('network', 'connect', 'back', 'web');
    expect(await ping('web', 'db')).toBeGreaterThan(0);
    const dbIp = ipOn(await container('db'), 'back');
    await lab.ok('network', 'disconnect', 'back', 'web');
    expect(await ping('web', dbIp, 1)).toBe(0);
    expect((await container('web')).attachments.map((a) => a.networkName)).toEqual(['front']);
  });

  it('counts frames in both directions on the relays', async () => {
    await ping('web', 'api', 3);
    const stats = await lab.json<LabContainer>('lab', 'stats', 'api');
    const front = stats.attachments.find((a) => a.networkName === 'front');
    expect(front?.relay?.connected).toBe(true);
    expect(front?.relay?.toHelper.frames).toBeGreaterThan(0);
    expect(front?.relay?.toContainer.frames).toBeGreaterThan(0);
  });

  it('lab exec passes the exit code through', async () => {
    expect((await lab.exec('web', 'sh', '-c', 'exit 7')).code).toBe(7);
    expect((await lab.exec('web', 'true')).code).toBe(0);
  });
});

describe('static addresses, aliases and the default network', () => {
  it('lab run --ip --alias gives that address and name, and refuses a taken address', async () => {
    await lab.ok(
      'lab',
      'run',
      '--network',
      'back',
      '--ip',
      '10.77.0.50',
      '--alias',
      'cache',
      'redis',
    );
    expect(ipOn(await container('redis'), 'back')).toBe('10.77.0.50');
    expect(await resolve('api', 'cache')).toBe('10.77.0.50');
    expect(await ping('db', 'redis')).toBeGreaterThan(0);
    const before = await lab.namespaces();
    const taken = await lab.cli('lab', 'run', '--network', 'back', '--ip', '10.77.0.50', 'clash');
    expect(taken.code).toBe(1);
    expect(oneLine(taken.stderr)).toBe('Error response from daemon: Address already in use');
    expect(await lab.namespaces()).toEqual(before);
    await lab.ok('lab', 'rm', 'redis');
  });

  it("lab run without --network uses the lab's bridge network", async () => {
    await lab.ok('lab', 'run', 'solo');
    const solo = await container('solo');
    expect(solo.attachments.map((a) => a.networkName)).toEqual(['bridge']);
    expect(ipOn(solo, 'bridge')).toMatch(/^172\.17\.0\.\d+$/);
    await lab.ok('lab', 'rm', 'solo');
  });
});

describe('bad input: one clear line, a non-zero exit, nothing half-made', () => {
  it('refuses a duplicate network name', async () => {
    const result = await lab.cli('network', 'create', 'front');
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toBe(
      'Error response from daemon: network with name front already exists',
    );
  });

  it('refuses an unknown network for lab run and creates no namespace', async () => {
    const before = await lab.namespaces();
    const result = await lab.cli('lab', 'run', '--network', 'nowhere', 'ghost');
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toContain('network nowhere not found');
    expect(await lab.namespaces()).toEqual(before);
  });

  it('refuses a duplicate container name and creates no namespace', async () => {
    const before = await lab.namespaces();
    const result = await lab.cli('lab', 'run', '--network', 'front', 'web');
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toContain('The container name "/web" is already in use');
    expect(await lab.namespaces()).toEqual(before);
  });

  it('names the unknown container or network in connect and disconnect', async () => {
    const unknownContainer = await lab.cli('network', 'connect', 'front', 'nobody');
    expect(unknownContainer.code).toBe(1);
    expect(oneLine(unknownContainer.stderr)).toBe(
      'Error response from daemon: No such container: nobody',
    );
    const unknownNetwork = await lab.cli('network', 'disconnect', 'nowhere', 'web');
    expect(unknownNetwork.code).toBe(1);
    expect(oneLine(unknownNetwork.stderr)).toContain('network nowhere not found');
    const notConnected = await lab.cli('network', 'disconnect', 'back', 'web');
    expect(notConnected.code).toBe(1);
    expect(oneLine(notConnected.stderr)).toContain('is not connected to network back');
  });

  it('refuses to connect a container twice to one network', async () => {
    const result = await lab.cli('network', 'connect', 'front', 'web');
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toContain(
      'endpoint with name web already exists in network front',
    );
  });

  it('refuses to remove a network with endpoints', async () => {
    const result = await lab.cli('network', 'rm', 'front');
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toContain('has active endpoints');
  });

  it('refuses lab up while the lab runs, and the lab stays healthy', async () => {
    const result = await lab.cli('lab', 'up');
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toContain('already running');
    expect((await lab.cli('lab', 'status')).code).toBe(0);
  });

  it('lab exec of an unknown container fails with one line', async () => {
    const result = await lab.exec('nobody', 'true');
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toContain('No such container: nobody');
  });
});

describe('removal', () => {
  it('lab rm removes the container and its namespace', async () => {
    const web = await container('web');
    await lab.ok('lab', 'rm', 'web');
    expect(await lab.namespaces()).not.toContain(web.namespace);
    expect((await lab.json<LabContainer[]>('lab', 'ps')).map((c) => c.name).sort()).toEqual([
      'api',
      'db',
    ]);
  });

  it('lab down leaves no namespace, process, socket, directory or link behind', async () => {
    const result = await lab.cli('lab', 'down');
    expect(result.code).toBe(0);
    expect(await lab.namespaces()).toEqual([]);
    expect(await lab.processes()).toEqual([]);
    await expect(access(lab.dir)).rejects.toThrow();
    expect(await rootLinks()).toBe(rootLinksBefore);
    expect((await lab.cli('lab', 'down')).code).toBe(0);
  });
});
