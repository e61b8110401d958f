/**
 * The OVN driver: what the domain asks of OVN/OVS, behind an interface so an
 * OVSDB JSON-RPC implementation can replace the CLI one later. Every failure
 * of OVS/OVN leaves it as an {@link OvnError} ("unavailable" or "refused").
 */

import type { Logger } from '@arca-net/log';
import { silentLogger } from '@arca-net/log';
import type { DeviceDrops } from '@arca-net/vsock';
import { interfaceDrops, parsePacketSocketDrops, sharedRead } from '../ovs/drops.js';
import { raiseOvsPortBuffers } from '../ovs/port-buffers.js';
import { Appctl } from './appctl.js';
import { OvnError } from './errors.js';
import type { ToolRunner } from './exec.js';
import { ExternalId, IFACE_ID } from './ids.js';
import { type OvsdbRow, str, strMap } from './json.js';
import type {
  AclRecord,
  EndpointRecord,
  NetworkRecord,
  OrphanRow,
  OvnState,
  PublishedPortRecord,
  UplinkRecord,
} from './model.js';
import { lsName, lspName } from './names.js';
import {
  addEndpointCmds,
  addUplinkCmds,
  createNetworkCmds,
  deleteNetworkCmds,
  ensureExternalSwitchCmds,
  Nbctl,
  publishPortCmds,
  removeEndpointCmds,
  setAclsCmds,
  unpublishPortCmds,
} from './nbctl.js';
import { NORTHD_PROBE_TIMEOUT_MS, type NorthdStatus, probeNorthd } from './northd.js';
import { allocateOverlayAddress, type OverlayPort, overlayEndpointCount } from './overlay.js';
import { type Cmd, kv } from './ovsdb.js';
import { OvsdbTransactor } from './ovsdb-tx.js';
import { Sbctl } from './sbctl.js';
import { joinTransit, leaveTransit, ROUTER_ID } from './transit.js';
import {
  addTapPortCmds,
  deleteTapPortCmds,
  INTEGRATION_BRIDGE,
  type TapPortSpec,
  Vsctl,
} from './vsctl.js';

/** Health of the switching stack as GetHealth reports it. */
export interface OvnHealth {
  ovsOk: boolean;
  ovsStatus: string;
  ovnOk: boolean;
  ovnStatus: string;
  /** The chassis this helper registered, '' if none. */
  chassis: string;
  /** OVS runs with other_config:userspace-tso-enable=true (offload attachments need it). */
  userspaceTso?: boolean;
}

/** A TAP port of ours on br-int. */
export interface TapPortRow {
  name: string;
  containerId: string;
  networkId: string;
}

/** What the domain needs from OVN and OVS; failures of OVS/OVN reject with an {@link OvnError}. */
export interface OvnDriver {
  /** Reads every row of ours back from the NB database. */
  readState(): Promise<OvnState>;
  /**
   * Writes a network in one transaction; with `uplink` and `net.externalIp`,
   * its router's gateway port, default route and SNAT too.
   */
  createNetwork(net: NetworkRecord, uplink?: UplinkRecord): Promise<void>;
  /** Creates the shared external switch and its localnet port (idempotent). */
  ensureExternalSwitch(uplink: UplinkRecord): Promise<void>;
  /** Connects an existing network's router to the external switch (for networks created without an uplink). */
  addUplink(net: NetworkRecord & { externalIp: string }, uplink: UplinkRecord): Promise<void>;
  /** This helper's chassis name (`system-id` in the Open_vSwitch table), '' when unset. */
  localChassis(): Promise<string>;
  /** `router`: its router group (transit.ts), which it leaves first in a guarded transaction of its own. */
  deleteNetwork(networkId: string, router?: string): Promise<void>;
  /** Port, DHCP link and the given DNS names, in one transaction. */
  addEndpoint(ep: EndpointRecord, dnsNames: string[]): Promise<void>;
  removeEndpoint(ep: EndpointRecord, dnsNames: string[]): Promise<void>;
  setAcls(networkId: string, acls: AclRecord[]): Promise<void>;
  publishPort(p: PublishedPortRecord): Promise<void>;
  unpublishPort(networkId: string, protocol: string, hostPort: number): Promise<void>;
  plugTap(spec: TapPortSpec): Promise<void>;
  unplugTap(name: string): Promise<void>;
  /** Unplugs several TAP ports in one transaction (a restart's stale ports). */
  unplugTaps(names: readonly string[]): Promise<void>;
  /** TAP ports on br-int that carry our ids. */
  tapPorts(): Promise<TapPortRow[]>;
  /** Whether this helper's ovn-northd answers (northd.ts); absent or undefined: it runs elsewhere. */
  northdStatus?(): Promise<NorthdStatus | undefined>;
  /**
   * The OVS interface's rx_dropped / tx_dropped (ovs/drops.ts); undefined when it has none.
   * Calls that overlap share one read of every interface.
   */
  interfaceDrops?(name: string): Promise<DeviceDrops | undefined>;
  /** Per interface, the drops of the packet sockets bound to it (`ss`; ovs/drops.ts). */
  packetSocketDrops?(): Promise<Map<string, number>>;
  /** Resolves true once ovn-controller has bound the port and reported it up, false on timeout. */
  waitPortUp(portName: string, timeoutMs: number): Promise<boolean>;
  removeOrphans(orphans: OrphanRow[]): Promise<void>;
  health(): Promise<OvnHealth>;
  /** Cluster: an overlay port's address from OVN's IPAM in the central NB (overlay.ts). */
  allocateOverlayAddress?(port: OverlayPort, requested?: string): Promise<string>;
  /** Cluster: endpoints of a network on every chassis. */
  overlayEndpointCount?(networkId: string): Promise<number>;
}

/** Where the CLI driver finds the databases. */
export interface CliDriverOptions {
  nbDb: string;
  sbDb: string;
  ovsDb: string;
  /** Directory of the daemons' pidfiles and control sockets (health checks); optional. */
  runDir?: string;
  /** False on a cluster chassis: northd runs on the central, not here (default true). */
  checkNorthd?: boolean;
  timeoutMs?: number;
  logger?: Logger;
}

function ids(row: OvsdbRow): Map<string, string> {
  return strMap(row, 'external_ids');
}

/** The ovn-nbctl / ovs-vsctl / ovn-sbctl implementation of {@link OvnDriver}. */
export class CliOvnDriver implements OvnDriver {
  readonly nbctl: Nbctl;
  readonly vsctl: Vsctl;
  readonly sbctl: Sbctl;
  readonly appctl: Appctl;
  /** Guarded transactions on the NB (router groups, transit.ts). */
  readonly nbTx: OvsdbTransactor;
  /** A short-timeout appctl for northd's status (a stopped northd never answers). */
  private readonly northdAppctl: Appctl;
  private readonly log: Logger;
  /** network id → uuids of its DHCP_Options and DNS rows. */
  private readonly rowCache = new Map<string, { dhcp: string; dns: string }>();

  constructor(
    private readonly run: ToolRunner,
    private readonly options: CliDriverOptions,
  ) {
    const timeoutMs = options.timeoutMs ?? 30_000;
    this.nbctl = new Nbctl(run, { db: options.nbDb, timeoutMs });
    this.vsctl = new Vsctl(run, { db: options.ovsDb, timeoutMs });
    this.sbctl = new Sbctl(run, { db: options.sbDb, timeoutMs });
    this.nbTx = new OvsdbTransactor(run, options.nbDb, 'OVN_Northbound', timeoutMs);
    this.appctl = new Appctl(run, 'ovs-appctl', { timeoutMs });
    this.northdAppctl = new Appctl(run, 'ovs-appctl', { timeoutMs: NORTHD_PROBE_TIMEOUT_MS });
    this.log = (options.logger ?? silentLogger).child({ component: 'ovn' });
  }

  async readState(): Promise<OvnState> {
    const [switches, ports, dhcps, dnss, lbs, routers] = await Promise.all([
      this.nbctl.list('Logical_Switch', [
        '_uuid',
        'name',
        'external_ids',
        'other_config',
        'dns_records',
      ]),
      this.nbctl.list('Logical_Switch_Port', ['_uuid', 'name', 'external_ids', 'addresses']),
      this.nbctl.list('DHCP_Options', ['_uuid', 'external_ids']),
      this.nbctl.list('DNS', ['_uuid', 'external_ids', 'records']),
      this.nbctl.list('Load_Balancer', ['_uuid', 'name', 'external_ids', 'vips']),
      this.nbctl.list('Logical_Router', ['_uuid', 'name', 'external_ids']),
    ]);
    const state: OvnState = {
      networks: [],
      endpoints: [],
      published: [],
      dns: new Map(),
      orphans: [],
    };
    const known = new Set<string>();
    for (const row of switches) {
      const x = ids(row);
      const networkId = x.get(ExternalId.networkId);
      if (!networkId) continue;
      const subnet = x.get(ExternalId.subnet) ?? '';
      const gateway = x.get(ExternalId.gateway) ?? '';
      if (!subnet || !gateway || str(row, 'name') !== lsName(networkId)) {
        state.orphans.push({
          table: 'Logical_Switch',
          uuid: str(row, '_uuid'),
          why: 'incomplete network',
        });
        continue;
      }
      let labels: Record<string, string> = {};
      try {
        labels = JSON.parse(x.get(ExternalId.labels) ?? '{}') as Record<string, string>;
      } catch {
        labels = {};
      }
      known.add(networkId);
      state.networks.push({
        networkId,
        name: x.get(ExternalId.networkName) ?? '',
        subnet,
        gateway,
        ipRange: x.get(ExternalId.ipRange) ?? '',
        excludeIps: strMap(row, 'other_config').get('exclude_ips') ?? '',
        mtu: Number(x.get(ExternalId.mtu) ?? '1500'),
        internal: x.get(ExternalId.internal) === 'true',
        labels,
        routerMac: x.get(ExternalId.routerMac) ?? '',
        ...(x.get(ExternalId.externalIp) ? { externalIp: x.get(ExternalId.externalIp) } : {}),
        ...(x.get(ExternalId.driver) === 'overlay' ? { driver: 'overlay' as const } : {}),
        ...(x.get(ExternalId.chassis) ? { chassis: x.get(ExternalId.chassis) } : {}),
        ...(x.get(ROUTER_ID) ? { router: x.get(ROUTER_ID) } : {}),
      });
    }
    const dhcpByNet = new Map<string, string>();
    for (const row of dhcps) {
      const networkId = ids(row).get(ExternalId.networkId);
      if (!networkId) continue;
      if (!known.has(networkId) || dhcpByNet.has(networkId)) {
        state.orphans.push({
          table: 'DHCP_Options',
          uuid: str(row, '_uuid'),
          why: 'no network or duplicate',
        });
      } else dhcpByNet.set(networkId, str(row, '_uuid'));
    }
    const dnsByNet = new Map<string, string>();
    for (const row of dnss) {
      const networkId = ids(row).get(ExternalId.networkId);
      if (!networkId) continue;
      // DNS is a root table: a row whose network is gone stays unless removed.
      if (!known.has(networkId)) {
        state.orphans.push({ table: 'DNS', uuid: str(row, '_uuid'), why: 'no network' });
        continue;
      }
      dnsByNet.set(networkId, str(row, '_uuid'));
      state.dns.set(networkId, strMap(row, 'records'));
    }
    for (const net of state.networks) {
      const dhcp = dhcpByNet.get(net.networkId);
      const dns = dnsByNet.get(net.networkId);
      if (dhcp && dns) this.rowCache.set(net.networkId, { dhcp, dns });
    }
    for (const row of ports) {
      const x = ids(row);
      const networkId = x.get(ExternalId.networkId);
      const containerId = x.get(ExternalId.containerId);
      if (!networkId || !containerId) continue;
      const name = str(row, 'name');
      const ip = x.get(ExternalId.ip) ?? '';
      const mac = x.get(ExternalId.mac) ?? '';
      if (!known.has(networkId) || name !== lspName(containerId, networkId) || !ip || !mac) {
        state.orphans.push({
          table: 'Logical_Switch_Port',
          uuid: name,
          why: 'incomplete endpoint',
        });
        continue;
      }
      const aliases = x.get(ExternalId.aliases) ?? '';
      state.endpoints.push({
        networkId,
        containerId,
        portName: name,
        ip,
        mac,
        hostname: x.get(ExternalId.hostname) ?? '',
        aliases: aliases ? aliases.split(',') : [],
        vsockPort: Number(x.get(ExternalId.vsockPort) ?? '0'),
        ...(x.get(ExternalId.chassis) ? { chassis: x.get(ExternalId.chassis) } : {}),
        ...(x.get(ExternalId.offload) === 'true' ? { offload: true } : {}),
      });
    }
    for (const row of lbs) {
      const x = ids(row);
      const networkId = x.get(ExternalId.networkId);
      if (!networkId) continue;
      const protocol = x.get(ExternalId.protocol);
      const hostPort = Number(x.get(ExternalId.hostPort));
      const vips = strMap(row, 'vips');
      const [vip, backend] = [...vips][0] ?? ['', ''];
      if (!known.has(networkId) || (protocol !== 'tcp' && protocol !== 'udp') || !vip) {
        state.orphans.push({
          table: 'Load_Balancer',
          uuid: str(row, '_uuid'),
          why: 'incomplete published port',
        });
        continue;
      }
      state.published.push({
        networkId,
        containerId: x.get(ExternalId.containerId) ?? '',
        protocol,
        hostPort,
        containerPort: Number(x.get(ExternalId.containerPort)),
        vip,
        backend,
      });
    }
    for (const row of routers) {
      const networkId = ids(row).get(ExternalId.networkId);
      if (networkId && !known.has(networkId)) {
        state.orphans.push({
          table: 'Logical_Router',
          uuid: str(row, '_uuid'),
          why: 'router without network',
        });
      }
    }
    return state;
  }

  allocateOverlayAddress(port: OverlayPort, requested?: string): Promise<string> {
    return allocateOverlayAddress(this.nbctl, port, requested);
  }

  overlayEndpointCount(networkId: string): Promise<number> {
    return overlayEndpointCount(this.nbctl, networkId);
  }

  private async rows(networkId: string): Promise<{ dhcp: string; dns: string }> {
    const cached = this.rowCache.get(networkId);
    if (cached) return cached;
    await this.readState();
    const found = this.rowCache.get(networkId);
    if (!found)
      throw new Error(`network ${networkId} has no DHCP_Options/DNS rows in the NB database`);
    return found;
  }

  async createNetwork(net: NetworkRecord, uplink?: UplinkRecord): Promise<void> {
    const cmds = createNetworkCmds(net);
    if (uplink && net.externalIp)
      cmds.push(...addUplinkCmds({ ...net, externalIp: net.externalIp }, uplink));
    if (net.router)
      cmds.push([
        'set',
        'Logical_Switch',
        lsName(net.networkId),
        kv('external_ids', ROUTER_ID, net.router),
      ]);
    const out = await this.nbctl.transact(cmds);
    // The two `create` commands print the new rows' uuids, in order.
    const [dhcp, dns] = out;
    if (dhcp && dns) this.rowCache.set(net.networkId, { dhcp, dns });
    if (net.router) {
      const router = net.router;
      await joinTransit(this.nbTx, { ...net, router }).catch(async (err: unknown) => {
        await this.deleteNetwork(net.networkId, router).catch(() => undefined);
        throw err;
      });
    }
  }

  async ensureExternalSwitch(uplink: UplinkRecord): Promise<void> {
    await this.nbctl.transact(ensureExternalSwitchCmds(uplink));
  }

  async addUplink(
    net: NetworkRecord & { externalIp: string },
    uplink: UplinkRecord,
  ): Promise<void> {
    await this.nbctl.transact(addUplinkCmds(net, uplink));
  }

  async localChassis(): Promise<string> {
    const [ovs] = await this.vsctl.list('Open_vSwitch', ['external_ids']);
    return ovs ? (ids(ovs).get('system-id') ?? '') : '';
  }

  async deleteNetwork(networkId: string, router?: string): Promise<void> {
    const mine = [kv('external_ids', ExternalId.networkId, networkId)];
    const [dhcps, dnss, lbs] = await Promise.all([
      this.nbctl.find('DHCP_Options', mine, ['_uuid']),
      this.nbctl.find('DNS', mine, ['_uuid']),
      this.nbctl.find('Load_Balancer', mine, ['name']),
    ]);
    // Out of its group first, in a guarded transaction of its own (transit.ts).
    if (router) await leaveTransit(this.nbTx, networkId, router);
    await this.nbctl.transact([
      ...deleteNetworkCmds(networkId, {
        dhcpUuids: dhcps.map((r) => str(r, '_uuid')),
        dnsUuids: dnss.map((r) => str(r, '_uuid')),
        lbNames: lbs.map((r) => str(r, 'name')),
      }),
    ]);
    this.rowCache.delete(networkId);
  }

  async addEndpoint(ep: EndpointRecord, dnsNames: string[]): Promise<void> {
    const { dhcp, dns } = await this.rows(ep.networkId);
    await this.nbctl.transact(addEndpointCmds(ep, dhcp, dns, dnsNames));
  }

  async removeEndpoint(ep: EndpointRecord, dnsNames: string[]): Promise<void> {
    const rows = this.rowCache.get(ep.networkId);
    await this.nbctl.transact(removeEndpointCmds(ep, rows?.dns, dnsNames));
  }

  async setAcls(networkId: string, acls: AclRecord[]): Promise<void> {
    await this.nbctl.transact(setAclsCmds(networkId, acls));
  }

  async publishPort(p: PublishedPortRecord): Promise<void> {
    await this.nbctl.transact(publishPortCmds(p));
  }

  async unpublishPort(networkId: string, protocol: string, hostPort: number): Promise<void> {
    await this.nbctl.transact(unpublishPortCmds(networkId, protocol, hostPort));
  }

  async plugTap(spec: TapPortSpec): Promise<void> {
    await this.vsctl.transact(addTapPortCmds(spec));
    if (this.options.runDir) await raiseOvsPortBuffers(this.options.runDir, this.log);
  }

  async unplugTaps(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await this.vsctl.transact(names.flatMap((name) => deleteTapPortCmds(name)));
  }

  async unplugTap(name: string): Promise<void> {
    await this.vsctl.transact(deleteTapPortCmds(name));
  }

  async tapPorts(): Promise<TapPortRow[]> {
    const rows = await this.vsctl.list('Interface', ['name', 'external_ids']);
    const out: TapPortRow[] = [];
    for (const row of rows) {
      const x = ids(row);
      const networkId = x.get(ExternalId.networkId);
      const containerId = x.get(ExternalId.containerId);
      if (networkId && containerId && x.get(IFACE_ID) === str(row, 'name')) {
        out.push({ name: str(row, 'name'), networkId, containerId });
      }
    }
    return out;
  }

  async northdStatus(): Promise<NorthdStatus | undefined> {
    if (!this.options.runDir || this.options.checkNorthd === false) return undefined;
    return probeNorthd(this.northdAppctl, `${this.options.runDir}/ovn-northd.ctl`);
  }

  /** One `ss` for the attachments whose stats are asked at the same time (ovs/drops.ts). */
  private readonly readPacketSocketDrops = sharedRead(async () =>
    parsePacketSocketDrops((await this.run('ss', ['-0', '-e', '-m'])).stdout),
  );

  async packetSocketDrops(): Promise<Map<string, number>> {
    return this.readPacketSocketDrops();
  }

  /** How many Interface rows are system ports (type ""): ovs-vswitchd reads each through a packet socket. */
  async systemPortCount(): Promise<number> {
    return (await this.vsctl.list('Interface', ['type'])).filter((row) => str(row, 'type') === '')
      .length;
  }

  /** One `ovs-vsctl list Interface` for the attachments whose stats are asked at the same time (ovs/drops.ts). */
  private readonly readInterfaceDrops = sharedRead(
    async () =>
      new Map(
        (await this.vsctl.list('Interface', ['name', 'statistics'])).map((row) => [
          str(row, 'name'),
          interfaceDrops(row),
        ]),
      ),
  );

  async interfaceDrops(name: string): Promise<DeviceDrops | undefined> {
    return (await this.readInterfaceDrops()).get(name);
  }

  async waitPortUp(portName: string, timeoutMs: number): Promise<boolean> {
    try {
      await this.sbctl.waitPortUp(portName, timeoutMs);
      return true;
    } catch (err) {
      if (err instanceof OvnError) {
        this.log.warn({ port: portName, err: err.message }, 'port not up in time');
        return false;
      }
      throw err;
    }
  }

  async removeOrphans(orphans: OrphanRow[]): Promise<void> {
    const cmds: Cmd[] = orphans.map((o) => {
      switch (o.table) {
        case 'Logical_Switch':
          return ['--if-exists', 'ls-del', o.uuid];
        case 'Logical_Switch_Port':
          return ['--if-exists', 'lsp-del', o.uuid];
        case 'Logical_Router':
          return ['--if-exists', 'lr-del', o.uuid];
        case 'Load_Balancer':
          return ['--if-exists', 'lb-del', o.uuid];
        default:
          return ['destroy', o.table, o.uuid];
      }
    });
    for (const o of orphans) this.log.info(o, 'removing half-created row');
    await this.nbctl.transact(cmds);
  }

  async health(): Promise<OvnHealth> {
    const h: OvnHealth = { ovsOk: false, ovsStatus: '', ovnOk: false, ovnStatus: '', chassis: '' };
    let systemId = '';
    try {
      const [ovs] = await this.vsctl.list('Open_vSwitch', [
        'ovs_version',
        'external_ids',
        'other_config',
      ]);
      h.userspaceTso = ovs
        ? strMap(ovs, 'other_config').get('userspace-tso-enable') === 'true'
        : false;
      const bridges = await this.vsctl.list('Bridge', ['name']);
      systemId = ovs ? (ids(ovs).get('system-id') ?? '') : '';
      const hasBrInt = bridges.some((b) => str(b, 'name') === INTEGRATION_BRIDGE);
      h.ovsOk = hasBrInt;
      h.ovsStatus = `ovs-vswitchd ${ovs ? str(ovs, 'ovs_version') : '?'}, ${INTEGRATION_BRIDGE} ${hasBrInt ? 'present' : 'missing'}`;
    } catch (err) {
      h.ovsStatus = `OVS database unreachable: ${(err as Error).message}`;
    }
    const parts: string[] = [];
    let northdOk = true;
    if (this.options.runDir && this.options.checkNorthd !== false) {
      try {
        const stdout = await this.appctl.call(`${this.options.runDir}/ovn-northd.ctl`, 'status');
        northdOk = stdout.includes('active');
        parts.push(`northd ${stdout.replace('Status:', '').trim()}`);
      } catch (err) {
        northdOk = false;
        parts.push(`northd unreachable (${(err as Error).message.split('\n')[0]})`);
      }
    }
    try {
      const chassis = await this.sbctl.chassisNames();
      h.chassis = chassis.includes(systemId) ? systemId : '';
      parts.push(
        h.chassis ? `chassis ${h.chassis} registered` : 'no chassis registered for this helper',
      );
    } catch (err) {
      parts.push(`SB database unreachable: ${(err as Error).message}`);
    }
    h.ovnOk = northdOk && h.chassis !== '';
    h.ovnStatus = parts.join('; ');
    return h;
  }
}
