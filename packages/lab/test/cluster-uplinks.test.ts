import { describe, expect, it } from 'vitest';
import { MAX_LAB_HOSTS } from '../src/cluster.js';
import { clusterUplinkEnv, externalRange } from '../src/cluster-uplinks.js';

describe("a cluster lab's uplinks", () => {
  it('gives no extra variables to a one-host lab', () => {
    expect(clusterUplinkEnv(1, 1)).toEqual({});
  });

  it('gives every host of a cluster the uplink and its own range of the outside network', () => {
    expect(clusterUplinkEnv(2, 3)).toMatchObject({
      ARCA_HELPER_UPLINK: 'uplink0',
      ARCA_EXTERNAL_CIDR: '198.51.100.0/24',
      ARCA_EXTERNAL_GATEWAY: '198.51.100.1',
      ARCA_EXTERNAL_RANGE: '198.51.100.128/29',
    });
    expect(clusterUplinkEnv(1, 2).ARCA_EXTERNAL_RANGE).toBe('198.51.100.0/25');
  });

  it('keeps the ranges of all hosts disjoint, canonical and inside 198.51.100.0/24', () => {
    const seen = new Set<number>();
    for (let k = 1; k <= MAX_LAB_HOSTS; k++) {
      const match = /^198\.51\.100\.(\d+)\/(\d+)$/.exec(externalRange(k));
      expect(match, `host ${k}: ${externalRange(k)}`).not.toBeNull();
      const [base, prefix] = [Number(match?.[1]), Number(match?.[2])];
      const size = 2 ** (32 - prefix);
      expect(prefix).toBeGreaterThanOrEqual(24);
      expect(base % size).toBe(0);
      for (let last = base; last < base + size; last++) {
        expect(last).toBeLessThan(256);
        expect(seen.has(last)).toBe(false);
        seen.add(last);
      }
    }
    expect(seen.has(1)).toBe(true); // the gateway .1, in host 1's range
  });
});
