/**
 * The lab as a cluster of hosts (`lab up --hosts N`, docs/cluster.md). Host 1
 * is the lab directory itself, as with one host; host K ≥ 2 lives in
 * `<lab>/hosts/K` with the namespace prefix `<prefix>-hK`, and has its own lab
 * host process, helper namespace and containers. The helpers are chassis of
 * one OVN deployment: host 1's is the central (NB/SB/northd; every host has
 * its own uplink to the outside world, cluster-uplinks.ts), the others join
 * it over an underlay, a Linux bridge in
 * the namespace `<prefix>-underlay` with a veth `ul0` into each helper at
 * 192.0.2.K/24 (TEST-NET-1; the lab's outside world is 198.51.100.0/24 and its
 * upstream resolver 203.0.113.53). Geneve tunnels and OVSDB run over it.
 */
import { join } from 'node:path';
import { inNamespace, runCommand } from './command.js';
import { createNamespace, deleteNamespace } from './netns.js';
import { LabPaths } from './paths.js';

/** The underlay's network and the helpers' interface on it. */
export const UNDERLAY_CIDR = '192.0.2.0/24';
export const UNDERLAY_IFACE = 'ul0';
/** Most hosts a lab may have (one underlay /24, 2-digit MAC suffix). */
export const MAX_LAB_HOSTS = 16;

/** Host K's underlay address (192.0.2.K). */
export function underlayAddress(host: number): string {
  return `192.0.2.${host}`;
}

/** Host K's underlay MAC: fixed, so every helper can seed the others' in tnl/arp. */
export function underlayMac(host: number): string {
  return `02:00:c0:00:02:${host.toString(16).padStart(2, '0')}`;
}

/** The paths of host `host` (1 = the lab itself). */
export function hostPaths(paths: LabPaths, host: number): LabPaths {
  if (host === 1) return paths;
  return new LabPaths({
    dir: join(paths.dir, 'hosts', String(host)),
    prefix: `${paths.config.prefix}-h${host}`,
  });
}

/** The underlay namespace of a lab. */
export function underlayNamespace(paths: LabPaths): string {
  return `${paths.config.prefix}-underlay`;
}

/** True for the namespaces of a lab's hosts ≥ 2 and its underlay. */
export function ownsClusterNamespace(paths: LabPaths, name: string): boolean {
  const prefix = paths.config.prefix;
  return (
    name === underlayNamespace(paths) ||
    (name.startsWith(`${prefix}-h`) && /^\d+-/.test(name.slice(prefix.length + 2)))
  );
}

/** Checks `--hosts`. */
export function checkHostCount(hosts: number): void {
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > MAX_LAB_HOSTS) {
    throw new RangeError(`--hosts must be an integer from 1 to ${MAX_LAB_HOSTS} (got ${hosts})`);
  }
}

/** startup.sh's cluster variables of host `host` of `hosts` (none for a one-host lab). */
export function clusterEnv(host: number, hosts: number): Record<string, string> {
  if (hosts <= 1) return {};
  const peers: string[] = [];
  for (let k = 1; k <= hosts; k++) {
    if (k !== host) peers.push(`${underlayAddress(k)},${underlayMac(k)}`);
  }
  return {
    ARCA_HELPER_ROLE: host === 1 ? 'central' : 'chassis',
    ARCA_HELPER_UNDERLAY: UNDERLAY_IFACE,
    ARCA_HELPER_UNDERLAY_IP: `${underlayAddress(host)}/24`,
    ARCA_HELPER_CENTRAL: underlayAddress(1),
    ARCA_HELPER_PEERS: peers.join(' '),
    // Chassis names host1, host2, … (readable in `ovn-sbctl show`).
    ARCA_HELPER_SYSTEM_ID: `host${host}`,
  };
}

/**
 * The underlay: a bridge in `<prefix>-underlay` and a veth from it into each
 * host's (existing) helper namespace, with a fixed MAC and no TX checksum
 * offload (OVS's userspace datapath forwards partial checksums as they are).
 */
export async function createUnderlay(paths: LabPaths, hosts: number): Promise<void> {
  const ns = underlayNamespace(paths);
  await createNamespace(ns);
  try {
    await runCommand(['ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
    await runCommand(['ip', '-n', ns, 'link', 'set', 'br0', 'up']);
    for (let k = 1; k <= hosts; k++) {
      const helper = hostPaths(paths, k).helperNamespace;
      const port = `p${k}`;
      await runCommand([
        ...['ip', 'link', 'add', UNDERLAY_IFACE, 'netns', helper, 'address', underlayMac(k)],
        ...['type', 'veth', 'peer', 'name', port, 'netns', ns],
      ]);
      await runCommand(inNamespace(ns, ['ethtool', '-K', port, 'tx', 'off']));
      await runCommand(inNamespace(helper, ['ethtool', '-K', UNDERLAY_IFACE, 'tx', 'off']));
      // startup.sh puts the address on br-phy (ARCA_HELPER_UNDERLAY_IP).
      await runCommand(['ip', '-n', ns, 'link', 'set', port, 'master', 'br0', 'up']);
    }
  } catch (error) {
    await deleteNamespace(ns).catch(() => undefined);
    throw error;
  }
}
