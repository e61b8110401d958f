import { describe, expect, it } from 'vitest';
import { defaultOvsdb, portStem } from '../src/ovs/ovs-docker.js';
import { containerPortConditions, ovsDockerIdArgs } from '../src/ovs/ports.js';
import {
  addressProblem,
  bridgeNameProblem,
  gatewayProblem,
  interfaceNameProblem,
  macProblem,
  mtuProblem,
  vlanProblem,
} from '../src/ovs/validate.js';

const ID = '1322aba3640c7f3e8b9c123456789abc1322aba3640c7f3e8b9c123456789abc';

describe('port names', () => {
  it('start with the first 12 hex characters of the container id and fit in 15 bytes', () => {
    const stem = portStem(ID, 'eth1');
    expect(stem.slice(0, 12)).toBe('1322aba3640c');
    expect(`${stem}_l`).toHaveLength(15);
    expect(portStem(ID, 'eth1')).toBe(stem);
  });

  it('differ between interfaces of one container (and move on when taken)', () => {
    const stems = new Set(['eth0', 'eth1', 'eth2', 'eth3'].map((i) => portStem(ID, i)));
    expect(stems.size).toBeGreaterThan(1);
    expect(portStem(ID, 'eth1', 1)).not.toBe(portStem(ID, 'eth1'));
  });

  it('come from a hash of CONTAINER when it is a name', () => {
    expect(portStem('web', 'eth1')).toMatch(/^[0-9a-f]{12}[0-9a-v]$/);
    expect(portStem('web', 'eth1')).not.toBe(portStem('db', 'eth1'));
  });
});

describe('OVSDB syntax', () => {
  it('quotes the ids, so container names cannot inject syntax', () => {
    expect(ovsDockerIdArgs('a"b', 'eth0')).toEqual([
      'external_ids:"container_id"="a\\"b"',
      'external_ids:"container_iface"="eth0"',
    ]);
    expect(containerPortConditions('c,1={x}')).toEqual(['external_ids:"container_id"="c,1={x}"']);
  });

  it('finds the database as ovs-vsctl does', () => {
    expect(defaultOvsdb({})).toBe('unix:/var/run/openvswitch/db.sock');
    expect(defaultOvsdb({ OVS_RUNDIR: '/tmp/ovs' })).toBe('unix:/tmp/ovs/db.sock');
  });
});

describe('argument checks', () => {
  it('interface and bridge names', () => {
    expect(interfaceNameProblem('eth0')).toBeUndefined();
    expect(interfaceNameProblem('a'.repeat(15))).toBeUndefined();
    expect(interfaceNameProblem('a'.repeat(16))).toMatch(/16 bytes/);
    expect(interfaceNameProblem('ethé'.repeat(4))).toMatch(/bytes/);
    expect(interfaceNameProblem('a/b')).toBeDefined();
    expect(interfaceNameProblem('..')).toBeDefined();
    expect(bridgeNameProblem('br-int')).toBeUndefined();
    expect(bridgeNameProblem('br"x')).toBeDefined();
    expect(bridgeNameProblem('br{a=b}')).toBeDefined();
    expect(bridgeNameProblem('br,1')).toBeDefined();
  });

  it('addresses, gateways, MACs, MTUs, VLANs', () => {
    expect(addressProblem('192.168.1.2/24')).toBeUndefined();
    expect(addressProblem('192.168.1.2')).toBeUndefined();
    expect(addressProblem('fd00::2/64')).toBeUndefined();
    expect(addressProblem('192.168.1.2/33')).toBeDefined();
    expect(addressProblem('192.168.1.256/24')).toBeDefined();
    expect(addressProblem('1.2.3.4/24/1')).toBeDefined();
    expect(gatewayProblem('192.168.1.1')).toBeUndefined();
    expect(gatewayProblem('192.168.1.1/24')).toBeDefined();
    expect(macProblem('a2:c3:0d:49:7f:f8')).toBeUndefined();
    expect(macProblem('a3:c3:0d:49:7f:f8')).toMatch(/multicast/);
    expect(macProblem('a2:c3:0d:49:7f')).toBeDefined();
    expect(mtuProblem('1450')).toBeUndefined();
    expect(mtuProblem('67')).toBeDefined();
    expect(mtuProblem('65536')).toBeDefined();
    expect(mtuProblem('1e3')).toBeDefined();
    expect(vlanProblem('0')).toBeUndefined();
    expect(vlanProblem('4095')).toBeUndefined();
    expect(vlanProblem('4096')).toMatch(/valid range 0 to 4095/);
    expect(vlanProblem('-1')).toBeDefined();
  });
});
