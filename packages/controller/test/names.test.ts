import { describe, expect, it } from 'vitest';
import { externalMac, lrName, lrxName, lsName, lspName, routerMac } from '../src/ovn/names.js';

describe('OVN names', () => {
  it('derive port names from ids that fit a 15-byte interface name', () => {
    const name = lspName('f'.repeat(64), 'n'.repeat(64));
    expect(name).toMatch(/^an[0-9a-f]{13}$/);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(15);
  });

  it('give attach and detach the same name and differ per (container, network)', () => {
    expect(lspName('c1', 'n1')).toBe(lspName('c1', 'n1'));
    expect(lspName('c1', 'n1')).not.toBe(lspName('c1', 'n2'));
    expect(lspName('c1', 'n1')).not.toBe(lspName('n1', 'c1'));
  });

  it('name switches and routers per network', () => {
    expect(lsName('n1')).toMatch(/^an-ls-[0-9a-f]{12}$/);
    expect(lrName('n1').slice(6)).toBe(lsName('n1').slice(6));
  });

  it('make a stable, locally administered unicast router MAC', () => {
    const mac = routerMac('n1');
    expect(mac).toBe(routerMac('n1'));
    expect(mac).toMatch(/^0a(:[0-9a-f]{2}){5}$/);
  });

  it('name the uplink port per network, with its own stable MAC', () => {
    expect(lrxName('n1')).toBe(`an-lrx-${lsName('n1').slice(6)}`);
    expect(externalMac('n1')).toBe(externalMac('n1'));
    expect(externalMac('n1')).toMatch(/^0a(:[0-9a-f]{2}){5}$/);
    expect(externalMac('n1')).not.toBe(routerMac('n1'));
  });
});
