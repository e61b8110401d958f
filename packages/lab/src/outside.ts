/**
 * The lab's outside world: a namespace `<prefix>-outside` at 198.51.100.1/24
 * (documentation range), joined by a veth pair to the helper namespace,
 * whose end is the helper's uplink (startup.sh's ARCA_HELPER_UPLINK on br-ex).
 * Lab networks reach it through their routers (SNAT), and published ports are
 * reachable from it. It goes with its namespace on `lab down`.
 */
import { inNamespace, runCommand } from './command.js';
import { createNamespace, deleteNamespace } from './netns.js';
import type { LabPaths } from './paths.js';

/** The outside network and its address in the outside namespace (the uplink's next hop). */
export const OUTSIDE_CIDR = '198.51.100.0/24';
export const OUTSIDE_GATEWAY = '198.51.100.1';
/** The veth end in the helper namespace (ARCA_HELPER_UPLINK). */
export const HELPER_UPLINK = 'uplink0';
/** The veth end in the outside namespace. */
export const OUTSIDE_IFACE = 'ext0';

/** startup.sh's uplink variables for the lab. */
export function uplinkEnv(): Record<string, string> {
  return {
    ARCA_HELPER_UPLINK: HELPER_UPLINK,
    ARCA_EXTERNAL_CIDR: OUTSIDE_CIDR,
    ARCA_EXTERNAL_GATEWAY: OUTSIDE_GATEWAY,
  };
}

/**
 * Creates the outside namespace and the veth pair into the (existing) helper
 * namespace. Both ends lose TX checksum offload: OVS's userspace datapath
 * reads frames via AF_PACKET and forwards partial checksums as they are.
 */
export async function createOutside(paths: LabPaths): Promise<void> {
  const outside = paths.outsideNamespace;
  await createNamespace(outside);
  try {
    await runCommand([
      ...['ip', 'link', 'add', HELPER_UPLINK, 'netns', paths.helperNamespace, 'type', 'veth'],
      ...['peer', 'name', OUTSIDE_IFACE, 'netns', outside],
    ]);
    await runCommand(inNamespace(outside, ['ethtool', '-K', OUTSIDE_IFACE, 'tx', 'off']));
    await runCommand(
      inNamespace(paths.helperNamespace, ['ethtool', '-K', HELPER_UPLINK, 'tx', 'off']),
    );
    await runCommand([
      ...['ip', '-n', outside, 'addr', 'add', `${OUTSIDE_GATEWAY}/24`, 'dev', OUTSIDE_IFACE],
    ]);
    await runCommand(['ip', '-n', outside, 'link', 'set', OUTSIDE_IFACE, 'up']);
  } catch (error) {
    await deleteNamespace(outside).catch(() => undefined);
    throw error;
  }
}
