import { network } from '@arca-net/proto';
import { describe, expect, it } from 'vitest';
import { scopeState } from '../src/domain/cluster.js';
import { ControllerError } from '../src/domain/errors.js';
import { OVERLAY_DEFAULT_MTU, validateCreateBridge } from '../src/domain/validate.js';
import type { EndpointRecord, NetworkRecord, OvnState } from '../src/ovn/model.js';
import { lsName } from '../src/ovn/names.js';
import { addEndpointCmds, createNetworkCmds } from '../src/ovn/nbctl.js';

const net = (networkId: string, over: Partial<NetworkRecord> = {}): NetworkRecord => ({
  networkId,
  name: networkId,
  subnet: '10.1.0.0/24',
  gateway: '10.1.0.1',
  ipRange: '',
  excludeIps: '10.1.0.1',
  mtu: 1500,
  internal: false,
  labels: {},
  routerMac: '0a:00:00:00:00:01',
  ...over,
});

const ep = (networkId: string, containerId: string, chassis?: string): EndpointRecord => ({
  networkId,
  containerId,
  portName: `p-${containerId}`,
  ip: '10.1.0.2',
  mac: '02:42:00:00:00:02',
  hostname: containerId,
  aliases: [],
  vsockPort: 30000,
  ...(chassis ? { chassis } : {}),
});

describe('scopeState (a helper of a cluster sees what it owns)', () => {
  const state: OvnState = {
    networks: [
      net('mine', { chassis: 'host1' }),
      net('theirs', { chassis: 'host2' }),
      net('ov', { driver: 'overlay', chassis: 'host2' }),
      net('legacy'),
    ],
    endpoints: [
      ep('mine', 'a', 'host1'),
      ep('theirs', 'b', 'host2'),
      ep('ov', 'c', 'host1'),
      ep('ov', 'd', 'host2'),
      ep('legacy', 'e'),
    ],
    published: [
      {
        networkId: 'ov',
        containerId: 'd',
        protocol: 'tcp',
        hostPort: 80,
        containerPort: 80,
        vip: 'x',
        backend: 'y',
      },
    ],
    dns: new Map(),
    orphans: [{ table: 'DNS', uuid: 'u', why: 'another helper is halfway through' }],
  };
  const scoped = scopeState(state, 'host1');

  it('keeps its own and the overlay networks, not another host’s bridge networks', () => {
    expect(scoped.networks.map((n) => n.networkId)).toEqual(['mine', 'ov', 'legacy']);
  });

  it('keeps only the endpoints bound on its chassis, and their published ports', () => {
    expect(scoped.endpoints.map((e) => e.containerId)).toEqual(['a', 'c', 'e']);
    expect(scoped.published).toEqual([]);
  });

  it('sees no orphans in the shared database', () => {
    expect(scoped.orphans).toEqual([]);
  });
});

describe('overlay networks on the wire', () => {
  const bridge = (over: Partial<network.CreateBridgeRequest>) =>
    validateCreateBridge(
      network.CreateBridgeRequest.fromPartial({
        networkId: 'n1',
        subnet: '10.1.0.0/24',
        ...over,
      }),
    );

  it('takes driver overlay with MTU 1400 unless set', () => {
    expect(bridge({ driver: 'overlay' })).toMatchObject({
      driver: 'overlay',
      mtu: OVERLAY_DEFAULT_MTU,
    });
    expect(OVERLAY_DEFAULT_MTU).toBe(1400);
    expect(bridge({ driver: 'overlay', mtu: 1300 }).mtu).toBe(1300);
    expect(bridge({ driver: 'bridge' }).driver).toBeUndefined();
    expect(bridge({}).mtu).toBe(1500);
  });

  it('refuses another driver with INVALID_ARGUMENT', () => {
    try {
      bridge({ driver: 'macvlan' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ControllerError);
      expect((err as ControllerError).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('marks the switch with its driver and owner chassis', () => {
    const set = createNetworkCmds(net('ov', { driver: 'overlay', chassis: 'host2' }))[1] ?? [];
    const ids = set.find((arg) => arg.startsWith('external_ids='));
    expect(ids).toContain('"arca-net:driver"="overlay"');
    expect(ids).toContain('"arca-net:chassis"="host2"');
  });

  it('writes an overlay port that exists already (allocated) with --may-exist, others as before', () => {
    expect(addEndpointCmds(ep('ov', 'c', 'host1'), 'dhcp', 'dns', [])[0]).toEqual([
      '--may-exist',
      'lsp-add',
      lsName('ov'),
      'p-c',
    ]);
    expect(addEndpointCmds(ep('mine', 'a'), 'dhcp', 'dns', [])[0]).toEqual([
      'lsp-add',
      lsName('mine'),
      'p-a',
    ]);
  });
});
