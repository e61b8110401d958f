/**
 * OVN/OVS object names, derived from ids only (never from user strings).
 * Port names double as OVS interface (TAP) names, so they fit IFNAMSIZ-1 = 15 bytes.
 */
import { createHash } from 'node:crypto';

function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

/** 12 hex characters naming one network in every object name. */
export function networkTag(networkId: string): string {
  return digest('network', networkId).slice(0, 12);
}

/** Logical switch of a network. */
export function lsName(networkId: string): string {
  return `an-ls-${networkTag(networkId)}`;
}

/** Logical router of a network (owns the gateway IP). */
export function lrName(networkId: string): string {
  return `an-lr-${networkTag(networkId)}`;
}

/** Logical router port holding the gateway IP. */
export function lrpName(networkId: string): string {
  return `an-lrp-${networkTag(networkId)}`;
}

/** The switch-side peer of {@link lrpName} (type router). */
export function routerLspName(networkId: string): string {
  return `an-rp-${networkTag(networkId)}`;
}

/**
 * Logical switch port of one attachment; also the name of its TAP on br-int
 * (15 bytes: "an" + 13 hex characters).
 */
export function lspName(containerId: string, networkId: string): string {
  return `an${digest('attachment', containerId, networkId).slice(0, 13)}`;
}

/** Load balancer of one published port. */
export function lbName(networkId: string, protocol: string, hostPort: number): string {
  return `an-lb-${networkTag(networkId)}-${protocol}-${hostPort}`;
}

/** The shared logical switch of the outside world (one per helper, not per network). */
export function externalLsName(): string {
  return 'an-ext';
}

/** The localnet port of {@link externalLsName}: the uplink bridge seen from OVN. */
export function externalLocalnetName(): string {
  return 'an-ext-ln';
}

/** OVN's `network_name` of the uplink; startup.sh maps it to br-ex (`ovn-bridge-mappings`). */
export const EXTERNAL_NETWORK_NAME = 'external';

/** A network router's gateway port on the external switch (owns the network's external address). */
export function lrxName(networkId: string): string {
  return `an-lrx-${networkTag(networkId)}`;
}

/** The external-switch peer of {@link lrxName} (type router). */
export function externalLspName(networkId: string): string {
  return `an-xp-${networkTag(networkId)}`;
}

function macOf(kind: string, networkId: string): string {
  const hex = digest(kind, networkId);
  const bytes = [
    '0a',
    hex.slice(0, 2),
    hex.slice(2, 4),
    hex.slice(4, 6),
    hex.slice(6, 8),
    hex.slice(8, 10),
  ];
  return bytes.join(':');
}

/** The router port's MAC: locally administered unicast, stable per network id. */
export function routerMac(networkId: string): string {
  return macOf('router-mac', networkId);
}

/** The MAC of a router's gateway port on the external switch, stable per network id. */
export function externalMac(networkId: string): string {
  return macOf('external-mac', networkId);
}
