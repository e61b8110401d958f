/**
 * ovs-vsctl: the TAP ports of attachments on br-int, and reads of the
 * Open_vSwitch database.
 */
import type { ToolRunner } from './exec.js';
import { toolTimeoutSeconds } from './exec.js';
import { ExternalId, IFACE_ID, OvsDockerId } from './ids.js';
import { type OvsdbRow, parseTable } from './json.js';
import { type Cmd, kv } from './nbctl.js';

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
      kv('external_ids', OvsDockerId.containerId, spec.containerId),
      kv('external_ids', OvsDockerId.containerIface, spec.containerIface),
      kv('external_ids', ExternalId.containerId, spec.containerId),
      kv('external_ids', ExternalId.networkId, spec.networkId),
    ],
  ];
}

/** Removes a TAP port from br-int. */
export function deleteTapPortCmds(name: string): Cmd[] {
  return [['--if-exists', 'del-port', INTEGRATION_BRIDGE, name]];
}

/** Options of {@link Vsctl}. */
export interface VsctlOptions {
  /** e.g. "unix:/run/arca-net-helper/ovs.sock" */
  db: string;
  timeoutMs?: number;
}

/** Runs ovs-vsctl transactions and reads. */
export class Vsctl {
  private readonly timeout: string;
  constructor(
    private readonly run: ToolRunner,
    private readonly options: VsctlOptions,
  ) {
    this.timeout = `--timeout=${toolTimeoutSeconds(options.timeoutMs ?? 30_000)}`;
  }

  private base(): string[] {
    return [`--db=${this.options.db}`, this.timeout];
  }

  /** Runs `cmds` as one transaction; `noWait` skips waiting for ovs-vswitchd to apply it. */
  async transact(cmds: readonly Cmd[], noWait = false): Promise<string[]> {
    if (cmds.length === 0) return [];
    const args = this.base();
    if (noWait) args.push('--no-wait');
    for (const cmd of cmds) args.push('--', ...cmd);
    const { stdout } = await this.run('ovs-vsctl', args);
    return stdout.split('\n').filter((l) => l.length > 0);
  }

  /** Lists a table (optionally some columns) as decoded rows. */
  async list(table: string, columns?: readonly string[]): Promise<OvsdbRow[]> {
    const args = [...this.base(), '--format=json'];
    if (columns) args.push(`--columns=${columns.join(',')}`);
    args.push('list', table);
    const { stdout } = await this.run('ovs-vsctl', args);
    return parseTable(stdout);
  }
}
