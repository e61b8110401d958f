import { formatCidr, parseIpv4 } from '@arca-net/netaddr';
import { describe, expect, it } from 'vitest';
import { isBackendError } from '../src/errors.js';
import {
  allocateSubnet,
  checkStaticIp,
  defaultPools,
  nextFreeIp,
  planNetworkAddressing,
} from '../src/ipam.js';

describe('default pools', () => {
  it('run from 172.18/16 to 172.31/16, then 192.168.0/20 in /20 steps to 192.168.240/20', () => {
    const pools = defaultPools().map(formatCidr);
    expect(pools[0]).toBe('172.18.0.0/16');
    expect(pools[13]).toBe('172.31.0.0/16');
    expect(pools[14]).toBe('192.168.0.0/20');
    expect(pools[15]).toBe('192.168.16.0/20');
    expect(pools.at(-1)).toBe('192.168.240.0/20');
    expect(pools).toHaveLength(30);
  });

  it('allocation skips every pool overlapping a subnet in use', () => {
    expect(formatCidr(allocateSubnet([]))).toBe('172.18.0.0/16');
    expect(formatCidr(allocateSubnet(['172.18.0.0/16']))).toBe('172.19.0.0/16');
    expect(formatCidr(allocateSubnet(['172.18.5.0/24', '172.19.0.0/16']))).toBe('172.20.0.0/16');
    expect(formatCidr(allocateSubnet(['172.16.0.0/12']))).toBe('192.168.0.0/20');
    expect(formatCidr(allocateSubnet(['172.16.0.0/12', '192.168.0.0/19']))).toBe('192.168.32.0/20');
  });

  it('exhaustion gives Docker\'s "could not find an available, non-overlapping" error', () => {
    expect(() => allocateSubnet(['172.16.0.0/12', '192.168.0.0/16'])).toThrow(
      /^could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network$/,
    );
  });
});

describe('network addressing validation', () => {
  const table: Array<{
    name: string;
    req: { subnet?: string; gateway?: string; ipRange?: string };
    inUse?: string[];
    ok?: { subnet: string; gateway: string; ipRange: string };
    error?: string;
  }> = [
    {
      name: 'defaults',
      req: {},
      ok: { subnet: '172.18.0.0/16', gateway: '172.18.0.1', ipRange: '' },
    },
    {
      name: 'given subnet, default gateway is the first host',
      req: { subnet: '10.9.0.0/24' },
      ok: { subnet: '10.9.0.0/24', gateway: '10.9.0.1', ipRange: '' },
    },
    {
      name: 'given gateway and ip-range',
      req: { subnet: '10.9.0.0/16', gateway: '10.9.255.254', ipRange: '10.9.4.0/24' },
      ok: { subnet: '10.9.0.0/16', gateway: '10.9.255.254', ipRange: '10.9.4.0/24' },
    },
    { name: 'not a CIDR', req: { subnet: '10.9.0.0' }, error: 'invalid CIDR address: 10.9.0.0' },
    {
      name: 'bad octet',
      req: { subnet: '10.9.0.256/24' },
      error: 'invalid CIDR address: 10.9.0.256/24',
    },
    {
      name: 'host bits set',
      req: { subnet: '10.10.10.0/8' },
      error: 'invalid subnet 10.10.10.0/8: it should be 10.0.0.0/8',
    },
    {
      name: 'overlapping subnet',
      req: { subnet: '10.9.1.0/24' },
      inUse: ['10.9.0.0/16'],
      error: 'Pool overlaps with other one on this address space',
    },
    {
      name: 'gateway outside',
      req: { subnet: '10.0.0.0/24', gateway: '10.1.0.1' },
      error: "invalid gateway 10.1.0.1: parent subnet 10.0.0.0/24 doesn't contain this address",
    },
    {
      name: 'gateway not an address',
      req: { subnet: '10.0.0.0/24', gateway: 'x' },
      error: 'invalid gateway x: not an IPv4 address',
    },
    {
      name: 'ip-range outside',
      req: { subnet: '10.0.0.0/8', ipRange: '192.168.0.0/24' },
      error: "invalid ip-range 192.168.0.0/24: parent subnet 10.0.0.0/8 doesn't contain ip-range",
    },
    {
      name: 'ip-range with host bits',
      req: { subnet: '10.0.0.0/8', ipRange: '10.0.0.1/24' },
      error: 'invalid ip-range 10.0.0.1/24: it should be 10.0.0.0/24',
    },
    {
      name: 'ip-range bigger than subnet',
      req: { subnet: '10.10.10.0/24', ipRange: '10.0.0.0/8' },
      error:
        'invalid ip-range 10.0.0.0/8: CIDR block is bigger than its parent subnet 10.10.10.0/24',
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const run = () => planNetworkAddressing(row.req, row.inUse ?? []);
      if (row.ok) expect(run()).toEqual(row.ok);
      else {
        let caught: unknown;
        try {
          run();
        } catch (err) {
          caught = err;
        }
        expect(isBackendError(caught)).toBe(true);
        expect((caught as Error).message).toBe(row.error);
      }
    });
  }
});

describe('static and dynamic addresses', () => {
  const scope = { subnet: '10.5.0.0/24', gateway: '10.5.0.1', ipRange: '10.5.0.128/25' };

  it('a static IP must lie in the subnet, also outside the ip-range (as Docker)', () => {
    expect(checkStaticIp('10.5.0.130', scope, new Set())).toBe('10.5.0.130');
    expect(checkStaticIp('10.5.0.20', scope, new Set())).toBe('10.5.0.20');
    expect(() => checkStaticIp('10.6.0.20', scope, new Set())).toThrow(
      'no configured subnet or ip-range contain the IP address 10.6.0.20',
    );
    expect(() => checkStaticIp('10.5.0.255', scope, new Set())).toThrow(/no configured subnet/);
    expect(() => checkStaticIp('nope', scope, new Set())).toThrow('invalid IPv4 address: nope');
  });

  it('a taken IP or the gateway is "Address already in use"', () => {
    expect(() => checkStaticIp('10.5.0.130', scope, new Set(['10.5.0.130']))).toThrow(
      /^Address already in use$/,
    );
    const whole = { subnet: '10.5.0.0/24', gateway: '10.5.0.1', ipRange: '' };
    expect(() => checkStaticIp('10.5.0.1', whole, new Set())).toThrow(/^Address already in use$/);
  });

  it('the next free IP skips gateway, network address and taken ones', () => {
    const whole = { subnet: '10.5.0.0/24', gateway: '10.5.0.1', ipRange: '' };
    expect(nextFreeIp(whole, new Set(), 'n')).toBe('10.5.0.2');
    expect(nextFreeIp(whole, new Set(['10.5.0.2', '10.5.0.3']), 'n')).toBe('10.5.0.4');
    expect(nextFreeIp(scope, new Set(), 'n')).toBe('10.5.0.128');
    const tiny = { subnet: '10.5.0.0/30', gateway: '10.5.0.1', ipRange: '' };
    expect(nextFreeIp(tiny, new Set(), 'n')).toBe('10.5.0.2');
    expect(() => nextFreeIp(tiny, new Set(['10.5.0.2']), 'n')).toThrow(
      /no available IPv4 addresses/,
    );
  });

  it("never hands out the network's resolver address (the highest host that is not the gateway)", () => {
    const whole = { subnet: '10.5.0.0/29', gateway: '10.5.0.1', ipRange: '' };
    const taken = new Set(['10.5.0.2', '10.5.0.3', '10.5.0.4', '10.5.0.5']);
    expect(() => nextFreeIp(whole, taken, 'n')).toThrow(/no available IPv4 addresses/);
    expect(() => checkStaticIp('10.5.0.6', whole, new Set())).toThrow(/^Address already in use$/);
    const highGateway = { subnet: '10.5.0.0/29', gateway: '10.5.0.6', ipRange: '' };
    expect(() => checkStaticIp('10.5.0.5', highGateway, new Set())).toThrow(
      /^Address already in use$/,
    );
  });

  it('parses only canonical dotted quads', () => {
    expect(parseIpv4('1.2.3.4')).toBe(0x01020304);
    for (const bad of ['1.2.3', '01.2.3.4', '1.2.3.4.5', '256.1.1.1', ' 1.2.3.4', '']) {
      expect(parseIpv4(bad)).toBeUndefined();
    }
  });
});

describe('planNetworkAddressing refuses ranges no network can use', () => {
  it.each([
    ['127.0.0.0/8', 'loopback'],
    ['127.1.2.0/24', 'loopback'],
    ['239.1.0.0/16', 'multicast'],
    ['224.0.0.0/24', 'multicast'],
    ['169.254.0.0/16', 'link-local'],
    ['0.0.0.0/8', '"this network"'],
    ['255.255.255.252/30', 'broadcast'],
  ])('%s (%s) with INVALID_SUBNET', (subnet, what) => {
    expect(() => planNetworkAddressing({ subnet }, [])).toThrow(
      expect.objectContaining({ code: 'INVALID_SUBNET', message: expect.stringContaining(what) }),
    );
  });

  it('an ip-range holding only the gateway is refused; one with a free address is not', () => {
    expect(() =>
      planNetworkAddressing({ subnet: '10.40.0.0/24', ipRange: '10.40.0.0/31' }, []),
    ).toThrow(
      expect.objectContaining({
        code: 'INVALID_IP_RANGE',
        message: expect.stringContaining('leaves no address for containers'),
      }),
    );
    expect(
      planNetworkAddressing({ subnet: '10.40.0.0/24', ipRange: '10.40.0.0/30' }, []).ipRange,
    ).toBe('10.40.0.0/30');
  });
});
