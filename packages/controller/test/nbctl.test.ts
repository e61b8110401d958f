import { describe, expect, it } from 'vitest';
import type { Tool, ToolRunner } from '../src/ovn/exec.js';
import type { EndpointRecord, NetworkRecord } from '../src/ovn/model.js';
import {
  externalLspName,
  externalMac,
  lbName,
  lrName,
  lrxName,
  lsName,
  lspName,
} from '../src/ovn/names.js';
import {
  addEndpointCmds,
  addUplinkCmds,
  createNetworkCmds,
  DHCP_GUARD_ACL_PRIORITY,
  deleteNetworkCmds,
  dhcpGuardCmd,
  ensureExternalSwitchCmds,
  Nbctl,
  removeEndpointCmds,
  setAclsCmds,
} from '../src/ovn/nbctl.js';
import { addTapPortCmds, Vsctl } from '../src/ovn/vsctl.js';

function fakeRunner(stdout = '') {
  const calls: { tool: Tool; args: readonly string[] }[] = [];
  const run: ToolRunner = async (tool, args) => {
    calls.push({ tool, args });
    return { stdout, stderr: '' };
  };
  return { run, calls };
}

const net: NetworkRecord = {
  networkId: 'n1',
  name: 'web',
  subnet: '198.51.100.0/24',
  gateway: '198.51.100.1',
  ipRange: '',
  excludeIps: '198.51.100.1',
  mtu: 1500,
  internal: false,
  labels: { 'a b': 'c=d' },
  routerMac: '0a:00:00:00:00:01',
};

const ep: EndpointRecord = {
  networkId: 'n1',
  containerId: 'c1',
  portName: lspName('c1', 'n1'),
  ip: '198.51.100.2',
  mac: '02:00:00:00:00:02',
  hostname: 'web1',
  aliases: ['www'],
  vsockPort: 20001,
};

describe('ovn-nbctl transactions', () => {
  it('run a batch as one ovn-nbctl call with -- separators, the db and a timeout', async () => {
    const { run, calls } = fakeRunner('uuid-1\n');
    const nbctl = new Nbctl(run, { db: 'unix:/x/nb.sock', timeoutMs: 10_000 });
    const out = await nbctl.transact(
      [
        ['--may-exist', 'ls-add', 'a'],
        ['ls-del', 'b'],
      ],
      'sb',
    );
    expect(out).toEqual(['uuid-1']);
    expect(calls).toEqual([
      {
        tool: 'ovn-nbctl',
        args: [
          '--db=unix:/x/nb.sock',
          '--timeout=9',
          '--wait=sb',
          '--',
          '--may-exist',
          'ls-add',
          'a',
          '--',
          'ls-del',
          'b',
        ],
      },
    ]);
  });

  it("an internal network's DHCP options carry no router (as its static set-up), and its MTU", () => {
    const dhcp = createNetworkCmds({ ...net, internal: true, mtu: 1400 })[2];
    expect(dhcp?.[4]).toBe(
      'options={"server_id"="198.51.100.1","server_mac"="0a:00:00:00:00:01","dns_server"="198.51.100.1","lease_time"="3600","mtu"="1400"}',
    );
  });

  it('create a network: switch with subnet/exclude_ips, DHCP options, DNS row, router owning the gateway', () => {
    const ls = lsName('n1');
    const cmds = createNetworkCmds(net);
    expect(cmds[0]).toEqual(['--may-exist', 'ls-add', ls]);
    expect(cmds[1]).toEqual([
      'set',
      'Logical_Switch',
      ls,
      'other_config:"subnet"="198.51.100.0/24"',
      'other_config:"exclude_ips"="198.51.100.1"',
      'external_ids={"arca-net:network-id"="n1","arca-net:network-name"="web","arca-net:role"="network","arca-net:subnet"="198.51.100.0/24","arca-net:gateway"="198.51.100.1","arca-net:ip-range"="","arca-net:mtu"="1500","arca-net:internal"="false","arca-net:labels"="{\\"a b\\":\\"c=d\\"}","arca-net:router-mac"="0a:00:00:00:00:01"}',
    ]);
    expect(cmds[2]).toEqual([
      '--id=@dhcp',
      'create',
      'DHCP_Options',
      'cidr="198.51.100.0/24"',
      'options={"server_id"="198.51.100.1","server_mac"="0a:00:00:00:00:01","router"="198.51.100.1","dns_server"="198.51.100.1","lease_time"="3600","mtu"="1500"}',
      'external_ids={"arca-net:network-id"="n1","arca-net:network-name"="web","arca-net:role"="dhcp"}',
    ]);
    expect(cmds).toContainEqual(['add', 'Logical_Switch', ls, 'dns_records', '@dns']);
    expect(cmds).toContainEqual([
      '--may-exist',
      'lrp-add',
      `an-lr-${ls.slice(6)}`,
      `an-lrp-${ls.slice(6)}`,
      '0a:00:00:00:00:01',
      '198.51.100.1/24',
    ]);
  });

  it("a network's switch drops DHCP server replies from its ports (from-lport); policies replace only to-lport ACLs", () => {
    const guard = [
      ...['--may-exist', 'acl-add', lsName('n1'), 'from-lport', String(DHCP_GUARD_ACL_PRIORITY)],
      ...['udp && udp.src == 67 && udp.dst == 68', 'drop'],
    ];
    expect(dhcpGuardCmd('n1')).toEqual(guard);
    expect(createNetworkCmds(net)).toContainEqual(dhcpGuardCmd(net.networkId));
    expect(setAclsCmds('n1', [])).toEqual([['acl-del', lsName('n1'), 'to-lport']]);
  });

  it('attach and detach use the same port name and DNS records', () => {
    const add = addEndpointCmds(ep, 'dhcp-uuid', 'dns-uuid', ['web1', 'c1', 'www']);
    expect(add).toEqual([
      ['lsp-add', lsName('n1'), ep.portName],
      ['lsp-set-addresses', ep.portName, '02:00:00:00:00:02 198.51.100.2'],
      ['lsp-set-port-security', ep.portName, '02:00:00:00:00:02 198.51.100.2'],
      ['lsp-set-dhcpv4-options', ep.portName, 'dhcp-uuid'],
      [
        'set',
        'Logical_Switch_Port',
        ep.portName,
        'external_ids={"arca-net:network-id"="n1","arca-net:container-id"="c1","arca-net:role"="endpoint","arca-net:ip"="198.51.100.2","arca-net:mac"="02:00:00:00:00:02","arca-net:hostname"="web1","arca-net:aliases"="www","arca-net:vsock-port"="20001"}',
      ],
      dhcpGuardCmd('n1'),
      ['add', 'DNS', 'dns-uuid', 'records', '"web1"="198.51.100.2"'],
      ['add', 'DNS', 'dns-uuid', 'records', '"c1"="198.51.100.2"'],
      ['add', 'DNS', 'dns-uuid', 'records', '"www"="198.51.100.2"'],
    ]);
    expect(removeEndpointCmds(ep, 'dns-uuid', ['web1'])).toEqual([
      ['--if-exists', 'lsp-del', ep.portName],
      ['remove', 'DNS', 'dns-uuid', 'records', '"web1"="198.51.100.2"'],
    ]);
  });

  it('create the external switch with a localnet port on network "external" and the inbound drop', () => {
    expect(ensureExternalSwitchCmds({ cidr: '198.51.100.0/24', gateway: '198.51.100.1' })).toEqual([
      ['--may-exist', 'ls-add', 'an-ext'],
      [
        'set',
        'Logical_Switch',
        'an-ext',
        'external_ids={"arca-net:role"="external","arca-net:subnet"="198.51.100.0/24","arca-net:gateway"="198.51.100.1"}',
      ],
      ['--may-exist', 'lsp-add', 'an-ext', 'an-ext-ln'],
      ['lsp-set-type', 'an-ext-ln', 'localnet'],
      ['lsp-set-addresses', 'an-ext-ln', 'unknown'],
      ['lsp-set-options', 'an-ext-ln', 'network_name=external'],
      ['set', 'Logical_Switch_Port', 'an-ext-ln', 'external_ids={"arca-net:role"="external"}'],
      [
        '--may-exist',
        'acl-add',
        'an-ext',
        'from-lport',
        '1000',
        'inport == "an-ext-ln" && ip4 && ip4.dst != 198.51.100.0/24',
        'drop',
      ],
    ]);
  });

  it('connect a router to the uplink: gateway port on the chassis, default route, SNAT of the subnet', () => {
    const tag = lsName('n1').slice(6);
    const lrx = `an-lrx-${tag}`;
    const xp = `an-xp-${tag}`;
    expect(lrxName('n1')).toBe(lrx);
    expect(externalLspName('n1')).toBe(xp);
    const ids =
      'external_ids={"arca-net:network-id"="n1","arca-net:network-name"="web","arca-net:role"="external-port"}';
    expect(
      addUplinkCmds(
        { networkId: 'n1', name: 'web', subnet: '203.0.113.0/24', externalIp: '198.51.100.2' },
        { cidr: '198.51.100.0/24', gateway: '198.51.100.1', chassis: 'chassis-1' },
      ),
    ).toEqual([
      ['set', 'Logical_Switch', lsName('n1'), 'external_ids:"arca-net:external-ip"="198.51.100.2"'],
      ['--may-exist', 'lrp-add', lrName('n1'), lrx, externalMac('n1'), '198.51.100.2/24'],
      ['set', 'Logical_Router_Port', lrx, ids],
      ['lrp-set-gateway-chassis', lrx, 'chassis-1', '1'],
      ['--may-exist', 'lsp-add', 'an-ext', xp],
      ['lsp-set-type', xp, 'router'],
      ['lsp-set-addresses', xp, 'router'],
      ['lsp-set-options', xp, `router-port=${lrx}`],
      ['set', 'Logical_Switch_Port', xp, ids],
      ['--may-exist', 'lr-route-add', lrName('n1'), '0.0.0.0/0', '198.51.100.1'],
      ['--may-exist', 'lr-nat-add', lrName('n1'), 'snat', '198.51.100.2', '203.0.113.0/24'],
    ]);
  });

  it('delete a network with its external port, router, load balancers and DHCP rows', () => {
    expect(
      deleteNetworkCmds('n1', {
        dhcpUuids: ['d-1'],
        dnsUuids: ['dns-1'],
        lbNames: [lbName('n1', 'tcp', 80)],
      }),
    ).toEqual([
      ['--if-exists', 'lb-del', lbName('n1', 'tcp', 80)],
      ['--if-exists', 'ls-del', lsName('n1')],
      ['--if-exists', 'lsp-del', externalLspName('n1')],
      ['--if-exists', 'lr-del', lrName('n1')],
      ['dhcp-options-del', 'd-1'],
      ['--if-exists', 'destroy', 'DNS', 'dns-1'],
    ]);
  });

  it('read tables with --format=json and decode them', async () => {
    const { run, calls } = fakeRunner(
      '{"data":[["a",["map",[["k","v"]]]]],"headings":["name","external_ids"]}',
    );
    const rows = await new Nbctl(run, { db: 'unix:/nb' }).list('Logical_Switch', [
      'name',
      'external_ids',
    ]);
    expect(rows[0]?.name).toBe('a');
    expect(calls[0]?.args).toEqual([
      '--db=unix:/nb',
      '--timeout=29',
      '--format=json',
      '--columns=name,external_ids',
      'list',
      'Logical_Switch',
    ]);
  });
});

describe('ovs-vsctl transactions', () => {
  it('plug a TAP into br-int bound to its logical switch port with ovs-docker ids', async () => {
    const { run, calls } = fakeRunner();
    await new Vsctl(run, { db: 'unix:/ovs', timeoutMs: 5000 }).transact(
      addTapPortCmds({
        name: 'anabc',
        containerId: 'c1',
        networkId: 'n1',
        containerIface: 'eth0',
        mtu: 1400,
      }),
    );
    expect(calls[0]).toEqual({
      tool: 'ovs-vsctl',
      args: [
        '--db=unix:/ovs',
        '--timeout=4',
        '--',
        '--may-exist',
        'add-port',
        'br-int',
        'anabc',
        '--',
        'set',
        'Interface',
        'anabc',
        'external_ids:"iface-id"="anabc"',
        'external_ids:"container_id"="c1"',
        'external_ids:"container_iface"="eth0"',
        'external_ids:"arca-net:container-id"="c1"',
        'external_ids:"arca-net:network-id"="n1"',
        'mtu_request=1400',
      ],
    });
  });
});
