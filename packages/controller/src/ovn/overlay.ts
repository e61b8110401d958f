/**
 * Overlay networks (a cluster of hosts, docs/cluster.md): one logical switch
 * in the central NB that every helper (chassis) sees. Addresses of its
 * endpoints are allocated there, not by each helper: the port is created with
 * `"MAC dynamic"` and ovn-northd, the one writer of `dynamic_addresses`,
 * picks a free address of the switch's `other_config:subnet` (respecting
 * `exclude_ips` and every static address). Two helpers connecting at the same
 * moment therefore never get the same address. The address then becomes the
 * port's static address, port security and DNS record (addEndpointCmds).
 */
import { ExternalId } from './ids.js';
import { str } from './json.js';
import { lsName } from './names.js';
import type { Nbctl } from './nbctl.js';
import { mapValue } from './ovsdb.js';

/** What the allocation needs of an endpoint. */
export interface OverlayPort {
  networkId: string;
  containerId: string;
  portName: string;
  mac: string;
  /** The chassis (system-id) that binds the port. */
  chassis: string;
}

/** A requested address that another endpoint of the overlay network (on any chassis) holds. */
export class OverlayAddressTaken extends Error {
  constructor(ip: string, networkId: string) {
    super(`ip_address ${ip} is already in use on network ${networkId}`);
  }
}

/** How long northd may take to fill `dynamic_addresses`. */
const ALLOCATION_TIMEOUT_MS = 15_000;

/**
 * Creates the port with `"MAC dynamic"` (or the requested static address) and
 * returns the address OVN gave it. The port carries no `arca-net:ip` yet: a
 * helper that restarts before {@link addEndpointCmds} finishes sees it as an
 * incomplete endpoint of its own.
 */
export async function allocateOverlayAddress(
  nbctl: Nbctl,
  port: OverlayPort,
  requested?: string,
): Promise<string> {
  if (requested) {
    const holders = await nbctl.find(
      'Logical_Switch_Port',
      [
        `external_ids:"${ExternalId.networkId}"="${port.networkId}"`,
        `external_ids:"${ExternalId.ip}"="${requested}"`,
      ],
      ['name'],
    );
    if (holders.some((row) => str(row, 'name') !== port.portName)) {
      throw new OverlayAddressTaken(requested, port.networkId);
    }
  }
  const addresses = `${port.mac} ${requested ?? 'dynamic'}`;
  await nbctl.transact([
    ['--may-exist', 'lsp-add', lsName(port.networkId), port.portName],
    ['lsp-set-addresses', port.portName, addresses],
    [
      'set',
      'Logical_Switch_Port',
      port.portName,
      mapValue('external_ids', [
        [ExternalId.networkId, port.networkId],
        [ExternalId.containerId, port.containerId],
        [ExternalId.role, 'endpoint'],
        [ExternalId.chassis, port.chassis],
      ]),
    ],
  ]);
  if (requested) return requested;
  // northd writes dynamic_addresses ("MAC IP") once it has processed the port.
  await nbctl.waitUntil(
    'Logical_Switch_Port',
    port.portName,
    ['dynamic_addresses!=[]'],
    ALLOCATION_TIMEOUT_MS,
  );
  const [row] = await nbctl.find(
    'Logical_Switch_Port',
    [`name=${port.portName}`],
    ['dynamic_addresses'],
  );
  const ip = (row ? str(row, 'dynamic_addresses') : '').split(' ')[1] ?? '';
  if (ip === '') {
    await nbctl.transact([['--if-exists', 'lsp-del', port.portName]]);
    throw new Error(
      `OVN gave port ${port.portName} no address (network ${port.networkId} is full?)`,
    );
  }
  return ip;
}

/** Endpoints (any chassis) of a network in the NB database: its ports that carry our container id. */
export async function overlayEndpointCount(nbctl: Nbctl, networkId: string): Promise<number> {
  const rows = await nbctl.find(
    'Logical_Switch_Port',
    [
      `external_ids:"${ExternalId.networkId}"="${networkId}"`,
      `external_ids:"${ExternalId.role}"=endpoint`,
    ],
    ['name'],
  );
  return rows.length;
}
