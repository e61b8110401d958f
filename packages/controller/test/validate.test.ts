import { cidrsOverlap, formatIpv4, parseIpv4 } from '@arca-net/netaddr';
import { network } from '@arca-net/proto';
import { describe, expect, it } from 'vitest';
import { ControllerError } from '../src/domain/errors.js';
import {
  externalPool,
  forwardAddress,
  parseCidr,
  parseExternalNetwork,
  validateAttach,
  validateCreateBridge,
} from '../src/domain/validate.js';

const bridge = (over: Partial<network.CreateBridgeRequest>) =>
  validateCreateBridge({
    ...network.CreateBridgeRequest.fromPartial({ networkId: 'n1', subnet: '198.51.100.0/24' }),
    ...over,
  });
const attach = (over: Partial<network.AttachContainerRequest>) =>
  validateAttach({
    ...network.AttachContainerRequest.fromPartial({
      containerId: 'c1',
      networkId: 'n1',
      macAddress: '02:00:00:00:00:01',
      vsockPort: 20000,
    }),
    ...over,
  });

function code(action: () => unknown): string | undefined {
  try {
    action();
    return undefined;
  } catch (err) {
    return err instanceof ControllerError ? err.code : 'other';
  }
}

describe('IPv4 helpers', () => {
  it('parse strictly and detect overlap', () => {
    expect(parseIpv4('198.51.100.7')).toBe(0xc6336407);
    expect(parseIpv4('01.2.3.4')).toBeUndefined();
    expect(formatIpv4(0xc6336407)).toBe('198.51.100.7');
    const a = parseCidr('10.0.0.0/8');
    const b = parseCidr('10.1.0.0/16');
    expect('cidr' in a && 'cidr' in b && cidrsOverlap(a.cidr, b.cidr)).toBe(true);
    expect(parseCidr('10.0.0.1/8')).toEqual({ error: expect.stringMatching(/host bits/) });
  });
});

describe('request validation', () => {
  it('accepts a plain network and defaults the gateway to the first host', () => {
    const spec = bridge({});
    expect(formatIpv4(spec.gateway)).toBe('198.51.100.1');
    expect(spec.mtu).toBe(1500);
    expect(bridge({ mtu: 68 }).mtu).toBe(68);
    expect(bridge({ mtu: 65535 }).mtu).toBe(65535);
  });

  it.each([
    ['bad CIDR', { subnet: '198.51.100.0/33' }],
    ['not a CIDR', { subnet: 'banana' }],
    ['gateway outside subnet', { gateway: '203.0.113.1' }],
    ['gateway is the broadcast', { gateway: '198.51.100.255' }],
    ['ip_range outside subnet', { ipRange: '203.0.113.0/28' }],
    ['name with quotes', { name: 'a"b' }],
    ['name with spaces', { name: 'a b' }],
    ['name starting with --', { name: '--db=x' }],
    ['name with ;', { name: 'a;b' }],
    ['name with OVN syntax', { name: '{a=b}' }],
    ['network id with =', { networkId: 'a=b' }],
    ['MTU below 68', { mtu: 67 }],
    ['MTU above 65535', { mtu: 65536 }],
  ])('rejects a network with %s', (_what, over) => {
    expect(code(() => bridge(over))).toBe('INVALID_ARGUMENT');
  });

  it.each([
    ['multicast MAC', { macAddress: '01:00:5e:00:00:01' }],
    ['malformed MAC', { macAddress: '02:00:00:00:00' }],
    ['missing MAC', { macAddress: '' }],
    ['bad IP', { ipAddress: '198.51.100.300' }],
    ['port below range', { vsockPort: 19999 }],
    ['port above range', { vsockPort: 30000 }],
    ['hostname with quotes', { hostname: "web'1" }],
    ['alias with braces', { aliases: ['{}'] }],
    ['container id with space', { containerId: 'c 1' }],
  ])('rejects an attachment with %s', (_what, over) => {
    expect(code(() => attach(over))).toBe('INVALID_ARGUMENT');
  });

  it('normalizes MACs to lower case and dedups aliases', () => {
    const spec = attach({ macAddress: '02:AB:00:00:00:01', aliases: ['x', 'x'] });
    expect(spec.mac).toBe('02:ab:00:00:00:01');
    expect(spec.aliases).toEqual(['x']);
  });
});

describe('uplink configuration', () => {
  it('accepts a CIDR with a gateway among its hosts and refuses anything else', () => {
    const ext = parseExternalNetwork('198.51.100.0/24', '198.51.100.1');
    expect(formatIpv4(ext.gateway)).toBe('198.51.100.1');
    expect(ext.cidr.prefix).toBe(24);
    for (const [cidr, gateway] of [
      ['198.51.100.1/24', '198.51.100.1'],
      ['198.51.100.0/31', '198.51.100.0'],
      ['198.51.100.0/24', '198.51.100.0'],
      ['198.51.100.0/24', '198.51.100.255'],
      ['198.51.100.0/24', '203.0.113.1'],
      ['198.51.100.0/24', 'gateway'],
    ] as const) {
      expect(() => parseExternalNetwork(cidr, gateway)).toThrow(ControllerError);
    }
  });

  it("keeps the last host (or the one before the gateway there) for the helper's arca-fwd0, none in a /30", () => {
    const at = (cidr: string, gateway: string) => {
      const ip = forwardAddress(parseExternalNetwork(cidr, gateway));
      return ip === undefined ? undefined : formatIpv4(ip);
    };
    expect(at('198.51.100.0/24', '198.51.100.1')).toBe('198.51.100.254');
    expect(at('198.51.100.0/24', '198.51.100.254')).toBe('198.51.100.253');
    expect(at('10.0.0.0/8', '10.0.0.1')).toBe('10.255.255.254');
    expect(at('198.51.100.0/30', '198.51.100.1')).toBeUndefined();
  });

  it("takes addresses and arca-fwd0 from the helper's range (cluster helpers on one external network)", () => {
    const ext = parseExternalNetwork('198.51.100.0/24', '198.51.100.1', '198.51.100.128/29');
    expect(externalPool(ext)).toEqual({
      first: parseIpv4('198.51.100.129'),
      last: parseIpv4('198.51.100.134'),
    });
    expect(formatIpv4(forwardAddress(ext) ?? 0)).toBe('198.51.100.134');
    const first = parseExternalNetwork('198.51.100.0/24', '198.51.100.1', '198.51.100.0/25');
    expect(formatIpv4(forwardAddress(first) ?? 0)).toBe('198.51.100.126');
    for (const range of [
      '203.0.113.0/29',
      '198.51.100.0/23',
      '198.51.100.128/30',
      '198.51.100.1/29',
    ]) {
      expect(() => parseExternalNetwork('198.51.100.0/24', '198.51.100.1', range)).toThrow(
        ControllerError,
      );
    }
  });
});
