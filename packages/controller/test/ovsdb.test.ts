import { describe, expect, it } from 'vitest';
import { Appctl } from '../src/ovn/appctl.js';
import { CliOvnDriver } from '../src/ovn/driver.js';
import type { Tool, ToolRunner } from '../src/ovn/exec.js';
import { externalLspName, lbName, lrName, lsName } from '../src/ovn/names.js';
import { Nbctl } from '../src/ovn/nbctl.js';
import { OvsdbCli } from '../src/ovn/ovsdb.js';
import { Sbctl } from '../src/ovn/sbctl.js';
import { Vsctl } from '../src/ovn/vsctl.js';

function fakeRunner(stdout: (tool: Tool, args: readonly string[]) => string = () => '') {
  const calls: { tool: Tool; args: readonly string[] }[] = [];
  const run: ToolRunner = async (tool, args) => {
    calls.push({ tool, args });
    return { stdout: stdout(tool, args), stderr: '' };
  };
  return { run, calls };
}

const EMPTY_TABLE = '{"data":[],"headings":["_uuid"]}';

describe('the ovsdb CLI base', () => {
  it('runs a transaction with the db, the tool timeout and -- between commands; an empty batch runs nothing', async () => {
    const { run, calls } = fakeRunner(() => 'uuid-1\nuuid-2\n');
    const cli = new OvsdbCli(run, 'ovn-sbctl', { db: 'unix:/x/sb.sock', timeoutMs: 10_000 });
    expect(
      await cli.transact([
        ['chassis-del', 'a'],
        ['--if-exists', 'destroy', 'MAC_Binding', 'b'],
      ]),
    ).toEqual(['uuid-1', 'uuid-2']);
    expect(await cli.transact([])).toEqual([]);
    expect(calls).toEqual([
      {
        tool: 'ovn-sbctl',
        args: [
          '--db=unix:/x/sb.sock',
          '--timeout=9',
          '--',
          'chassis-del',
          'a',
          '--',
          '--if-exists',
          'destroy',
          'MAC_Binding',
          'b',
        ],
      },
    ]);
  });

  it('finds rows by conditions with --format=json and decodes them', async () => {
    const { run, calls } = fakeRunner(
      () => '{"data":[[["uuid","5e0b"],"lb-1"]],"headings":["_uuid","name"]}',
    );
    const rows = await new Nbctl(run, { db: 'unix:/nb' }).find(
      'Load_Balancer',
      ['external_ids:"arca-net:network-id"="n1"'],
      ['_uuid', 'name'],
    );
    expect(rows).toEqual([{ _uuid: '5e0b', name: 'lb-1' }]);
    expect(calls[0]).toEqual({
      tool: 'ovn-nbctl',
      args: [
        '--db=unix:/nb',
        '--timeout=29',
        '--format=json',
        '--columns=_uuid,name',
        'find',
        'Load_Balancer',
        'external_ids:"arca-net:network-id"="n1"',
      ],
    });
  });

  it('waits until a row matches with its own --timeout, rounded up to seconds', async () => {
    const { run, calls } = fakeRunner();
    await new Sbctl(run, { db: 'unix:/sb' }).waitPortUp('an-p1', 14_500);
    expect(calls).toEqual([
      {
        tool: 'ovn-sbctl',
        args: ['--db=unix:/sb', '--timeout=15', 'wait-until', 'Port_Binding', 'an-p1', 'up=true'],
      },
    ]);
  });
});

describe('the typed wrappers', () => {
  it('ovn-sbctl lists the chassis names', async () => {
    const { run, calls } = fakeRunner(
      () => '{"data":[["chassis-1"],["chassis-2"]],"headings":["name"]}',
    );
    expect(await new Sbctl(run, { db: 'unix:/sb', timeoutMs: 5000 }).chassisNames()).toEqual([
      'chassis-1',
      'chassis-2',
    ]);
    expect(calls[0]).toEqual({
      tool: 'ovn-sbctl',
      args: ['--db=unix:/sb', '--timeout=4', '--format=json', '--columns=name', 'list', 'Chassis'],
    });
  });

  it('ovs-vsctl lists a table on its own database', async () => {
    const { run, calls } = fakeRunner(() => EMPTY_TABLE);
    await new Vsctl(run, { db: 'unix:/ovs' }).list('Bridge', ['name']);
    expect(calls[0]).toEqual({
      tool: 'ovs-vsctl',
      args: ['--db=unix:/ovs', '--timeout=29', '--format=json', '--columns=name', 'list', 'Bridge'],
    });
  });

  it('ovs-appctl and ovn-appctl name the control socket and carry the tool timeout', async () => {
    const { run, calls } = fakeRunner(() => 'Status: active\n');
    expect(
      await new Appctl(run, 'ovs-appctl', { timeoutMs: 5000 }).call(
        '/run/x/ovn-northd.ctl',
        'status',
      ),
    ).toBe('Status: active\n');
    await new Appctl(run, 'ovn-appctl').call(
      '/run/x/ovn-controller.ctl',
      'debug/chassis-features-list',
    );
    expect(calls).toEqual([
      { tool: 'ovs-appctl', args: ['-t', '/run/x/ovn-northd.ctl', '--timeout=4', 'status'] },
      {
        tool: 'ovn-appctl',
        args: ['-t', '/run/x/ovn-controller.ctl', '--timeout=29', 'debug/chassis-features-list'],
      },
    ]);
  });
});

describe('the CLI driver', () => {
  it('waits for a port binding through ovn-sbctl wait-until', async () => {
    const { run, calls } = fakeRunner();
    const driver = new CliOvnDriver(run, {
      nbDb: 'unix:/nb',
      sbDb: 'unix:/sb',
      ovsDb: 'unix:/ovs',
    });
    expect(await driver.waitPortUp('an-p1', 15_000)).toBe(true);
    expect(calls).toEqual([
      {
        tool: 'ovn-sbctl',
        args: ['--db=unix:/sb', '--timeout=15', 'wait-until', 'Port_Binding', 'an-p1', 'up=true'],
      },
    ]);
  });

  it('asks northd for its status through ovs-appctl in the run directory', async () => {
    const { run, calls } = fakeRunner((tool) =>
      tool === 'ovs-appctl' ? 'Status: active\n' : EMPTY_TABLE,
    );
    const driver = new CliOvnDriver(run, {
      nbDb: 'unix:/nb',
      sbDb: 'unix:/sb',
      ovsDb: 'unix:/ovs',
      runDir: '/run/h',
      timeoutMs: 10_000,
    });
    const health = await driver.health();
    expect(health.ovnStatus).toContain('northd active');
    expect(calls.filter((c) => c.tool === 'ovs-appctl')).toEqual([
      { tool: 'ovs-appctl', args: ['-t', '/run/h/ovn-northd.ctl', '--timeout=9', 'status'] },
    ]);
  });

  it('deletes a network with the rows it finds by the network-id key, in one transaction', async () => {
    const { run, calls } = fakeRunner((_tool, args) => {
      if (!args.includes('find')) return '';
      if (args.includes('DHCP_Options')) return '{"data":[[["uuid","d-1"]]],"headings":["_uuid"]}';
      if (args.includes('DNS')) return '{"data":[[["uuid","dns-1"]]],"headings":["_uuid"]}';
      return `{"data":[["${lbName('n1', 'tcp', 80)}"]],"headings":["name"]}`;
    });
    const driver = new CliOvnDriver(run, {
      nbDb: 'unix:/nb',
      sbDb: 'unix:/sb',
      ovsDb: 'unix:/ovs',
    });
    await driver.deleteNetwork('n1');
    const key = 'external_ids:"arca-net:network-id"="n1"';
    const base = ['--db=unix:/nb', '--timeout=29'];
    expect(calls).toEqual([
      {
        tool: 'ovn-nbctl',
        args: [...base, '--format=json', '--columns=_uuid', 'find', 'DHCP_Options', key],
      },
      {
        tool: 'ovn-nbctl',
        args: [...base, '--format=json', '--columns=_uuid', 'find', 'DNS', key],
      },
      {
        tool: 'ovn-nbctl',
        args: [...base, '--format=json', '--columns=name', 'find', 'Load_Balancer', key],
      },
      {
        tool: 'ovn-nbctl',
        args: [
          ...base,
          '--',
          '--if-exists',
          'lb-del',
          lbName('n1', 'tcp', 80),
          '--',
          '--if-exists',
          'ls-del',
          lsName('n1'),
          ...['--', '--if-exists', 'lsp-del', externalLspName('n1')],
          ...['--', '--if-exists', 'lr-del', lrName('n1')],
          ...['--', 'dhcp-options-del', 'd-1'],
          ...['--', '--if-exists', 'destroy', 'DNS', 'dns-1'],
        ],
      },
    ]);
  });
});
