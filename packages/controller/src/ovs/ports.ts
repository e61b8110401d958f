/**
 * The OVS port layer: ports of containers on an OVS bridge, found by the
 * `external_ids` that `ovs-docker` writes (`container_id`,
 * `container_iface`), never by name. The controller's TAP ports on br-int
 * (ovn/vsctl.ts) and `arca-net ovs-docker`'s veth ports (ovs-docker.ts) both
 * write these ids through {@link ovsDockerIdArgs} and are read back here.
 */
import { ExternalId, OvsDockerId } from '../ovn/ids.js';
import { str, strMap } from '../ovn/json.js';
import { type Cmd, kv, q } from '../ovn/ovsdb.js';
import type { Vsctl } from '../ovn/vsctl.js';

/** `external_ids:container_id=…` and `external_ids:container_iface=…` for `set Interface`. */
export function ovsDockerIdArgs(containerId: string, containerIface: string): string[] {
  return [
    kv('external_ids', OvsDockerId.containerId, containerId),
    kv('external_ids', OvsDockerId.containerIface, containerIface),
  ];
}

/** `find Interface` conditions matching ports of `containerId` (and `containerIface` when given). */
export function containerPortConditions(containerId: string, containerIface?: string): string[] {
  const conditions = [`external_ids:${q(OvsDockerId.containerId)}=${q(containerId)}`];
  if (containerIface !== undefined) {
    conditions.push(`external_ids:${q(OvsDockerId.containerIface)}=${q(containerIface)}`);
  }
  return conditions;
}

/** An OVS interface of a container, as its ovs-docker ids describe it. */
export interface ContainerPort {
  /** Interface name (= port name). */
  name: string;
  containerId: string;
  containerIface: string;
  /** A TAP port of the controller (it also carries arca-net's own ids): never an ovs-docker port. */
  controllerTap: boolean;
}

/** Ports of containers on the Open_vSwitch database, through ovs-vsctl. */
export class OvsPorts {
  constructor(readonly vsctl: Vsctl) {}

  /** Interfaces of `containerId` (only `containerIface`'s when given), sorted by name. */
  async find(containerId: string, containerIface?: string): Promise<ContainerPort[]> {
    const rows = await this.vsctl.find(
      'Interface',
      containerPortConditions(containerId, containerIface),
      ['name', 'external_ids'],
    );
    return rows.map(toPort).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every interface that carries a `container_id` (any bridge). */
  async all(): Promise<ContainerPort[]> {
    const rows = await this.vsctl.list('Interface', ['name', 'external_ids']);
    return rows
      .map(toPort)
      .filter((p) => p.containerId !== '')
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The ids on interface `name`, or undefined when OVSDB has no such interface. */
  async byName(name: string): Promise<ContainerPort | undefined> {
    const rows = await this.vsctl.find('Interface', [`name=${q(name)}`], ['name', 'external_ids']);
    return rows[0] ? toPort(rows[0]) : undefined;
  }

  /** Whether bridge `bridge` exists. */
  async bridgeExists(bridge: string): Promise<boolean> {
    return (await this.vsctl.find('Bridge', [`name=${q(bridge)}`], ['name'])).length > 0;
  }

  /**
   * One transaction: the bridge when `createBridge` (`--may-exist add-br`),
   * port `name` on it (`--may-exist add-port`) with the ovs-docker ids.
   */
  async add(
    bridge: string,
    name: string,
    ids: { containerId: string; containerIface: string },
    options: { createBridge: boolean },
  ): Promise<void> {
    const cmds: Cmd[] = [];
    if (options.createBridge) cmds.push(['--may-exist', 'add-br', bridge]);
    cmds.push(['--may-exist', 'add-port', bridge, name]);
    cmds.push(['set', 'Interface', name, ...ovsDockerIdArgs(ids.containerId, ids.containerIface)]);
    await this.vsctl.transact(cmds);
  }

  /** Removes port `name` from whatever bridge has it (`--if-exists del-port`). */
  async remove(name: string): Promise<void> {
    await this.vsctl.transact([['--if-exists', 'del-port', name]]);
  }

  /** Removes bridge `bridge` (`--if-exists del-br`). */
  async removeBridge(bridge: string): Promise<void> {
    await this.vsctl.transact([['--if-exists', 'del-br', bridge]]);
  }

  /** Makes port `name` an access port of `vlan` (`set Port name tag=vlan`). */
  async setTag(name: string, vlan: number): Promise<void> {
    await this.vsctl.transact([['set', 'Port', name, `tag=${vlan}`]]);
  }
}

function toPort(row: Parameters<typeof str>[0]): ContainerPort {
  const ids = strMap(row, 'external_ids');
  return {
    name: str(row, 'name'),
    containerId: ids.get(OvsDockerId.containerId) ?? '',
    containerIface: ids.get(OvsDockerId.containerIface) ?? '',
    controllerTap: ids.has(ExternalId.containerId),
  };
}
