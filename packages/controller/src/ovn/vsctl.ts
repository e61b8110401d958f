/**
 * ovs-vsctl: the TAP ports of attachments on br-int, and {@link Vsctl}, the
 * Open_vSwitch database's {@link OvsdbCli}.
 */

import { ovsDockerIdArgs } from '../ovs/ports.js';
import type { ToolRunner } from './exec.js';
import { ExternalId, IFACE_ID } from './ids.js';
import { type Cmd, kv, OvsdbCli, type OvsdbCliOptions } from './ovsdb.js';

/** The integration bridge ovn-controller manages. */
export const INTEGRATION_BRIDGE = 'br-int';

/** What a TAP port on br-int is attached for. */
export interface TapPortSpec {
  /** TAP / OVS interface name = logical switch port name. */
  name: string;
  containerId: string;
  networkId: string;
  /** ovs-docker's container_iface (e.g. "eth0"); we use the port name when unknown. */
  containerIface: string;
  /** The network's MTU, set as the interface's `mtu_request` (absent: OVS's default). */
  mtu?: number;
}

/** Adds (or re-tags) a TAP on br-int bound to its logical switch port. */
export function addTapPortCmds(spec: TapPortSpec): Cmd[] {
  return [
    ['--may-exist', 'add-port', INTEGRATION_BRIDGE, spec.name],
    [
      'set',
      'Interface',
      spec.name,
      kv('external_ids', IFACE_ID, spec.name),
      ...ovsDockerIdArgs(spec.containerId, spec.containerIface),
      kv('external_ids', ExternalId.containerId, spec.containerId),
      kv('external_ids', ExternalId.networkId, spec.networkId),
      ...(spec.mtu ? [`mtu_request=${spec.mtu}`] : []),
    ],
  ];
}

/** Removes a TAP port from br-int. */
export function deleteTapPortCmds(name: string): Cmd[] {
  return [['--if-exists', 'del-port', INTEGRATION_BRIDGE, name]];
}

/** ovs-vsctl on the Open_vSwitch database. */
export class Vsctl extends OvsdbCli {
  constructor(run: ToolRunner, options: OvsdbCliOptions) {
    super(run, 'ovs-vsctl', options);
  }
}
