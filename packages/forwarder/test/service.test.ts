import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { health, tapforwarder } from '@arca-net/proto';
import { FakeTapLinkPrimitives } from '@arca-net/vsock/fake-tap-link';
import {
  type Channel,
  type Client,
  ClientError,
  createChannel,
  createClient,
  Status,
} from 'nice-grpc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forwarderErrors } from '../src/errors.js';
import { IpTool } from '../src/netconf/ip.js';
import { type Forwarder, startForwarder } from '../src/server.js';

const MAC = '02:aa:bb:cc:dd:01';
const base: tapforwarder.AttachNetworkRequest = {
  device: 'eth0',
  vsockPort: 20001,
  ipAddress: '198.51.100.5',
  gateway: '198.51.100.1',
  netmask: 24,
  macAddress: MAC,
  defaultRoute: true,
  mtu: 0,
  offload: false,
};

describe('TAPForwarder service', () => {
  let dir: string;
  let plane: FakeTapLinkPrimitives;
  let ipCalls: string[][];
  let failIp: boolean;
  let dhcpRuns: number;
  let forwarder: Forwarder;
  let channel: Channel;
  let client: Client<tapforwarder.TAPForwarderDefinition>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'anf-unit-'));
    plane = new FakeTapLinkPrimitives();
    ipCalls = [];
    failIp = false;
    dhcpRuns = 0;
    forwarder = await startForwarder({
      listen: `unixdir:${dir}`,
      dns: '127.0.0.1:0',
      dnsUpstreams: [],
      primitives: plane,
      ip: new IpTool(async (file, args) => {
        ipCalls.push([file, ...args]);
        if (failIp) throw new Error('RTNETLINK answers: Network is unreachable');
        return '';
      }),
      dhcp: {
        run: async () => {
          dhcpRuns++;
          return 'ARCA_LEASE ip=198.51.100.77 subnet=255.255.255.0 router=198.51.100.1 dns= lease=60\n';
        },
      },
    });
    channel = createChannel(`unix://${forwarder.grpcSocketPath}`);
    client = createClient(tapforwarder.TAPForwarderDefinition, channel);
  });

  afterEach(async () => {
    channel.close();
    await forwarder.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const statusOf = (promise: Promise<unknown>) =>
    promise.then(
      () => 'OK',
      (error: unknown) => (error instanceof ClientError ? Status[error.code] : String(error)),
    );

  it('serves grpc.health.v1 on DIR/5555.sock', async () => {
    expect(forwarder.grpcAddress).toBe(`unix:${join(dir, '5555.sock')}`);
    const healthClient = createClient(health.HealthDefinition, channel);
    expect((await healthClient.check({ service: '' })).status).toBe(1);
  });

  it('attaches with the exact MAC, static address and default route', async () => {
    const reply = await client.attachNetwork(base);
    expect(reply).toMatchObject({
      success: true,
      macAddress: MAC,
      ipAddress: '198.51.100.5',
      prefixLength: 24,
    });
    expect(plane.taps.get('eth0')).toMatchObject({
      mac: MAC,
      options: { mtu: 1500 },
      closed: false,
    });
    expect(plane.listeners.has(20001)).toBe(true);
    expect(ipCalls).toEqual([
      ['ip', 'addr', 'replace', '198.51.100.5/24', 'dev', 'eth0'],
      ['ip', 'route', 'replace', 'default', 'via', '198.51.100.1', 'dev', 'eth0'],
    ]);
  });

  it('moves the default route between devices, removes it, and replays keep the new flag', async () => {
    await client.attachNetwork(base);
    await client.attachNetwork({
      ...base,
      device: 'eth1',
      vsockPort: 20002,
      ipAddress: '203.0.113.5',
      gateway: '203.0.113.1',
      macAddress: '02:aa:bb:cc:dd:01',
      defaultRoute: false,
    });
    ipCalls.length = 0;
    await client.setDefaultRoute({ device: 'eth1', gateway: '203.0.113.1' });
    await client.setDefaultRoute({ device: '', gateway: '' });
    expect(ipCalls).toEqual([
      ['ip', 'route', 'replace', 'default', 'via', '203.0.113.1', 'dev', 'eth1'],
      ['ip', '-4', 'route', 'flush', 'exact', '0.0.0.0/0'],
    ]);
    // A replay (reconcile) of eth0 without the default route is the same attachment now.
    expect((await client.attachNetwork({ ...base, defaultRoute: false })).success).toBe(true);
    expect(await statusOf(client.setDefaultRoute({ device: 'eth9', gateway: '' }))).toBe(
      'NOT_FOUND',
    );
    expect(await statusOf(client.setDefaultRoute({ device: 'eth1', gateway: 'x' }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('says it supports offload, and opens the TAP in offload mode when asked', async () => {
    expect((await client.getStatus({})).capabilities).toEqual(['offload']);
    const reply = await client.attachNetwork({ ...base, offload: true });
    expect(reply.offload).toBe(true);
    expect(plane.taps.get('eth0')?.options.offload).toBe(true);
    const plain = await client.attachNetwork({ ...base, device: 'eth1', vsockPort: 20002 });
    expect(plain.offload).toBe(false);
    expect(plane.taps.get('eth1')?.options.offload).toBe(false);
  });

  it('picks a random locally administered unicast MAC when none is given', async () => {
    const reply = await client.attachNetwork({ ...base, macAddress: '' });
    const first = Number.parseInt(reply.macAddress.slice(0, 2), 16);
    expect(first & 0x03).toBe(0x02);
    expect(plane.taps.get('eth0')?.mac).toBe(reply.macAddress);
  });

  it('is idempotent for the same parameters and refuses a clash', async () => {
    await client.attachNetwork(base);
    expect((await client.attachNetwork(base)).macAddress).toBe(MAC);
    expect(plane.taps.size).toBe(1);
    expect(await statusOf(client.attachNetwork({ ...base, ipAddress: '198.51.100.6' }))).toBe(
      'ALREADY_EXISTS',
    );
    expect(await statusOf(client.attachNetwork({ ...base, device: 'eth1' }))).toBe(
      'ALREADY_EXISTS',
    );
    expect(plane.taps.has('eth1')).toBe(false);
  });

  const badRequests: [string, Partial<tapforwarder.AttachNetworkRequest>][] = [
    ['a device name over 15 bytes', { device: 'eth0123456789abc' }],
    ['a device name with /', { device: 'eth/0' }],
    ['an empty device name', { device: '' }],
    ['a malformed MAC', { macAddress: '02:aa:bb:cc:dd' }],
    ['a multicast MAC', { macAddress: '01:00:5e:00:00:01' }],
    ['a port below 20000', { vsockPort: 19999 }],
    ['a port of 30000', { vsockPort: 30000 }],
    ['a prefix above 32', { netmask: 33 }],
    ['an IP that does not parse', { ipAddress: '198.51.100.300' }],
    ['a gateway that does not parse', { gateway: 'gw' }],
    ['a gateway outside the subnet', { gateway: '203.0.113.1' }],
  ];
  for (const [what, change] of badRequests) {
    it(`rejects ${what} with INVALID_ARGUMENT and creates nothing`, async () => {
      expect(await statusOf(client.attachNetwork({ ...base, ...change }))).toBe('INVALID_ARGUMENT');
      expect(plane.taps.size).toBe(0);
      expect(plane.listeners.size).toBe(0);
      expect(ipCalls).toEqual([]);
    });
  }

  it('leaves nothing behind when the data port cannot be bound', async () => {
    plane.failListen = true;
    expect(await statusOf(client.attachNetwork(base))).toBe('UNAVAILABLE');
    expect(plane.taps.get('eth0')?.closed).toBe(true);
    expect((await client.listNetworks({})).networks).toEqual([]);
  });

  it('leaves nothing behind when the address cannot be set', async () => {
    failIp = true;
    expect(await statusOf(client.attachNetwork(base))).toBe('INTERNAL');
    expect(plane.taps.get('eth0')?.closed).toBe(true);
    expect(plane.listeners.get(20001)?.closed).toBe(true);
    expect((await client.listNetworks({})).networks).toEqual([]);
  });

  it('detaches: closes relay, listener and TAP; NOT_FOUND for an unknown device', async () => {
    await client.attachNetwork(base);
    plane.connect(20001);
    expect(await client.detachNetwork({ device: 'eth0' })).toEqual({ success: true, error: '' });
    expect(plane.taps.get('eth0')?.closed).toBe(true);
    expect(plane.listeners.get(20001)?.closed).toBe(true);
    expect(plane.relays[0]?.closed).toBe(true);
    expect(await statusOf(client.detachNetwork({ device: 'eth0' }))).toBe('NOT_FOUND');
    expect(await statusOf(client.detachNetwork({ device: 'a/b' }))).toBe('INVALID_ARGUMENT');
  });

  it('reports relay counters and keeps totals across reconnects', async () => {
    await client.attachNetwork(base);
    plane.connect(20001);
    const first = plane.relays[0]!;
    first.counters.aToB = { frames: 3, bytes: 300, drops: 1, protocolErrors: 0 };
    first.counters.bToA = { frames: 2, bytes: 200, drops: 0, protocolErrors: 1 };
    plane.connect(20001); // reconnect: the first relay is replaced
    expect(first.closed).toBe(true);
    const second = plane.relays[1]!;
    second.counters.aToB = { frames: 1, bytes: 100, drops: 0, protocolErrors: 0 };
    const [info] = (await client.listNetworks({})).networks;
    expect(info).toMatchObject({
      device: 'eth0',
      vsockPort: 20001,
      macAddress: MAC,
      connected: true,
    });
    expect(info?.stats).toEqual({
      packetsSent: 4n,
      packetsReceived: 2n,
      bytesSent: 400n,
      bytesReceived: 200n,
      sendErrors: 1n,
      receiveErrors: 1n,
    });
    const status = await client.getStatus({});
    expect(status.activeNetworks).toBe(1);
    expect(status.totalStats?.packetsSent).toBe(4n);
    second.end({ reason: 'eof', side: 'b' }); // the host went away
    await second.whenClosed();
    expect((await client.listNetworks({})).networks[0]?.connected).toBe(false);
  });

  it('starts DHCP only once the host has connected and applies the lease', async () => {
    const reply = await client.attachNetwork({ ...base, ipAddress: '', gateway: '' });
    expect(reply.ipAddress).toBe('');
    expect(dhcpRuns).toBe(0);
    plane.connect(20001);
    await expect
      .poll(async () => (await client.listNetworks({})).networks[0]?.ipAddress)
      .toBe('198.51.100.77');
    expect(dhcpRuns).toBe(1);
    expect(ipCalls).toContainEqual(['ip', 'addr', 'replace', '198.51.100.77/24', 'dev', 'eth0']);
    expect(ipCalls).toContainEqual([
      'ip',
      'route',
      'replace',
      'default',
      'via',
      '198.51.100.1',
      'dev',
      'eth0',
    ]);
  });

  /** Per code of the forwarder's table: a call that ends with it, its gRPC status, and words of its message. */
  const reach: Record<string, [() => Promise<unknown>, Status, string]> = {
    INVALID_ARGUMENT: [
      () => client.attachNetwork({ ...base, netmask: 33 }),
      Status.INVALID_ARGUMENT,
      'netmask /33 is above 32',
    ],
    DEVICE_NOT_FOUND: [
      () => client.detachNetwork({ device: 'eth3' }),
      Status.NOT_FOUND,
      'device eth3 is not attached',
    ],
    ATTACHMENT_CONFLICT: [
      async () => {
        await client.attachNetwork(base);
        return client.attachNetwork({ ...base, ipAddress: '198.51.100.6' });
      },
      Status.ALREADY_EXISTS,
      'device eth0 is already attached with other parameters',
    ],
    TAP_FAILED: [
      () => {
        plane.createTap = () => {
          throw new Error('TUNSETIFF eth0: Operation not permitted');
        };
        return client.attachNetwork(base);
      },
      Status.INTERNAL,
      'cannot create TAP eth0: TUNSETIFF eth0: Operation not permitted',
    ],
    LISTEN_FAILED: [
      () => {
        plane.failListen = true;
        return client.attachNetwork(base);
      },
      Status.UNAVAILABLE,
      'bind port 20001: EADDRINUSE',
    ],
    NETCONF_FAILED: [
      () => {
        failIp = true;
        return client.attachNetwork(base);
      },
      Status.INTERNAL,
      'RTNETLINK answers: Network is unreachable',
    ],
  };

  it('reaches every code of the table, and only those', () => {
    const codes = Object.keys(forwarderErrors);
    const missing = codes.filter((code) => !(code in reach));
    expect(
      missing,
      `forwarder codes no call here reaches (add one): ${missing.join(', ')}`,
    ).toEqual([]);
    expect(Object.keys(reach).filter((code) => !codes.includes(code))).toEqual([]);
  });

  for (const [code, [call, status, words]] of Object.entries(reach)) {
    it(`${code} is reachable through TAPForwarder and maps to its status`, async () => {
      expect(forwarderErrors[code as keyof typeof forwarderErrors].status).toBe(status);
      const error = await call().then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(ClientError);
      expect((error as ClientError).code).toBe(status);
      expect((error as ClientError).details).toContain(words);
    });
  }

  it('validates DNS snapshots and counts names', async () => {
    const good = await client.updateDNSMappings({
      networks: {
        front: {
          containers: [
            { name: 'web', id: 'a'.repeat(64), ipAddress: '198.51.100.9', aliases: ['w'] },
          ],
        },
      },
      upstreamServers: [],
    });
    expect(good).toEqual({ success: true, error: '', recordsUpdated: 6 }); // web, w, aaaaaaaaaaaa, each bare and .front
    for (const bad of [
      { name: 'web', id: '', ipAddress: 'x', aliases: [] },
      { name: 'we b', id: '', ipAddress: '198.51.100.9', aliases: [] },
    ]) {
      const call = client.updateDNSMappings({
        networks: { front: { containers: [bad] } },
        upstreamServers: [],
      });
      expect(await statusOf(call)).toBe('INVALID_ARGUMENT');
    }
    const badUpstream = client.updateDNSMappings({
      networks: {},
      upstreamServers: ['dns.example'],
    });
    expect(await statusOf(badUpstream)).toBe('INVALID_ARGUMENT');
  });
});
