import { describe, expect, it } from 'vitest';
import { normalizeMac, stableMac } from '../src/mac.js';

describe('MAC addresses', () => {
  it('are stable per (container, network), locally administered unicast 02:42:…', () => {
    const a = stableMac('c1', 'n1');
    expect(a).toMatch(/^02:42(:[0-9a-f]{2}){4}$/);
    expect(stableMac('c1', 'n1')).toBe(a);
    expect(stableMac('c1', 'n2')).not.toBe(a);
    expect(stableMac('c2', 'n1')).not.toBe(a);
  });

  it('given MACs are normalised, multicast and malformed ones refused', () => {
    expect(normalizeMac('02-AA-bb-CC-dd-EE')).toBe('02:aa:bb:cc:dd:ee');
    expect(() => normalizeMac('01:00:5e:00:00:01')).toThrow(/multicast/);
    expect(() => normalizeMac('00:00:00:00:00:00')).toThrow(/all-zero/);
    expect(() => normalizeMac('02:aa:bb:cc:dd')).toThrow(/invalid MAC address 02:aa:bb:cc:dd/);
  });
});
