import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CliOvnDriver } from '../src/ovn/driver.js';
import type { Tool, ToolRunner } from '../src/ovn/exec.js';
import { parseTable } from '../src/ovn/json.js';
import { interfaceDrops, parsePacketSocketDrops, readHelperDrops } from '../src/ovs/drops.js';

const fixture = readFileSync(
  new URL('../../../test/fixtures/ovn/ovs-Interface-statistics.json', import.meta.url),
  'utf8',
);

describe('OVS port drop counters', () => {
  it('reads rx_dropped and tx_dropped from captured Interface statistics', () => {
    const [tap, patch] = parseTable(fixture);
    expect(tap && interfaceDrops(tap)).toEqual({ rxDropped: 0, txDropped: 0 });
    // A patch port has no drop counters: unknown, not zero.
    expect(patch && interfaceDrops(patch)).toBeUndefined();
  });

  it('counts what OVS reports', () => {
    const row = parseTable(
      '{"data":[[["map",[["rx_dropped",12],["tx_dropped",345]]]]],"headings":["statistics"]}',
    )[0];
    expect(row && interfaceDrops(row)).toEqual({ rxDropped: 12, txDropped: 345 });
  });

  it('the driver reads the interfaces by name from one ovs-vsctl list', async () => {
    const calls: { tool: Tool; args: readonly string[] }[] = [];
    const run: ToolRunner = async (tool, args) => {
      calls.push({ tool, args });
      return { stdout: fixture, stderr: '' };
    };
    const driver = new CliOvnDriver(run, {
      nbDb: 'unix:/nb',
      sbDb: 'unix:/sb',
      ovsDb: 'unix:/ovs',
    });
    expect(await driver.interfaceDrops('an96be51be9d271')).toEqual({ rxDropped: 0, txDropped: 0 });
    expect(calls).toEqual([
      {
        tool: 'ovs-vsctl',
        args: [
          '--db=unix:/ovs',
          '--timeout=29',
          '--format=json',
          '--columns=name,statistics',
          'list',
          'Interface',
        ],
      },
    ]);
    // An interface OVS has no row for, or no counters of, is unknown.
    expect(await driver.interfaceDrops('lsp1')).toBeUndefined();
    expect(await driver.interfaceDrops('patch-br-int-to-an-ext-ln')).toBeUndefined();
  });

  it('a place that cannot be read is undefined, the other is still read', async () => {
    const drops = await readHelperDrops('no-such-tap0', {
      interfaceDrops: async () => ({ rxDropped: 1, txDropped: 2 }),
    });
    expect(drops).toEqual({
      helperTap: undefined,
      ovsPort: { rxDropped: 1, txDropped: 2 },
      ovsCapture: undefined,
    });
  });
});

describe("drops of OVS's capture of a TAP (packet sockets)", () => {
  const ss = readFileSync(
    new URL('../../../test/fixtures/ovn/ss-packet-sockets.txt', import.meta.url),
    'utf8',
  );

  it('reads skmem d<N> per bound interface from captured `ss -0 -e -m`', () => {
    const drops = parsePacketSocketDrops(ss);
    expect(drops.get('anaf2fec8500219')).toBe(21788);
    expect(drops.get('anf61f90c2a9693')).toBe(0);
    expect(drops.get('uplink0')).toBe(0);
    expect([...drops.keys()]).toHaveLength(3);
  });

  it('sums two sockets on one interface', () => {
    const two = [
      'p_raw 0 0 *:tap1 * ino:1 sk:1',
      '\tskmem:(r0,rb212992,t0,tb212992,f0,w0,o176,bl0,d5)',
      'p_raw 0 0 *:tap1 * ino:2 sk:2',
      '\tskmem:(r0,rb212992,t0,tb212992,f0,w0,o176,bl0,d7)',
    ].join('\n');
    expect(parsePacketSocketDrops(two).get('tap1')).toBe(12);
  });

  it('readHelperDrops takes the capture drops of its port (0 when no socket is bound)', async () => {
    const readers = { packetSocketDrops: async () => new Map([['other', 3]]) };
    expect((await readHelperDrops('lsp1', readers)).ovsCapture).toBe(0);
  });

  it('one `ss` and one ovs-vsctl serve the attachments asked at the same time; a later request reads again', async () => {
    const calls: Tool[] = [];
    const run: ToolRunner = async (tool) => {
      calls.push(tool);
      return { stdout: tool === 'ss' ? ss : fixture, stderr: '' };
    };
    const driver = new CliOvnDriver(run, {
      nbDb: 'unix:/nb',
      sbDb: 'unix:/sb',
      ovsDb: 'unix:/ovs',
    });
    const ports = Array.from({ length: 100 }, (_, i) => (i === 0 ? 'anaf2fec8500219' : `lsp${i}`));
    const drops = await Promise.all(ports.map((port) => readHelperDrops(port, driver)));
    expect(calls.filter((tool) => tool === 'ss')).toHaveLength(1);
    expect(calls.filter((tool) => tool === 'ovs-vsctl')).toHaveLength(1);
    expect(drops[0]?.ovsCapture).toBe(21788);
    expect(drops[1]?.ovsCapture).toBe(0);
    await readHelperDrops('anaf2fec8500219', driver);
    expect(calls.filter((tool) => tool === 'ss')).toHaveLength(2);
    expect(calls.filter((tool) => tool === 'ovs-vsctl')).toHaveLength(2);
  });
});
