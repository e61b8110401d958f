/**
 * OvsNetworkBackend against FAKE NetworkControl and TAPForwarder gRPC servers
 * (real nice-grpc servers on Unix sockets, see fake-vms.ts): call order,
 * rollback at every step, DNS snapshots, Docker's errors, port/device
 * consistency over cycles, restart and reconcile. The data path is the real
 * one (native relays of @arca-net/vsock over `unixdir:` sockets); the real
 * controller and forwarder are exercised in test/host/.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerError, Status } from 'nice-grpc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OvsNetworkBackend, type OvsNetworkBackendOptions } from '../src/backend.js';
import { connectNetworkControl } from '../src/clients.js';
import { isBackendError } from '../src/errors.js';
import { ID, rejection, startFakeVm } from './fake-backend.js';
import { FakeForwarder, FakeHelper } from './fake-vms.js';

let root: string;
let calls: string[];
let helper: FakeHelper;
let vms: Map<string, FakeForwarder>;
let backend: OvsNetworkBackend | undefined;
const extra: OvsNetworkBackend[] = [];

function options(helperWatchMs = 0): OvsNetworkBackendOptions {
  return {
    stateFile: join(root, 'state.db'),
    helper: { kind: 'unixdir', dir: join(root, 'helper') },
    helperWatchMs,
    client: { deadlineMs: 3000, retryUnavailableMs: 500 },
    bridge: {
      retry: { attempts: 3, initialDelayMs: 5, maxDelayMs: 20 },
      dialTimeoutMs: 500,
    },
  };
}

async function open(helperWatchMs = 0): Promise<OvsNetworkBackend> {
  const b = await OvsNetworkBackend.open(options(helperWatchMs));
  extra.push(b);
  return b;
}

/** Starts a FAKE container VM and registers it as running. */
async function startVm(b: OvsNetworkBackend, n: number, name: string): Promise<FakeForwarder> {
  return startFakeVm(b, { root, calls, n, name, started: (vm) => vms.set(name, vm) });
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'arca-host-fake-'));
  calls = [];
  vms = new Map();
  helper = new FakeHelper(join(root, 'helper'), calls);
  await helper.start();
  backend = await open();
});

afterEach(async () => {
  for (const b of extra.splice(0)) await b.close();
  backend = undefined;
  for (const vm of vms.values()) await vm.stop();
  await helper.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('networks', () => {
  it('create picks the first free default pool and the first host as gateway', async () => {
    const b = backend!;
    const a = await b.createNetwork({ name: 'front', labels: { team: 'x' } });
    expect(a).toMatchObject({
      Name: 'front',
      IPAM: { Config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }] },
    });
    expect(a.Id).toMatch(/^[0-9a-f]{64}$/);
    const c = await b.createNetwork({ name: 'back' });
    expect(c.IPAM.Config[0]?.Subnet).toBe('172.19.0.0/16');
    expect(helper.bridges.get(a.Id)?.request).toMatchObject({
      name: 'front',
      subnet: '172.18.0.0/16',
      gateway: '172.18.0.1',
      labels: { team: 'x' },
    });
    expect((await b.listNetworks()).map((n) => n.Name)).toEqual(['front', 'back']);
    await b.removeNetwork('front');
    expect(helper.bridges.has(a.Id)).toBe(false);
    expect((await b.listNetworks()).map((n) => n.Name)).toEqual(['back']);
  });

  it('a helper failure on create leaves no network behind', async () => {
    const b = backend!;
    helper.failures.set('CreateBridge', new ServerError(Status.INTERNAL, 'ovn-nbctl exploded'));
    const err = await rejection(b.createNetwork({ name: 'front' }));
    expect(isBackendError(err, 'HELPER_FAILED')).toBe(true);
    expect(err.message).toMatch(/ovn-nbctl exploded/);
    expect(await b.listNetworks()).toEqual([]);
    await b.createNetwork({ name: 'front' });
  });

  it('no free external address on the helper is its own error, not a pool overlap, and leaves no network', async () => {
    const b = backend!;
    const words = 'no free address left in the external network 192.0.2.0/30';
    helper.failures.set('CreateBridge', new ServerError(Status.RESOURCE_EXHAUSTED, words));
    const err = await rejection(b.createNetwork({ name: 'front' }));
    expect(err).toMatchObject({ code: 'EXTERNAL_ADDRESSES_EXHAUSTED', kind: 'forbidden' });
    expect(err.message).toContain(words);
    expect(err.message).not.toContain('Pool overlaps');
    expect(await b.listNetworks()).toEqual([]);
    expect(helper.bridges.size).toBe(0);
  });
});

describe('a closed backend', () => {
  it('refuses reads and changes with CLOSED, not a database error', async () => {
    const b = await open();
    await b.createNetwork({ name: 'before-close' });
    await b.close();
    for (const call of [
      b.listNetworks(),
      b.inspectNetwork('before-close'),
      b.listAttachments(),
      b.createNetwork({ name: 'after-close' }),
    ]) {
      expect(await rejection(call)).toMatchObject({ code: 'CLOSED' });
    }
  });
});

describe('inspect', () => {
  it("is Docker 20.10's object and nothing else, with the MTU in Options", async () => {
    const b = backend!;
    const net = await b.createNetwork({
      name: 'front',
      subnet: '10.20.0.0/24',
      gateway: '10.20.0.254',
      ipRange: '10.20.0.128/25',
      internal: true,
      mtu: 1400,
      labels: { team: 'x' },
      options: { 'com.example.colour': 'blue' },
    });
    await startVm(b, 1, 'one');
    const att = await b.connect('one', 'front', { aliases: ['db'] });
    const inspect = await b.inspectNetwork('front');
    expect(inspect).toEqual({
      Name: 'front',
      Id: net.Id,
      Created: net.Created,
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: false,
      IPAM: {
        Driver: 'default',
        Options: {},
        Config: [{ Subnet: '10.20.0.0/24', Gateway: '10.20.0.254', IPRange: '10.20.0.128/25' }],
      },
      Internal: true,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: {
        [ID(1)]: {
          Name: 'one',
          EndpointID: expect.stringMatching(/^[0-9a-f]{64}$/),
          MacAddress: att.mac,
          IPv4Address: `${att.ip}/24`,
          IPv6Address: '',
        },
      },
      Options: { 'com.example.colour': 'blue', 'com.docker.network.driver.mtu': '1400' },
      Labels: { team: 'x' },
    });
    expect(Date.parse(inspect.Created)).not.toBeNaN();
    expect(helper.bridges.get(net.Id)?.request.mtu).toBe(1400);
    // The endpoint id is stable per (container, network).
    const again = await b.listNetworks();
    expect(again[0]?.Containers[ID(1)]?.EndpointID).toBe(inspect.Containers[ID(1)]?.EndpointID);
  });

  it('a network without an MTU or ip-range shows neither', async () => {
    const b = backend!;
    const net = await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    expect(net.IPAM.Config).toEqual([{ Subnet: '10.20.0.0/24', Gateway: '10.20.0.1' }]);
    expect(net.Options).toEqual({});
    const viaOption = await b.createNetwork({
      name: 'back',
      subnet: '10.21.0.0/24',
      options: { 'com.docker.network.driver.mtu': '9000' },
    });
    expect(viaOption.Options).toEqual({ 'com.docker.network.driver.mtu': '9000' });
    expect(helper.bridges.get(viaOption.Id)?.request.mtu).toBe(9000);
  });
});

describe("Docker's errors", () => {
  it('every bad request fails with Docker wording and changes nothing', async () => {
    const b = backend!;
    const net = await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    await startVm(b, 1, 'one');
    await startVm(b, 2, 'two');
    await b.connect('one', 'front', { ip: '10.20.0.10' });
    const before = { calls: calls.length, atts: await b.listAttachments() };

    const table: Array<[Promise<unknown>, string]> = [
      [b.createNetwork({ name: 'front' }), 'network with name front already exists'],
      [
        b.createNetwork({ name: 'other', subnet: '10.20.0.128/25' }),
        'Pool overlaps with other one on this address space',
      ],
      [
        b.createNetwork({ name: 'other', subnet: '10.30.0.0/24', gateway: '10.31.0.1' }),
        "invalid gateway 10.31.0.1: parent subnet 10.30.0.0/24 doesn't contain this address",
      ],
      [b.inspectNetwork('nope'), 'network nope not found'],
      [b.removeNetwork('nope'), 'network nope not found'],
      [
        b.removeNetwork('front'),
        `error while removing network: network front id ${net.Id} has active endpoints`,
      ],
      [b.connect('one', 'front'), 'endpoint with name one already exists in network front'],
      [b.disconnect('two', 'front'), 'container two is not connected to network front'],
      [b.connect('two', 'front', { ip: '10.20.0.10' }), 'Address already in use'],
      [b.connect('two', 'front', { ip: '10.20.0.1' }), 'Address already in use'],
      [
        b.connect('two', 'front', { ip: '10.99.0.5' }),
        'no configured subnet or ip-range contain the IP address 10.99.0.5',
      ],
      [
        b.connect('two', 'front', { mac: '01:00:5e:00:00:01' }),
        'invalid MAC address 01:00:5e:00:00:01: multicast addresses cannot be assigned to an interface',
      ],
      [b.connect('ghost', 'front'), 'No such container: ghost'],
      [
        b.registerContainer({ id: 'xyz', name: 'three', endpoint: { kind: 'unixdir', dir: root } }),
        'invalid container id "xyz": expected 64 hex digits',
      ],
      [
        b.registerContainer({ id: ID(3), name: 'one', endpoint: { kind: 'unixdir', dir: root } }),
        `Conflict. The container name "/one" is already in use by container "${ID(1)}"`,
      ],
      [b.connect('two', 'ghost'), 'network ghost not found'],
    ];
    for (const [promise, message] of table) {
      const err = await rejection(promise);
      expect(isBackendError(err), message).toBe(true);
      expect(err.message).toBe(message);
    }
    expect(calls.length).toBe(before.calls);
    expect(await b.listAttachments()).toEqual(before.atts);
  });
});

describe('connect', () => {
  it('calls helper, then forwarder, then relays, then pushes DNS, and frames flow', async () => {
    const b = backend!;
    const net = await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    const one = await startVm(b, 1, 'one');
    calls.length = 0;
    const att = await b.connect('one', 'front', { aliases: ['db'] });
    expect(calls).toEqual([
      'helper.AttachContainer one front',
      'one.AttachNetwork eth0',
      'one.UpdateDNSMappings',
      'one.SetDefaultRoute eth0',
    ]);
    expect(att).toMatchObject({
      device: 'eth0',
      ip: '10.20.0.2',
      prefixLength: 24,
      gateway: '10.20.0.1',
      status: 'ready',
      aliases: ['db'],
    });
    expect(att.mac).toMatch(/^02:42:/);
    expect(att.port).toBeGreaterThanOrEqual(20000);
    const req = one.devices.get('eth0')?.request;
    expect(req).toMatchObject({
      vsockPort: att.port,
      ipAddress: '10.20.0.2',
      gateway: '10.20.0.1',
      netmask: 24,
      macAddress: att.mac,
      defaultRoute: true,
    });
    const ep = helper.endpoint(net.Id, ID(1));
    expect(ep).toMatchObject({ ip: '10.20.0.2', mac: att.mac, port: att.port, aliases: ['db'] });
    expect(one.lastDns()).toEqual({ front: ['one=10.20.0.2'] });

    // Frames cross the bridge both ways.
    const containerSide = one.devices.get('eth0')!.data;
    const helperSide = ep!.data;
    await waitFor(() => containerSide.accepted === 1 && helperSide.accepted === 1);
    containerSide.send(Buffer.from('to-helper'));
    helperSide.send(Buffer.from('to-container'));
    await waitFor(() => helperSide.received.length === 1 && containerSide.received.length === 1);
    expect(helperSide.received[0]?.toString()).toBe('to-helper');
    expect(containerSide.received[0]?.toString()).toBe('to-container');

    const inspect = await b.inspectNetwork('front');
    expect(inspect.Containers[ID(1)]).toMatchObject({
      Name: 'one',
      MacAddress: att.mac,
      IPv4Address: '10.20.0.2/24',
    });
    const listed = (await b.listAttachments()).find((x) => x.containerId === ID(1));
    expect(listed?.aliases).toEqual(['db']);
  });

  it('the second network gets eth1 and, sorting first, the default route (Docker); peers get DNS snapshots', async () => {
    const b = backend!;
    await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    await b.createNetwork({ name: 'back', subnet: '10.21.0.0/24' });
    const one = await startVm(b, 1, 'one');
    const two = await startVm(b, 2, 'two');
    await b.connect('one', 'front');
    const second = await b.connect('one', 'back');
    expect(second.device).toBe('eth1');
    expect(one.devices.get('eth1')?.request.defaultRoute).toBe(true);
    expect(one.defaultRoute).toEqual({ device: 'eth1', gateway: '10.21.0.1' });
    await b.connect('two', 'front', { aliases: ['api'] });
    expect(one.lastDns()).toEqual({
      back: ['one=10.21.0.2'],
      front: ['one=10.20.0.2', 'two=10.20.0.3'],
    });
    expect(two.lastDns()).toEqual({ front: ['one=10.20.0.2', 'two=10.20.0.3'] });
    expect(
      two.dnsSnapshots.at(-1)?.networks.front?.containers.find((c) => c.name === 'two')?.aliases,
    ).toEqual(['api']);
    await b.disconnect('two', 'front');
    expect(one.lastDns()).toEqual({ back: ['one=10.21.0.2'], front: ['one=10.20.0.2'] });
    expect(two.lastDns()).toEqual({});
  });

  const steps: Array<{ step: string; inject: () => void; expected: string[] }> = [
    {
      step: 'helper AttachContainer',
      inject: () =>
        helper.failures.set('AttachContainer', new ServerError(Status.INTERNAL, 'boom')),
      expected: ['helper.AttachContainer one front', 'helper.DetachContainer one front'],
    },
    {
      step: 'forwarder AttachNetwork',
      inject: () =>
        vms.get('one')!.failures.set('AttachNetwork', new ServerError(Status.INTERNAL, 'boom')),
      expected: [
        'helper.AttachContainer one front',
        'one.AttachNetwork eth0',
        'one.DetachNetwork eth0',
        'helper.DetachContainer one front',
      ],
    },
    {
      step: 'relay',
      inject: () => {
        helper.bindData = false;
      },
      expected: [
        'helper.AttachContainer one front',
        'one.AttachNetwork eth0',
        'one.DetachNetwork eth0',
        'helper.DetachContainer one front',
      ],
    },
    {
      step: 'DNS push',
      inject: () =>
        vms.get('one')!.failures.set('UpdateDNSMappings', new ServerError(Status.INTERNAL, 'boom')),
      expected: [
        'helper.AttachContainer one front',
        'one.AttachNetwork eth0',
        'one.UpdateDNSMappings',
        'one.DetachNetwork eth0',
        'helper.DetachContainer one front',
      ],
    },
  ];
  for (const { step, inject, expected } of steps) {
    it(`a failure at ${step} rolls every earlier step back in reverse`, async () => {
      const b = backend!;
      const net = await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
      const one = await startVm(b, 1, 'one');
      inject();
      calls.length = 0;
      await rejection(b.connect('one', 'front'));
      expect(calls).toEqual(expected);
      expect(await b.listAttachments()).toEqual([]);
      expect(helper.endpoint(net.Id, ID(1))).toBeUndefined();
      expect(one.devices.size).toBe(0);
      // Everything is free again: the next connect works and reuses eth0.
      helper.bindData = true;
      const att = await b.connect('one', 'front');
      expect(att).toMatchObject({ device: 'eth0', ip: '10.20.0.2', status: 'ready' });
    });
  }

  it('connect/disconnect cycles keep ports unique and devices reused', async () => {
    const b = backend!;
    await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    await b.createNetwork({ name: 'back', subnet: '10.21.0.0/24' });
    const one = await startVm(b, 1, 'one');
    await b.connect('one', 'back');
    const seen = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const att = await b.connect('one', 'front');
      expect(att.device).toBe('eth1');
      expect(att.ip).toBe('10.20.0.2');
      const ports = (await b.listAttachments()).map((a) => a.port);
      expect(new Set(ports).size).toBe(ports.length);
      seen.add(att.port!);
      await b.disconnect('one', 'front');
      expect(one.devices.has('eth1')).toBe(false);
    }
    expect(seen.size).toBe(5);
    expect((await b.listAttachments()).map((a) => a.device)).toEqual(['eth0']);
  });
});

describe('default route (Docker: non-internal, --gw-priority, then name)', () => {
  it('moves with connect, priority and disconnect; internal networks never carry it', async () => {
    const b = backend!;
    await b.createNetwork({ name: 'inner', subnet: '10.30.0.0/24', internal: true });
    await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    await b.createNetwork({ name: 'zeta', subnet: '10.21.0.0/24' });
    const one = await startVm(b, 1, 'one');
    await b.connect('one', 'inner');
    expect(one.devices.get('eth0')?.request.defaultRoute).toBe(false);
    expect(one.defaultRoute).toBeUndefined();
    await b.connect('one', 'zeta');
    expect(one.defaultRoute).toEqual({ device: 'eth1', gateway: '10.21.0.1' });
    await b.connect('one', 'front');
    expect(one.defaultRoute).toEqual({ device: 'eth2', gateway: '10.20.0.1' });
    await b.disconnect('one', 'front');
    expect(one.defaultRoute).toEqual({ device: 'eth1', gateway: '10.21.0.1' });
    await b.connect('one', 'front');
    await b.disconnect('one', 'zeta');
    await b.connect('one', 'zeta', { gwPriority: 10 });
    expect(one.defaultRoute?.gateway).toBe('10.21.0.1');
    await b.disconnect('one', 'zeta');
    await b.disconnect('one', 'front');
    expect(one.defaultRoute).toBeUndefined();
    await expect(b.connect('one', 'front', { gwPriority: 1.5 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
  });
});

describe('lifecycle and restarts', () => {
  it('stop releases ports and helper state; start restores the same device, IP and MAC', async () => {
    const b = backend!;
    const net = await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    await b.createNetwork({ name: 'back', subnet: '10.21.0.0/24' });
    let one = await startVm(b, 1, 'one');
    const first = await b.connect('one', 'front', { ip: '10.20.0.50' });
    const second = await b.connect('one', 'back');
    await b.containerStopped('one');
    await one.stop();
    expect(helper.endpoint(net.Id, ID(1))).toBeUndefined();
    expect((await b.listAttachments()).map((a) => [a.status, a.port])).toEqual([
      ['stopped', null],
      ['stopped', null],
    ]);
    expect((await b.inspectNetwork('front')).Containers).toEqual({});
    // A new container cannot take the stopped one's address.
    await startVm(b, 2, 'two');
    await expect(b.connect('two', 'front', { ip: '10.20.0.50' })).rejects.toThrow(
      'Address already in use',
    );

    one = new FakeForwarder('one', join(root, 'vm-one'), calls);
    await one.start();
    vms.set('one', one);
    await b.containerStarted('one');
    const after = await b.listAttachments();
    const restored = after.filter((a) => a.containerName === 'one');
    expect(restored.map((a) => [a.device, a.ip, a.mac, a.status])).toEqual([
      ['eth0', '10.20.0.50', first.mac, 'ready'],
      ['eth1', second.ip, second.mac, 'ready'],
    ]);
    // Docker's rule: 'back' sorts before 'front'.
    expect(one.devices.get('eth0')?.request.defaultRoute).toBe(false);
    expect(one.devices.get('eth1')?.request.defaultRoute).toBe(true);
    expect(one.defaultRoute?.device).toBe('eth1');
    expect(helper.endpoint(net.Id, ID(1))?.ip).toBe('10.20.0.50');
  });

  it('connecting a stopped container records it and brings it up at start', async () => {
    const b = backend!;
    await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    const vm = new FakeForwarder('one', join(root, 'vm-one'), calls);
    vms.set('one', vm);
    await b.registerContainer({
      id: ID(1),
      name: 'one',
      endpoint: { kind: 'unixdir', dir: vm.dir },
    });
    calls.length = 0;
    const att = await b.connect('one', 'front');
    expect(att).toMatchObject({ status: 'stopped', port: null, ip: '10.20.0.2' });
    expect(calls).toEqual([]);
    await vm.start();
    await b.containerStarted('one');
    expect(vm.devices.get('eth0')?.request.ipAddress).toBe('10.20.0.2');
  });

  it('state survives a daemon restart, and reconcile replays a helper that lost everything', async () => {
    const b = backend!;
    const net = await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    const one = await startVm(b, 1, 'one');
    const att = await b.connect('one', 'front');
    await b.close();
    extra.splice(extra.indexOf(b), 1);

    // The helper VM restarts with an empty disk.
    await helper.stop();
    helper = new FakeHelper(join(root, 'helper'), calls);
    await helper.start();

    const again = await open();
    expect((await again.inspectNetwork('front')).Id).toBe(net.Id);
    await again.registerContainer({
      id: ID(1),
      name: 'one',
      endpoint: { kind: 'unixdir', dir: one.dir },
    });
    const report = await again.reconcile();
    expect(report).toMatchObject({ networks: 1, restored: 1, failures: [] });
    expect(helper.endpoint(net.Id, ID(1))).toMatchObject({
      ip: att.ip,
      mac: att.mac,
      port: att.port,
    });
    const [now] = await again.listAttachments();
    expect(now).toMatchObject({ ip: att.ip, mac: att.mac, port: att.port, status: 'ready' });
    // The relay is back: frames flow.
    const ep = helper.endpoint(net.Id, ID(1))!;
    await waitFor(() => ep.data.accepted === 1);
    ep.data.send(Buffer.from('hello'));
    await waitFor(() => one.devices.get('eth0')!.data.received.length === 1);
  });

  it('reconcile removes networks and endpoints the state does not know', async () => {
    const b = backend!;
    await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    helper.bridges.set('orphan', {
      request: {
        networkId: 'orphan',
        subnet: '10.99.0.0/24',
        gateway: '10.99.0.1',
        name: 'orphan',
        internal: false,
        ipRange: '',
        dnsUpstreams: [],
        mtu: 0,
        labels: {},
        driver: '',
        router: '',
      },
      endpoints: new Map(),
    });
    const report = await b.reconcile();
    expect(report.orphansRemoved).toBe(1);
    expect([...helper.bridges.values()].map((x) => x.request.name)).toEqual(['front']);
  });

  it('reconcile detaches an endpoint of a known network that the state does not know', async () => {
    const b = backend!;
    const net = await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    await startVm(b, 1, 'one');
    await b.connect('one', 'front');
    // An attachment the host never made (or forgot in a crash): a third container.
    const ghost = ID(7);
    const conn = await connectNetworkControl({ kind: 'unixdir', dir: join(root, 'helper') });
    try {
      await conn.client.attachContainer({
        containerId: ghost,
        networkId: net.Id,
        macAddress: '02:00:00:00:00:77',
        vsockPort: 20077,
      });
    } finally {
      await conn.close();
    }
    const report = await b.reconcile();
    expect(report).toMatchObject({ orphansRemoved: 1, failures: [] });
    expect([...(helper.bridges.get(net.Id)?.endpoints.keys() ?? [])]).toEqual([ID(1)]);
  });

  it('a helper that restarted between two health polls (uptime went back) is reconciled by itself', async () => {
    await backend!.close();
    extra.splice(extra.indexOf(backend!), 1);
    const b = await open(100);
    const net = await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    await startVm(b, 1, 'one');
    const att = await b.connect('one', 'front');
    // Let the watch take in an uptime of 100 s (a poll starts only after the
    // previous one is handled, so two more polls mean one was handled), then
    // restart without going down.
    const polls = helper.healthPolls;
    await waitFor(() => helper.healthPolls >= polls + 2);
    helper.restartInPlace();
    expect(helper.bridges.size).toBe(0);
    await waitFor(() => helper.endpoint(net.Id, ID(1)) !== undefined);
    expect(helper.endpoint(net.Id, ID(1))).toMatchObject({ ip: att.ip, mac: att.mac });
  });

  it('a broken relay is re-dialled while the attachment exists', async () => {
    const b = backend!;
    const net = await b.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
    const one = await startVm(b, 1, 'one');
    await b.connect('one', 'front');
    const ep = helper.endpoint(net.Id, ID(1))!;
    await waitFor(() => ep.data.accepted === 1);
    ep.data.current?.destroy();
    await waitFor(() => ep.data.accepted === 2);
    const [att] = await b.listAttachments();
    expect(att?.relay?.connects).toBe(2);
    ep.data.send(Buffer.from('again'));
    await waitFor(() => one.devices.get('eth0')!.data.received.length === 1);
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
