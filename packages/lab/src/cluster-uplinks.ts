/**
 * Every host of a cluster lab has its own uplink, as every real host has
 * (docs/cluster.md, "Uplinks"): the outside namespace's end of host 1's uplink
 * (`ext0`) becomes a port of a Linux bridge `br0` that holds the outside
 * gateway address, and host K ≥ 2 gets a veth `uplink0` (its helper) ↔ `extK`
 * (a port of `br0`). All helpers are then on one external network
 * (198.51.100.0/24): OVN's localnet model, one provider network reachable on
 * every chassis. Each helper hands out addresses from its own range of it
 * (ARCA_EXTERNAL_RANGE), so no two hosts give one address to two routers:
 * host 1 198.51.100.0/25, host K 198.51.100.(128 + 8(K−2))/29 (five network
 * addresses and the helper's `arca-fwd0` at the range's last host address).
 */
import { hostPaths } from './cluster.js';
import { inNamespace, runCommand } from './command.js';
import { HELPER_UPLINK, OUTSIDE_GATEWAY, OUTSIDE_IFACE, uplinkEnv } from './outside.js';
import type { LabPaths } from './paths.js';

/** The bridge in the outside namespace that every host's uplink is a port of. */
export const OUTSIDE_BRIDGE = 'br0';

/** Host K's range of the external network (ARCA_EXTERNAL_RANGE). */
export function externalRange(host: number): string {
  return host === 1 ? '198.51.100.0/25' : `198.51.100.${128 + 8 * (host - 2)}/29`;
}

/** startup.sh's uplink variables of host `host` of `hosts` (host 1 of a one-host lab: the whole network). */
export function clusterUplinkEnv(host: number, hosts: number): Record<string, string> {
  if (hosts <= 1) return {};
  return { ...uplinkEnv(), ARCA_EXTERNAL_RANGE: externalRange(host) };
}

/**
 * Makes the outside namespace's side a bridge and plugs every host K ≥ 2's
 * uplink into it (host 1's already exists: outside.ts). TX checksum offload
 * is off on every end, as on host 1's (OVS's userspace datapath).
 */
export async function createClusterUplinks(paths: LabPaths, hosts: number): Promise<void> {
  if (hosts <= 1) return;
  const outside = paths.outsideNamespace;
  const ip = (...args: string[]) => runCommand(['ip', '-n', outside, ...args]);
  await ip('link', 'add', OUTSIDE_BRIDGE, 'type', 'bridge');
  await ip('addr', 'del', `${OUTSIDE_GATEWAY}/24`, 'dev', OUTSIDE_IFACE);
  await ip('addr', 'add', `${OUTSIDE_GATEWAY}/24`, 'dev', OUTSIDE_BRIDGE);
  await ip('link', 'set', OUTSIDE_IFACE, 'master', OUTSIDE_BRIDGE);
  await ip('link', 'set', OUTSIDE_BRIDGE, 'up');
  for (let k = 2; k <= hosts; k++) {
    const helper = hostPaths(paths, k).helperNamespace;
    const port = `ext${k}`;
    await runCommand([
      ...['ip', 'link', 'add', HELPER_UPLINK, 'netns', helper, 'type', 'veth'],
      ...['peer', 'name', port, 'netns', outside],
    ]);
    await runCommand(inNamespace(outside, ['ethtool', '-K', port, 'tx', 'off']));
    await runCommand(inNamespace(helper, ['ethtool', '-K', HELPER_UPLINK, 'tx', 'off']));
    await ip('link', 'set', port, 'master', OUTSIDE_BRIDGE, 'up');
  }
}
