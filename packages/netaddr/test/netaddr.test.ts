import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  cidrsOverlap,
  cidrWithin,
  formatCidr,
  formatIpv4,
  hostRange,
  networkOf,
  parseCidrText,
  parseIpv4,
  parseMac,
  randomMac,
  sameNetwork,
} from '../src/index.js';

const ip = (text: string): number => parseIpv4(text) as number;
const cidr = (text: string) => {
  const parsed = parseCidrText(text);
  if (!parsed) throw new Error(text);
  return networkOf(parsed.addr, parsed.prefix);
};

describe('IPv4', () => {
  it.each(['1.2.3', '1.2.3.4.5', '01.2.3.4', '256.0.0.1', '1.2.3.4 ', '', 'a.b.c.d', '-1.2.3.4'])(
    'refuses %j',
    (text) => expect(parseIpv4(text)).toBeUndefined(),
  );

  it('round-trips the extremes', () => {
    expect(formatIpv4(ip('0.0.0.0'))).toBe('0.0.0.0');
    expect(formatIpv4(ip('255.255.255.255'))).toBe('255.255.255.255');
    expect(ip('172.18.0.1')).toBe(0xac120001);
  });

  it('parses CIDRs as written and refuses bad prefixes', () => {
    expect(parseCidrText('10.1.2.3/8')).toEqual({ addr: ip('10.1.2.3'), prefix: 8 });
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/08', '10.0.0.0/', '/8']) {
      expect(parseCidrText(bad)).toBeUndefined();
    }
    expect(formatCidr(cidr('10.1.2.3/8'))).toBe('10.0.0.0/8');
    expect(formatCidr(cidr('0.0.0.0/0'))).toBe('0.0.0.0/0');
  });

  it('answers containment and overlap at the edges', () => {
    const net = cidr('172.18.0.0/16');
    expect(cidrContains(net, ip('172.18.255.255'))).toBe(true);
    expect(cidrContains(net, ip('172.19.0.0'))).toBe(false);
    expect(cidrWithin(net, cidr('172.18.5.0/24'))).toBe(true);
    expect(cidrWithin(cidr('172.18.5.0/24'), net)).toBe(false);
    expect(cidrsOverlap(net, cidr('172.0.0.0/8'))).toBe(true);
    expect(cidrsOverlap(net, cidr('172.19.0.0/16'))).toBe(false);
  });

  it('gives the usable hosts of a prefix', () => {
    expect(hostRange(cidr('10.0.0.0/24'))).toEqual({
      first: ip('10.0.0.1'),
      last: ip('10.0.0.254'),
    });
    expect(hostRange(cidr('10.0.0.0/31'))).toEqual({ first: ip('10.0.0.0'), last: ip('10.0.0.1') });
    expect(hostRange(cidr('10.0.0.7/32'))).toEqual({ first: ip('10.0.0.7'), last: ip('10.0.0.7') });
  });

  it('compares networks of two addresses', () => {
    expect(sameNetwork(ip('10.0.1.2'), ip('10.0.200.1'), 16)).toBe(true);
    expect(sameNetwork(ip('10.0.1.2'), ip('10.1.0.1'), 16)).toBe(false);
    expect(sameNetwork(ip('1.2.3.4'), ip('200.0.0.1'), 0)).toBe(true);
  });
});

describe('MAC', () => {
  it('lower-cases and accepts dashes only when asked', () => {
    expect(parseMac('02:42:AC:11:00:02')).toEqual({ mac: '02:42:ac:11:00:02' });
    expect(parseMac('02-42-ac-11-00-02')).toEqual({ problem: 'malformed' });
    expect(parseMac('02-42-ac-11-00-02', { allowDashes: true })).toEqual({
      mac: '02:42:ac:11:00:02',
    });
  });

  it('refuses multicast, zero and malformed addresses', () => {
    expect(parseMac('01:00:5e:00:00:01')).toEqual({ problem: 'multicast' });
    expect(parseMac('ff:ff:ff:ff:ff:ff')).toEqual({ problem: 'multicast' });
    expect(parseMac('00:00:00:00:00:00')).toEqual({ problem: 'zero' });
    expect(parseMac('02:42:ac:11:00')).toEqual({ problem: 'malformed' });
  });

  it('makes locally administered unicast random MACs', () => {
    for (let i = 0; i < 50; i++) {
      const mac = randomMac();
      expect(parseMac(mac)).toEqual({ mac });
      expect(Number.parseInt(mac.slice(0, 2), 16) & 0b11).toBe(0b10);
    }
  });
});
