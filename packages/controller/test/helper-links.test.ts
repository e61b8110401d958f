/**
 * The helper's data path as the domain drives it, over a fake OVN driver and
 * fake TAP-link primitives (no OVS, TAP or socket): the order of TAP,
 * listener and OVS port, the undo of a failed attach, the reverse on detach,
 * the restart's stale ports, and how link counters reach GetAttachmentStats.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TapOptions } from '@arca-net/vsock';
import { FakeTapLinkPrimitives } from '@arca-net/vsock/fake-tap-link';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectController } from '../src/client.js';
import type { OvnDriver, OvnHealth, TapPortRow } from '../src/ovn/driver.js';
import type {
  AclRecord,
  EndpointRecord,
  NetworkRecord,
  OvnState,
  PublishedPortRecord,
} from '../src/ovn/model.js';
import { lspName } from '../src/ovn/names.js';
import type { TapPortSpec } from '../src/ovn/vsctl.js';
import { VsockDataPath } from '../src/relay/helper-relay.js';
import { type Controller, startController } from '../src/server/server.js';

/** One journal of what the driver and the primitives were asked to do, in order. */
type Journal = string[];

/** TAP-link primitives that also write to the journal. */
class JournaledPrimitives extends FakeTapLinkPrimitives {
  constructor(private readonly journal: Journal) {
    super();
  }
  override createTap(name: string, options: TapOptions) {
    this.journal.push(`create TAP ${name}`);
    return super.createTap(name, options);
  }
  override listen(where: Parameters<FakeTapLinkPrimitives['listen']>[0], port: number) {
    this.journal.push(`listen ${port}`);
    return super.listen(where, port);
  }
}

/** An OVN driver that keeps nothing, answers with `state`, and journals the calls the data path cares about. */
class JournaledDriver implements OvnDriver {
  state: OvnState = { networks: [], endpoints: [], published: [], dns: new Map(), orphans: [] };
  taps: TapPortRow[] = [];
  failPlug = false;
  constructor(private readonly journal: Journal) {}
  async readState(): Promise<OvnState> {
    return this.state;
  }
  async createNetwork(_net: NetworkRecord): Promise<void> {}
  async ensureExternalSwitch(): Promise<void> {}
  async addUplink(): Promise<void> {}
  async localChassis(): Promise<string> {
    return 'chassis-1';
  }
  async deleteNetwork(): Promise<void> {}
  async addEndpoint(ep: EndpointRecord): Promise<void> {
    this.journal.push(`add port ${ep.portName}`);
  }
  async removeEndpoint(ep: EndpointRecord): Promise<void> {
    this.journal.push(`remove port ${ep.portName}`);
  }
  async setAcls(_networkId: string, _acls: AclRecord[]): Promise<void> {}
  async publishPort(_p: PublishedPortRecord): Promise<void> {}
  async unpublishPort(): Promise<void> {}
  async plugTap(spec: TapPortSpec): Promise<void> {
    this.journal.push(`plug ${spec.name} (${spec.containerId} on ${spec.networkId})`);
    if (this.failPlug) throw new Error('ovs-vsctl: br-int does not exist');
  }
  async unplugTap(name: string): Promise<void> {
    this.journal.push(`unplug ${name}`);
  }
  async unplugTaps(names: readonly string[]): Promise<void> {
    this.journal.push(`unplug all of ${names.join(' ')}`);
  }
  async tapPorts(): Promise<TapPortRow[]> {
    return this.taps;
  }
  async waitPortUp(portName: string): Promise<boolean> {
    this.journal.push(`wait until ${portName} is up`);
    return true;
  }
  async removeOrphans(): Promise<void> {}
  async health(): Promise<OvnHealth> {
    return { ovsOk: true, ovsStatus: '', ovnOk: true, ovnStatus: '', chassis: 'chassis-1' };
  }
  async dump(): Promise<string> {
    return '';
  }
}

const port = lspName('c1', 'net-a');
const attachRequest = {
  containerId: 'c1',
  networkId: 'net-a',
  macAddress: '02:00:00:00:00:c1',
  hostname: 'one',
  aliases: [],
  ipAddress: '',
  vsockPort: 21001,
};

describe('helper links driven by the domain (fake OVN driver and TAP-link primitives)', () => {
  let dir: string;
  let journal: Journal;
  let fake: JournaledPrimitives;
  let driver: JournaledDriver;
  let controller: Controller | undefined;
  let conn: ReturnType<typeof connectController> | undefined;

  async function start(): Promise<ReturnType<typeof connectController>['client']> {
    controller = await startController({
      listen: `unixdir:${dir}`,
      ovn: { nbSock: '/nonexistent/nb', sbSock: '/nonexistent/sb', ovsSock: '/nonexistent/ovs' },
      driver,
      dataPath: new VsockDataPath({ listen: { kind: 'unixdir', dir }, primitives: fake }),
    });
    conn = connectController(controller.grpcSocketPath);
    return conn.client;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'anc-unit-'));
    journal = [];
    fake = new JournaledPrimitives(journal);
    driver = new JournaledDriver(journal);
  });

  afterEach(async () => {
    conn?.close();
    await controller?.close();
    controller = undefined;
    conn = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('attach creates the TAP and its listener on vsock_port + 10000, then plugs the TAP, then waits for the port up', async () => {
    const client = await start();
    await client.createBridge({ networkId: 'net-a', subnet: '198.51.100.0/24', name: 'a' });
    await client.attachContainer(attachRequest);
    expect(journal).toEqual([
      `add port ${port}`,
      `create TAP ${port}`,
      'listen 31001',
      `plug ${port} (c1 on net-a)`,
      `wait until ${port} is up`,
    ]);
    expect(fake.taps.get(port)?.options).toEqual({
      mac: undefined,
      mtu: 1500,
      up: true,
      offload: false,
    });
  });

  it('attach with offload opens the TAP in offload mode and says so; a replay without it reopens it plain', async () => {
    const client = await start();
    await client.createBridge({ networkId: 'net-a', subnet: '198.51.100.0/24', name: 'a' });
    const reply = await client.attachContainer({ ...attachRequest, offload: true });
    expect(reply.offload).toBe(true);
    expect(fake.taps.get(port)?.options.offload).toBe(true);
    const again = await client.attachContainer({ ...attachRequest, offload: false });
    expect(again.offload).toBe(false);
    expect(fake.taps.get(port)?.options.offload).toBe(false);
  });

  it('a failed plug closes the TAP and the listener and removes the OVS port and the logical switch port', async () => {
    const client = await start();
    await client.createBridge({ networkId: 'net-a', subnet: '198.51.100.0/24', name: 'a' });
    driver.failPlug = true;
    await expect(client.attachContainer(attachRequest)).rejects.toThrow(/br-int does not exist/);
    expect(journal.slice(3)).toEqual([
      `plug ${port} (c1 on net-a)`,
      `unplug ${port}`,
      `remove port ${port}`,
    ]);
    expect(fake.taps.get(port)?.closed).toBe(true);
    expect(fake.listeners.get(31001)?.closed).toBe(true);
    expect(fake.nameFree(port)).toBe(true);
  });

  it('a listener that cannot bind plugs nothing and removes the logical switch port', async () => {
    const client = await start();
    await client.createBridge({ networkId: 'net-a', subnet: '198.51.100.0/24', name: 'a' });
    fake.failListen = true;
    await expect(client.attachContainer(attachRequest)).rejects.toThrow(/data port 31001/);
    expect(journal).toEqual([
      `add port ${port}`,
      `create TAP ${port}`,
      'listen 31001',
      `remove port ${port}`,
    ]);
    expect(fake.nameFree(port)).toBe(true);
  });

  it('detach unplugs the TAP, closes the link (the TAP name is free again), then removes the logical switch port', async () => {
    const client = await start();
    await client.createBridge({ networkId: 'net-a', subnet: '198.51.100.0/24', name: 'a' });
    await client.attachContainer(attachRequest);
    fake.connect(31001);
    journal.length = 0;
    await client.detachContainer({ containerId: 'c1', networkId: 'net-a' });
    expect(journal).toEqual([`unplug ${port}`, `remove port ${port}`]);
    expect(fake.relays[0]?.closed).toBe(true);
    expect(fake.listeners.get(31001)?.closed).toBe(true);
    expect(fake.nameFree(port)).toBe(true);
  });

  it('a restart unplugs every stale TAP port in one call, then reopens and plugs each attachment', async () => {
    const ep = (containerId: string, vsockPort: number): EndpointRecord => ({
      networkId: 'net-a',
      containerId,
      portName: lspName(containerId, 'net-a'),
      ip: '198.51.100.2',
      mac: '02:00:00:00:00:01',
      hostname: containerId,
      aliases: [],
      vsockPort,
    });
    driver.state.networks = [
      {
        networkId: 'net-a',
        name: 'a',
        subnet: '198.51.100.0/24',
        gateway: '198.51.100.1',
        ipRange: '',
        excludeIps: '198.51.100.1',
        mtu: 1500,
        internal: false,
        labels: {},
        routerMac: '02:00:00:00:00:fe',
      },
    ];
    driver.state.endpoints = [ep('c1', 21001), ep('c2', 21002)];
    driver.taps = [
      { name: lspName('c1', 'net-a'), containerId: 'c1', networkId: 'net-a' },
      { name: lspName('gone', 'net-a'), containerId: 'gone', networkId: 'net-a' },
    ];
    await start();
    const [p1, p2] = [lspName('c1', 'net-a'), lspName('c2', 'net-a')];
    expect(journal).toEqual([
      `unplug all of ${p1} ${lspName('gone', 'net-a')}`,
      `create TAP ${p1}`,
      'listen 31001',
      `plug ${p1} (c1 on net-a)`,
      `create TAP ${p2}`,
      'listen 31002',
      `plug ${p2} (c2 on net-a)`,
    ]);
  });

  it('GetAttachmentStats reports the link: frames towards the TAP go to the switch, towards the stream to the container', async () => {
    const client = await start();
    await client.createBridge({ networkId: 'net-a', subnet: '198.51.100.0/24', name: 'a' });
    await client.attachContainer(attachRequest);
    fake.connect(31001);
    fake.relays[0]!.counters = {
      aToB: { frames: 3, bytes: 300, drops: 1, protocolErrors: 0 },
      bToA: { frames: 5, bytes: 500, drops: 0, protocolErrors: 2 },
    };
    const stats = await client.getAttachmentStats({ containerId: 'c1', networkId: 'net-a' });
    expect(stats).toEqual({
      toSwitch: { frames: 5n, bytes: 500n, drops: 0n, protocolErrors: 2n },
      toContainer: { frames: 3n, bytes: 300n, drops: 1n, protocolErrors: 0n },
      connections: 1,
      connected: true,
      // This fake driver reads no drop counters, and the fake TAP is no kernel device.
      helperTap: undefined,
      ovsPort: undefined,
      ovsCaptureDropped: 0n,
    });
  });
});
