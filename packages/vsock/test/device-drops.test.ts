import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseProcNetDev, readDeviceDrops } from '../lib/device-drops.js';

const fixture = new URL('./fixtures/proc-net-dev.txt', import.meta.url);

describe('device drop counters from /proc/net/dev', () => {
  it('reads receive drop (4th number) and transmit drop (12th) per device', async () => {
    const drops = parseProcNetDev(await readFile(fixture, 'utf8'));
    expect(drops.get('lsp-3f2a9c01d2e4')).toEqual({ rxDropped: 17, txDropped: 313031 });
    expect(drops.get('eth0')).toEqual({ rxDropped: 0, txDropped: 5 });
    expect(drops.get('lo')).toEqual({ rxDropped: 0, txDropped: 0 });
    expect([...drops.keys()]).toHaveLength(3);
  });

  it('skips the header and lines that do not parse', () => {
    const drops = parseProcNetDev('Inter-| Receive | Transmit\n face |bytes\nbad: 1 2 3\n\n');
    expect(drops.size).toBe(0);
  });

  it("reads this process's own namespace: lo exists, an unknown device is undefined", async () => {
    expect(await readDeviceDrops('lo')).toMatchObject({ rxDropped: expect.any(Number) });
    expect(await readDeviceDrops('no-such-dev0')).toBeUndefined();
  });
});
