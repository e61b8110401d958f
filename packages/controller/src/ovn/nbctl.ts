/**
 * ovn-nbctl: command builders (`…Cmds` return the sub-commands of one
 * transaction; a service composes them) and {@link Nbctl}, the northbound
 * database's {@link OvsdbCli}.
 */

import type { ToolRunner } from './exec.js';
import { ExternalId } from './ids.js';
import type {
  AclRecord,
  EndpointRecord,
  NetworkRecord,
  PublishedPortRecord,
  UplinkRecord,
} from './model.js';
import {
  EXTERNAL_NETWORK_NAME,
  externalLocalnetName,
  externalLsName,
  externalLspName,
  externalMac,
  lbName,
  lrName,
  lrpName,
  lrxName,
  lsName,
  routerLspName,
} from './names.js';
import { type Cmd, kv, mapValue, OvsdbCli, type OvsdbCliOptions, q } from './ovsdb.js';

/** Lease time announced by DHCP (seconds). */
export const DHCP_LEASE_SECONDS = 3600;

function networkIds(net: NetworkRecord): [string, string][] {
  return [
    [ExternalId.networkId, net.networkId],
    [ExternalId.networkName, net.name],
  ];
}

/** Priority of the from-lport ACL that drops DHCP server replies sent by a container. */
export const DHCP_GUARD_ACL_PRIORITY = 32000;

/**
 * A network switch's guard against rogue DHCP servers: every DHCP server
 * reply (UDP 67 → 68) a port sends is dropped as it enters the switch. OVN's
 * own DHCP replies are made by ovn-controller after the ingress ACL stage and
 * go straight to the egress pipeline, so they are untouched. Policies are
 * to-lport ACLs and replace only those (setAclsCmds); idempotent.
 */
export function dhcpGuardCmd(networkId: string): Cmd {
  return [
    ...['--may-exist', 'acl-add', lsName(networkId), 'from-lport'],
    ...[String(DHCP_GUARD_ACL_PRIORITY), 'udp && udp.src == 67 && udp.dst == 68', 'drop'],
  ];
}

/** Creates the network's switch, DHCP options, DNS row and router; `--may-exist` where the CLI has it. */
export function createNetworkCmds(net: NetworkRecord): Cmd[] {
  const ls = lsName(net.networkId);
  const lr = lrName(net.networkId);
  const lrp = lrpName(net.networkId);
  const rp = routerLspName(net.networkId);
  const prefix = net.subnet.split('/')[1] ?? '32';
  const lsIds: [string, string][] = [
    ...networkIds(net),
    [ExternalId.role, 'network'],
    [ExternalId.subnet, net.subnet],
    [ExternalId.gateway, net.gateway],
    [ExternalId.ipRange, net.ipRange],
    [ExternalId.mtu, String(net.mtu)],
    [ExternalId.internal, String(net.internal)],
    [ExternalId.labels, JSON.stringify(net.labels)],
    [ExternalId.routerMac, net.routerMac],
    ...(net.driver ? ([[ExternalId.driver, net.driver]] as [string, string][]) : []),
    ...(net.chassis ? ([[ExternalId.chassis, net.chassis]] as [string, string][]) : []),
  ];
  const dhcpOptions: [string, string][] = [
    ['server_id', net.gateway],
    ['server_mac', net.routerMac],
    ...(net.internal ? [] : ([['router', net.gateway]] as [string, string][])),
    ['dns_server', net.gateway],
    ['lease_time', String(DHCP_LEASE_SECONDS)],
    ['mtu', String(net.mtu)],
  ];
  return [
    ['--may-exist', 'ls-add', ls],
    [
      'set',
      'Logical_Switch',
      ls,
      kv('other_config', 'subnet', net.subnet),
      kv('other_config', 'exclude_ips', net.excludeIps),
      mapValue('external_ids', lsIds),
    ],
    [
      '--id=@dhcp',
      'create',
      'DHCP_Options',
      `cidr=${q(net.subnet)}`,
      mapValue('options', dhcpOptions),
      mapValue('external_ids', [...networkIds(net), [ExternalId.role, 'dhcp']]),
    ],
    [
      '--id=@dns',
      'create',
      'DNS',
      mapValue('external_ids', [...networkIds(net), [ExternalId.role, 'dns']]),
    ],
    ['add', 'Logical_Switch', ls, 'dns_records', '@dns'],
    ['--may-exist', 'lr-add', lr],
    [
      'set',
      'Logical_Router',
      lr,
      mapValue('external_ids', [...networkIds(net), [ExternalId.role, 'router']]),
    ],
    ['--may-exist', 'lrp-add', lr, lrp, net.routerMac, `${net.gateway}/${prefix}`],
    [
      'set',
      'Logical_Router_Port',
      lrp,
      mapValue('external_ids', [...networkIds(net), [ExternalId.role, 'router-port']]),
    ],
    ['--may-exist', 'lsp-add', ls, rp],
    ['lsp-set-type', rp, 'router'],
    ['lsp-set-addresses', rp, 'router'],
    ['lsp-set-options', rp, `router-port=${lrp}`],
    [
      'set',
      'Logical_Switch_Port',
      rp,
      mapValue('external_ids', [...networkIds(net), [ExternalId.role, 'router-port']]),
    ],
    dhcpGuardCmd(net.networkId),
  ];
}

/** Priority of the external switch's drop of inbound traffic to anything but the external network. */
export const EXTERNAL_INBOUND_ACL_PRIORITY = 1000;

/**
 * Creates the shared external switch, its localnet port (`network_name`
 * {@link EXTERNAL_NETWORK_NAME}, which startup.sh maps to br-ex) and the ACL
 * that drops inbound IPv4 not addressed to the external network; idempotent.
 */
export function ensureExternalSwitchCmds(uplink: Pick<UplinkRecord, 'cidr' | 'gateway'>): Cmd[] {
  const ls = externalLsName();
  const ln = externalLocalnetName();
  const lsIds: [string, string][] = [
    [ExternalId.role, 'external'],
    [ExternalId.subnet, uplink.cidr],
    [ExternalId.gateway, uplink.gateway],
  ];
  return [
    ['--may-exist', 'ls-add', ls],
    ['set', 'Logical_Switch', ls, mapValue('external_ids', lsIds)],
    ['--may-exist', 'lsp-add', ls, ln],
    ['lsp-set-type', ln, 'localnet'],
    ['lsp-set-addresses', ln, 'unknown'],
    ['lsp-set-options', ln, `network_name=${EXTERNAL_NETWORK_NAME}`],
    ['set', 'Logical_Switch_Port', ln, mapValue('external_ids', [[ExternalId.role, 'external']])],
    // From the outside, only the external network's own addresses are reachable
    // (routers' external IPs: replies to SNAT, published ports). A host that
    // routes a container subnet at a router would otherwise reach containers.
    [
      '--may-exist',
      'acl-add',
      ls,
      'from-lport',
      String(EXTERNAL_INBOUND_ACL_PRIORITY),
      `inport == "${ln}" && ip4 && ip4.dst != ${uplink.cidr}`,
      'drop',
    ],
  ];
}

/**
 * Connects a network's router to the external switch: a gateway port owning
 * `net.externalIp` on the local chassis, a default route via the uplink's
 * gateway, and SNAT of the network's subnet to its external address. The
 * address is recorded on the network's switch, so a restart finds it.
 */
export function addUplinkCmds(
  net: Pick<NetworkRecord, 'networkId' | 'name' | 'subnet'> & { externalIp: string },
  uplink: UplinkRecord,
): Cmd[] {
  const lr = lrName(net.networkId);
  const lrx = lrxName(net.networkId);
  const xp = externalLspName(net.networkId);
  const prefix = uplink.cidr.split('/')[1] ?? '32';
  const portIds = mapValue('external_ids', [
    [ExternalId.networkId, net.networkId],
    [ExternalId.networkName, net.name],
    [ExternalId.role, 'external-port'],
  ]);
  return [
    [
      'set',
      'Logical_Switch',
      lsName(net.networkId),
      kv('external_ids', ExternalId.externalIp, net.externalIp),
    ],
    ['--may-exist', 'lrp-add', lr, lrx, externalMac(net.networkId), `${net.externalIp}/${prefix}`],
    ['set', 'Logical_Router_Port', lrx, portIds],
    ['lrp-set-gateway-chassis', lrx, uplink.chassis, '1'],
    ['--may-exist', 'lsp-add', externalLsName(), xp],
    ['lsp-set-type', xp, 'router'],
    ['lsp-set-addresses', xp, 'router'],
    ['lsp-set-options', xp, `router-port=${lrx}`],
    ['set', 'Logical_Switch_Port', xp, portIds],
    ['--may-exist', 'lr-route-add', lr, '0.0.0.0/0', uplink.gateway],
    ['--may-exist', 'lr-nat-add', lr, 'snat', net.externalIp, net.subnet],
  ];
}

/**
 * Deletes a network's rows: the switch (its ports go with it), the router
 * (its ports, gateway chassis, routes and NAT rules go with it), its port on
 * the external switch, its load balancers, and its DHCP options and DNS rows
 * (root tables: by uuid, read beforehand).
 */
export function deleteNetworkCmds(
  networkId: string,
  extra: { dhcpUuids: string[]; dnsUuids: string[]; lbNames: string[] },
): Cmd[] {
  return [
    ...extra.lbNames.map((lb) => ['--if-exists', 'lb-del', lb]),
    ['--if-exists', 'ls-del', lsName(networkId)],
    ['--if-exists', 'lsp-del', externalLspName(networkId)],
    ['--if-exists', 'lr-del', lrName(networkId)],
    ...extra.dhcpUuids.map((uuid) => ['dhcp-options-del', uuid]),
    ...extra.dnsUuids.map((uuid) => ['--if-exists', 'destroy', 'DNS', uuid]),
  ];
}

/** Adds an attachment's port ("MAC IP" addresses and port security, DHCP) and its DNS names. */
export function addEndpointCmds(
  ep: EndpointRecord,
  dhcpUuid: string,
  dnsUuid: string,
  names: string[],
): Cmd[] {
  const lsp = ep.portName;
  const address = `${ep.mac} ${ep.ip}`;
  const ids: [string, string][] = [
    [ExternalId.networkId, ep.networkId],
    [ExternalId.containerId, ep.containerId],
    [ExternalId.role, 'endpoint'],
    [ExternalId.ip, ep.ip],
    [ExternalId.mac, ep.mac],
    [ExternalId.hostname, ep.hostname],
    [ExternalId.aliases, ep.aliases.join(',')],
    [ExternalId.vsockPort, String(ep.vsockPort)],
    ...(ep.chassis ? ([[ExternalId.chassis, ep.chassis]] as [string, string][]) : []),
    ...(ep.offload ? [[ExternalId.offload, 'true'] as [string, string]] : []),
  ];
  return [
    // An overlay port exists already: its address came from the central's IPAM (overlay.ts).
    [...(ep.chassis ? ['--may-exist'] : []), 'lsp-add', lsName(ep.networkId), lsp],
    ['lsp-set-addresses', lsp, address],
    ['lsp-set-port-security', lsp, address],
    ['lsp-set-dhcpv4-options', lsp, dhcpUuid],
    ['set', 'Logical_Switch_Port', lsp, mapValue('external_ids', ids)],
    // Networks made before the guard existed get it with their next port.
    dhcpGuardCmd(ep.networkId),
    ...names.map((name) => ['add', 'DNS', dnsUuid, 'records', `${q(name)}=${q(ep.ip)}`]),
  ];
}

/** Removes an attachment's port and exactly the DNS records that point at its IP. */
export function removeEndpointCmds(
  ep: EndpointRecord,
  dnsUuid: string | undefined,
  names: string[],
): Cmd[] {
  const cmds: Cmd[] = [['--if-exists', 'lsp-del', ep.portName]];
  if (dnsUuid) {
    for (const name of names)
      cmds.push(['remove', 'DNS', dnsUuid, 'records', `${q(name)}=${q(ep.ip)}`]);
  }
  return cmds;
}

/** Replaces the policy ACLs (to-lport) of a network's switch; its DHCP guard (from-lport) stays. */
export function setAclsCmds(networkId: string, acls: AclRecord[]): Cmd[] {
  const ls = lsName(networkId);
  const cmds: Cmd[] = [['acl-del', ls, 'to-lport']];
  acls.forEach((acl, i) => {
    const id = `@acl${i}`;
    cmds.push([
      `--id=${id}`,
      'create',
      'ACL',
      'direction=to-lport',
      `priority=${acl.priority}`,
      `match=${q(acl.match)}`,
      `action=${acl.action}`,
      mapValue('external_ids', [
        [ExternalId.networkId, networkId],
        [ExternalId.role, 'policy'],
      ]),
    ]);
    cmds.push(['add', 'Logical_Switch', ls, 'acls', id]);
  });
  return cmds;
}

/** Publishes a port: a load balancer VIP on the gateway, on the router and the switch. */
export function publishPortCmds(p: PublishedPortRecord): Cmd[] {
  const lb = lbName(p.networkId, p.protocol, p.hostPort);
  return [
    ['--may-exist', 'lb-add', lb, p.vip, p.backend, p.protocol],
    [
      'set',
      'Load_Balancer',
      lb,
      mapValue('external_ids', [
        [ExternalId.networkId, p.networkId],
        [ExternalId.containerId, p.containerId],
        [ExternalId.role, 'publish'],
        [ExternalId.protocol, p.protocol],
        [ExternalId.hostPort, String(p.hostPort)],
        [ExternalId.containerPort, String(p.containerPort)],
      ]),
    ],
    ['--may-exist', 'lr-lb-add', lrName(p.networkId), lb],
    ['--may-exist', 'ls-lb-add', lsName(p.networkId), lb],
  ];
}

/** Removes a published port's load balancer. */
export function unpublishPortCmds(networkId: string, protocol: string, hostPort: number): Cmd[] {
  return [['--if-exists', 'lb-del', lbName(networkId, protocol, hostPort)]];
}

/** ovn-nbctl on the northbound database. */
export class Nbctl extends OvsdbCli {
  constructor(run: ToolRunner, options: OvsdbCliOptions) {
    super(run, 'ovn-nbctl', options);
  }

  /** Runs `cmds` as one transaction; `wait` adds `--wait=sb|hv` (until northd / every chassis has it). */
  override transact(cmds: readonly Cmd[], wait?: 'sb' | 'hv'): Promise<string[]> {
    return this.transactWith(wait ? [`--wait=${wait}`] : [], cmds);
  }
}
