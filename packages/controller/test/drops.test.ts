import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CliOvnDriver } from '../src/ovn/driver.js';
import type { Tool, ToolRunner } from '../src/ovn/exec.js';
import { parseTable } from '../src/ovn/json.js';
import { interfaceDrops, readHelperDrops } from '../src/ovs/drops.js';

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

  it('the driver asks ovs-vsctl for the one interface by name', async () => {
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
    expect(await driver.interfaceDrops('lsp1')).toEqual({ rxDropped: 0, txDropped: 0 });
    expect(calls[0]).toEqual({
      tool: 'ovs-vsctl',
      args: [
        '--db=unix:/ovs',
        '--timeout=29',
        '--format=json',
        '--columns=statistics',
        'find',
        'Interface',
        'name=lsp1',
      ],
    });
  });

  it('a place that cannot be read is undefined, the other is still read', async () => {
    const drops = await readHelperDrops('no-such-tap0', async () => ({
      rxDropped: 1,
      txDropped: 2,
    }));
    expect(drops).toEqual({ helperTap: undefined, ovsPort: { rxDropped: 1, txDropped: 2 } });
  });
});
