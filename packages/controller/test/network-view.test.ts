import { parseIpv4 } from '@arca-net/netaddr';
import { describe, expect, it } from 'vitest';
import {
  dnsNames,
  exclusions,
  type NetworkView,
  pickIp,
  poolOf,
  viewOfRecord,
} from '../src/domain/network-view.js';
import { policyAcls } from '../src/domain/policy.js';
import type { EndpointRecord, NetworkRecord } from '../src/ovn/model.js';

const ip = (s: string): number => parseIpv4(s) as number;

function record(subnet: string, gateway: string, ipRange = ''): NetworkRecord {
  return {
    networkId: 'n1',
    name: 'front',
    subnet,
    gateway,
    ipRange,
    excludeIps: '',
    mtu: 1500,
    internal: false,
    labels: {},
    routerMac: '0a:00:00:00:00:01',
  };
}

function view(subnet: string, gateway: string, ipRange = ''): NetworkView {
  const v = viewOfRecord(record(subnet, gateway, ipRange), new Map());
  if (!v) throw new Error('bad record');
  return v;
}

function endpoint(containerId: string, address: string): EndpointRecord {
  return {
    networkId: 'n1',
    containerId,
    portName: `p-${containerId}`,
    ip: address,
    mac: '02:00:00:00:00:01',
    hostname: containerId,
    aliases: [],
    vsockPort: 20000,
  };
}

describe('network view', () => {
  it('derives the pool from ip_range within the subnet, and refuses a record that does not parse', () => {
    const v = view('10.1.0.0/24', '10.1.0.1', '10.1.0.128/25');
    expect(v.pool).toEqual({ first: ip('10.1.0.128'), last: ip('10.1.0.254') });
    expect(poolOf(v.subnet, undefined)).toEqual({ first: ip('10.1.0.1'), last: ip('10.1.0.254') });
    expect(viewOfRecord(record('10.1.0.0/33', '10.1.0.1'), new Map())).toBeUndefined();
    expect(viewOfRecord(record('10.1.0.0/24', 'nope'), new Map())).toBeUndefined();
  });

  it('excludes the gateway and what lies outside the pool from DHCP', () => {
    const v = view('10.1.0.0/24', '10.1.0.1', '10.1.0.128/25');
    expect(exclusions(v.subnet, v.gateway, v.pool)).toBe('10.1.0.1 10.1.0.1..10.1.0.127');
  });

  it('picks the lowest free address, never the gateway or the resolver', () => {
    const v = view('10.1.0.0/29', '10.1.0.1');
    expect(pickIp(v, undefined)).toBe(ip('10.1.0.2'));
    for (const [i, a] of ['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5'].entries()) {
      v.endpoints.set(`c${i}`, endpoint(`c${i}`, a));
    }
    // .6 is the network's resolver (the last host address): the pool is used up.
    expect(() => pickIp(v, undefined)).toThrow(
      expect.objectContaining({ code: 'FAILED_PRECONDITION' }),
    );
  });

  it('takes a requested address only when it is a free host address of the subnet', () => {
    const v = view('10.1.0.0/24', '10.1.0.1');
    v.endpoints.set('c1', endpoint('c1', '10.1.0.9'));
    expect(pickIp(v, ip('10.1.0.10'))).toBe(ip('10.1.0.10'));
    expect(() => pickIp(v, ip('10.2.0.10'))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => pickIp(v, ip('10.1.0.255'))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => pickIp(v, ip('10.1.0.1'))).toThrow(
      expect.objectContaining({
        code: 'ALREADY_EXISTS',
        message: expect.stringContaining('gateway'),
      }),
    );
    expect(() => pickIp(v, ip('10.1.0.9'))).toThrow(
      expect.objectContaining({
        code: 'ALREADY_EXISTS',
        message: expect.stringContaining('in use'),
      }),
    );
  });

  it('names an attachment by hostname, short id and aliases, lower case and once each', () => {
    expect(
      dnsNames({ hostname: 'Web', containerId: 'abcdef0123456789', aliases: ['web', 'API', ''] }),
    ).toEqual(['web', 'abcdef012345', 'api']);
  });
});

describe('policy ACLs', () => {
  it('turns rules into ACLs in order, with the subnets of the networks they name', () => {
    const subnets: Record<string, string> = { a: '10.1.0.0/24', b: '10.2.0.0/24' };
    const acls = policyAcls(
      [
        {
          allow: true,
          protocol: 'tcp',
          sourceNetwork: 'a',
          destinationNetwork: '',
          port: 80,
          priority: 10,
        },
        {
          allow: false,
          protocol: 'icmp',
          sourceNetwork: '',
          destinationNetwork: 'b',
          port: 0,
          priority: 5,
        },
        {
          allow: false,
          protocol: 'any',
          sourceNetwork: '',
          destinationNetwork: '',
          port: 0,
          priority: 0,
        },
      ],
      (id) => subnets[id] ?? '',
    );
    expect(acls).toEqual([
      {
        priority: 1010,
        match: 'ip4 && tcp && tcp.dst == 80 && ip4.src == 10.1.0.0/24',
        action: 'allow-related',
      },
      { priority: 1005, match: 'ip4 && icmp4 && ip4.dst == 10.2.0.0/24', action: 'drop' },
      { priority: 1000, match: 'ip4', action: 'drop' },
    ]);
  });
});
