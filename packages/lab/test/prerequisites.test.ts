import { describe, expect, it } from 'vitest';
import { checkPrerequisites } from '../src/prerequisites.js';

describe('lab prerequisites', () => {
  it('asks for root in one line (LAB_UNAVAILABLE: exit 3)', async () => {
    await expect(checkPrerequisites({ uid: 1000 })).rejects.toMatchObject({
      code: 'LAB_UNAVAILABLE',
      kind: 'unavailable',
      message:
        'the lab needs root (network namespaces, TAP devices, Open vSwitch): run it with sudo',
    });
  });

  it('names the missing binaries and the Debian packages that have them', async () => {
    await expect(checkPrerequisites({ uid: 0, searchPath: [] })).rejects.toMatchObject({
      code: 'LAB_UNAVAILABLE',
      kind: 'unavailable',
      message:
        "missing ip, ovsdb-server, ovs-vswitchd, ovs-vsctl, ovsdb-tool, ovn-northd, ovn-nbctl, ovn-controller, ethtool: install with 'apt-get install iproute2 openvswitch-switch ovn-central ovn-host ethtool' (or run 'make setup')",
    });
  });
});
