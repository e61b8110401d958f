import { describe, expect, it } from 'vitest';
import {
  checkHostCount,
  clusterEnv,
  hostPaths,
  underlayAddress,
  underlayMac,
} from '../src/cluster.js';
import { LabPaths } from '../src/paths.js';

const lab = new LabPaths({ dir: '/tmp/lab', prefix: 'xy' });

describe('the lab as a cluster', () => {
  it('puts host 1 in the lab itself and host K in <lab>/hosts/K with prefix <prefix>-hK', () => {
    expect(hostPaths(lab, 1)).toBe(lab);
    const two = hostPaths(lab, 2);
    expect(two.dir).toBe('/tmp/lab/hosts/2');
    expect(two.helperNamespace).toBe('xy-h2-helper');
    expect(two.containerNamespace('0123456789abcdef')).toBe('xy-h2-c-0123456789ab');
  });

  it('owns the namespaces of every host and the underlay, not the ones of a lab named alike', () => {
    for (const name of ['xy-helper', 'xy-underlay', 'xy-h2-helper', 'xy-h12-c-0123456789ab']) {
      expect(lab.ownsNamespace(name), name).toBe(true);
    }
    for (const name of ['xyz-helper', 'xy-hx-helper', 'xy-h2', 'other-h2-helper']) {
      expect(lab.ownsNamespace(name), name).toBe(false);
    }
  });

  it('makes host 1 central and the others chassis of it, each seeded with its peers', () => {
    expect(clusterEnv(1, 1)).toEqual({});
    expect(clusterEnv(1, 3)).toMatchObject({
      ARCA_HELPER_ROLE: 'central',
      ARCA_HELPER_UNDERLAY_IP: '192.0.2.1/24',
      ARCA_HELPER_SYSTEM_ID: 'host1',
    });
    expect(clusterEnv(3, 3)).toMatchObject({
      ARCA_HELPER_ROLE: 'chassis',
      ARCA_HELPER_CENTRAL: '192.0.2.1',
      ARCA_HELPER_PEERS: `192.0.2.1,${underlayMac(1)} 192.0.2.2,${underlayMac(2)}`,
    });
    expect(underlayAddress(2)).toBe('192.0.2.2');
    expect(underlayMac(12)).toBe('02:00:c0:00:02:0c');
  });

  it('takes 1 to 16 hosts', () => {
    expect(() => checkHostCount(1)).not.toThrow();
    expect(() => checkHostCount(16)).not.toThrow();
    for (const bad of [0, 17, 1.5, Number.NaN]) expect(() => checkHostCount(bad)).toThrow();
  });
});
