import { describe, expect, it } from 'vitest';
import { checkInterfaceName, parseMac, TapDevice, VsockError } from '../lib/index.js';

describe('TAP argument checks (no device is created)', () => {
  it.each(['a'.repeat(16), 'abc/def', 'a b', 'a:b', '', '.', '..', 'ééééééééé'])(
    'rejects the name %j',
    (name) => {
      expect(() => checkInterfaceName(name)).toThrow(VsockError);
      expect(() => TapDevice.create(name)).toThrow(/bad TAP name/);
    },
  );

  it('accepts a 15-byte name', () => {
    expect(checkInterfaceName('a'.repeat(15))).toBe('a'.repeat(15));
  });

  it.each(['', 'zz:00:00:00:00:01', '02:00:00:00:01', '02-00-00-00-00-01', '02:00:00:00:00:001'])(
    'rejects the unparsable MAC %j',
    (mac) => {
      expect(() => parseMac(mac)).toThrow(/bad MAC/);
      expect(() => TapDevice.create('avtx0', { mac })).toThrow(VsockError);
    },
  );

  it.each(['01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '03:00:00:00:00:01'])(
    'rejects the multicast MAC %s',
    (mac) => {
      expect(() => parseMac(mac)).toThrow(/multicast/);
    },
  );

  it('rejects the all-zero MAC and accepts a unicast one', () => {
    expect(() => parseMac('00:00:00:00:00:00')).toThrow(/all zero/);
    expect([...parseMac('02:AB:cd:00:00:01')]).toEqual([2, 0xab, 0xcd, 0, 0, 1]);
  });

  it.each([0, 67, 65536, 1500.5])('rejects MTU %d', (mtu) => {
    expect(() => TapDevice.create('avtx0', { mtu })).toThrow(/bad MTU/);
  });
});
