/**
 * The per-network resolver's pure parts: names of its OVS port, table and
 * MAC, and the DNS snapshot it serves from a network's endpoints.
 */
import { resolverAddress } from '@arca-net/netaddr';
import { describe, expect, it } from 'vitest';
import {
  resolverMac,
  resolverPortName,
  resolverSnapshot,
  resolverTable,
} from '../src/dns/resolvers.js';
import type { NetworkView } from '../src/domain/network-view.js';

describe('network resolver', () => {
  it('sits on the highest host address that is not the gateway, and none on /30', () => {
    const cidr = { base: 0xac120000, prefix: 16 };
    expect(resolverAddress(cidr, 0xac120001)).toBe(0xac12fffe);
    expect(resolverAddress(cidr, 0xac12fffe)).toBe(0xac12fffd);
    expect(resolverAddress({ base: 0x0a000000, prefix: 30 }, 0x0a000001)).toBeUndefined();
  });

  it('names fit the kernel and are stable per network', () => {
    const id = 'f'.repeat(64);
    expect(resolverPortName(id)).toHaveLength(15);
    expect(resolverPortName(id)).toBe(resolverPortName(id));
    expect(resolverPortName(id)).not.toBe(resolverPortName('other'));
    expect(resolverTable(id)).toBeGreaterThanOrEqual(1000);
    expect(resolverTable(id)).toBeLessThan(31000);
    expect(resolverMac('172.18.255.254')).toBe('02:53:ac:12:ff:fe');
  });

  it("serves each endpoint's hostname, id prefix and aliases, under the network's name", () => {
    const view = {
      record: { networkId: 'n1', name: 'front' },
      endpoints: new Map([
        [
          'c1',
          {
            containerId: 'abcdef012345'.padEnd(64, '0'),
            hostname: 'api',
            aliases: ['web', 'bad name'],
            ip: '172.18.0.2',
          },
        ],
      ]),
    } as unknown as NetworkView;
    expect(resolverSnapshot(view)).toEqual({
      front: {
        containers: [
          { name: 'api', id: '', ipAddress: '172.18.0.2', aliases: ['abcdef012345', 'web'] },
        ],
      },
    });
  });
});
