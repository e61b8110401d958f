/**
 * NetworkControl: each handler validates its request, calls one domain
 * function and maps the result.
 *
 * Failures: nice-grpc cannot send a response body with a non-OK status, so a
 * failed RPC carries only its status and message (INVALID_ARGUMENT,
 * NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED,
 * UNAVAILABLE/INTERNAL: the table in domain/errors.ts).
 * Arca's old clients treat any non-OK status as a failure before they read
 * `success`, so they keep working; every successful response has
 * `success = true` and an empty `error`.
 */
import { CAPABILITY_OFFLOAD, network } from '@arca-net/proto';
import type { DeviceDrops, DirectionStats } from '@arca-net/vsock';
import type { ServiceImplementation } from 'nice-grpc';
import { invalid } from '../domain/errors.js';

/** Most policy rules (OVN ACLs) of one network. */
export const MAX_POLICY_RULES = 1024;

import type { NetworkView } from '../domain/network-view.js';
import type { Networks } from '../domain/networks.js';
import { MAX_RULE_PRIORITY, type PolicyRule } from '../domain/policy.js';
import { checkId, checkName, validateAttach, validateCreateBridge } from '../domain/validate.js';
import type { EndpointRecord } from '../ovn/model.js';

/** Every network is a logical switch on the integration bridge. */
const BRIDGE_NAME = 'br-int';

function endpointInfo(ep: EndpointRecord): network.EndpointInfo {
  return {
    containerId: ep.containerId,
    hostname: ep.hostname,
    ipAddress: ep.ip,
    macAddress: ep.mac,
    aliases: ep.aliases,
    vsockPort: ep.vsockPort,
    portName: ep.portName,
  };
}

function bridgeInfo(view: NetworkView): network.BridgeInfo {
  const r = view.record;
  const endpoints = [...view.endpoints.values()].sort((a, b) =>
    a.containerId.localeCompare(b.containerId),
  );
  return {
    networkId: r.networkId,
    bridgeName: BRIDGE_NAME,
    subnet: r.subnet,
    gateway: r.gateway,
    containers: endpoints.map((ep) => ep.containerId),
    name: r.name,
    internal: r.internal,
    ipRange: r.ipRange,
    mtu: r.mtu,
    labels: r.labels,
    endpoints: endpoints.map(endpointInfo),
    driver: r.driver ?? 'bridge',
    dnsRecords: r.driver === 'overlay' ? Object.fromEntries(view.dns) : {},
    router: r.router ?? '',
  };
}

function direction(s: DirectionStats): network.DirectionStats {
  return {
    frames: BigInt(s.frames),
    bytes: BigInt(s.bytes),
    drops: BigInt(s.drops),
    protocolErrors: BigInt(s.protocolErrors),
  };
}

function deviceDrops(d: DeviceDrops | undefined): network.DeviceDrops | undefined {
  return d && { rxDropped: BigInt(d.rxDropped), txDropped: BigInt(d.txDropped) };
}

/** What Arca's contract sends for "any network" in a rule (empty means the same). */
const ANY_NETWORK = 'any';

/** A rule's source or destination: a network id, or '' for any network. */
function ruleNetwork(what: string, value: string): string {
  return value === '' || value === ANY_NETWORK ? '' : checkId(what, value);
}

function policyRule(rule: network.NetworkPolicyRule): PolicyRule {
  const { NetworkPolicyRule_Action: Action, NetworkPolicyRule_Protocol: Protocol } = network;
  if (rule.action !== Action.ALLOW && rule.action !== Action.DENY)
    throw invalid(`rule action ${rule.action} is unknown`);
  const protocols: Record<number, PolicyRule['protocol']> = {
    [Protocol.TCP]: 'tcp',
    [Protocol.UDP]: 'udp',
    [Protocol.ICMP]: 'icmp',
    [Protocol.ANY]: 'any',
  };
  const protocol = protocols[rule.protocol];
  if (!protocol) throw invalid(`rule protocol ${rule.protocol} is unknown`);
  if (rule.port > 65535) throw invalid(`rule port ${rule.port} is outside [0, 65535]`);
  if (rule.port > 0 && protocol !== 'tcp' && protocol !== 'udp')
    throw invalid('a rule port needs protocol TCP or UDP');
  if (rule.priority > MAX_RULE_PRIORITY)
    throw invalid(`rule priority ${rule.priority} is above ${MAX_RULE_PRIORITY}`);
  return {
    allow: rule.action === Action.ALLOW,
    protocol,
    sourceNetwork: ruleNetwork('source_network', rule.sourceNetwork),
    destinationNetwork: ruleNetwork('destination_network', rule.destinationNetwork),
    port: rule.port,
    priority: rule.priority,
  };
}

function protocolOf(text: string): 'tcp' | 'udp' {
  const p = text.toLowerCase();
  if (p !== 'tcp' && p !== 'udp')
    throw invalid(`protocol ${JSON.stringify(text)} must be tcp or udp`);
  return p;
}

function portOf(what: string, value: number): number {
  if (value < 1 || value > 65535) throw invalid(`${what} ${value} is outside [1, 65535]`);
  return value;
}

/** The NetworkControl implementation over the domain. */
export function createNetworkControlService(
  networks: Networks,
  startedAt: number = Date.now(),
): ServiceImplementation<typeof network.NetworkControlDefinition> {
  return {
    async createBridge(req) {
      const view = await networks.createNetwork(validateCreateBridge(req));
      return {
        bridgeName: BRIDGE_NAME,
        success: true,
        error: '',
        subnet: view.record.subnet,
        gateway: view.record.gateway,
        dnsServer: networks.dnsServerOf(view),
      };
    },

    async deleteBridge(req) {
      await networks.deleteNetwork(checkId('network_id', req.networkId));
      return { success: true, error: '' };
    },

    async attachContainer(req) {
      const { endpoint, network: view } = await networks.attach(validateAttach(req));
      return {
        portName: endpoint.portName,
        success: true,
        error: '',
        ipAddress: endpoint.ip,
        gateway: view.record.gateway,
        prefixLength: view.subnet.prefix,
        dnsServer: networks.dnsServerOf(view),
        macAddress: endpoint.mac,
        mtu: view.record.mtu,
        offload: endpoint.offload === true,
      };
    },

    async detachContainer(req) {
      await networks.detach(
        checkId('container_id', req.containerId),
        checkId('network_id', req.networkId),
      );
      return { success: true, error: '' };
    },

    async listBridges() {
      await networks.refreshOverlays();
      return { bridges: networks.list().map(bridgeInfo), success: true, error: '' };
    },

    async setNetworkPolicy(req) {
      const networkId = checkId('network_id', req.networkId);
      // Each rule is an ACL, and the ACLs of a network go in one command line.
      if (req.rules.length > MAX_POLICY_RULES) {
        throw invalid(`rules: ${req.rules.length} rules, at most ${MAX_POLICY_RULES} per network`);
      }
      await networks.setPolicy(networkId, req.rules.map(policyRule));
      return { success: true, error: '' };
    },

    async getHealth() {
      const h = await networks.health();
      return {
        healthy: h.ovsOk && h.ovnOk,
        ovsStatus: h.ovsStatus,
        ovnStatus: h.ovnStatus,
        uptimeSeconds: BigInt(Math.floor((Date.now() - startedAt) / 1000)),
        chassis: h.chassis,
        networks: h.networks,
        attachments: h.attachments,
        capabilities: h.userspaceTso ? [CAPABILITY_OFFLOAD] : [],
      };
    },

    async resolveDNS(req) {
      const hostname = checkName('hostname', req.hostname.replace(/\.$/, ''));
      const found = networks.resolve(
        hostname,
        req.networkIds.map((id) => checkId('network_ids', id)),
      );
      return {
        found: found !== undefined,
        ipAddress: found?.ip ?? '',
        networkId: found?.networkId ?? '',
        error: '',
      };
    },

    async getContainerNetworks(req) {
      const endpoints = networks.containerEndpoints(checkId('container_id', req.containerId));
      return {
        networkIds: endpoints.map((ep) => ep.networkId),
        error: '',
        endpoints: endpoints.map(endpointInfo),
      };
    },

    async publishPort(req) {
      const p = await networks.publish(
        checkId('network_id', req.networkId),
        checkId('container_id', req.containerId),
        protocolOf(req.protocol),
        portOf('host_port', req.hostPort),
        portOf('container_port', req.containerPort),
      );
      return { success: true, error: '', externalAddress: p.vip };
    },

    async unpublishPort(req) {
      await networks.unpublish(
        checkId('network_id', req.networkId),
        protocolOf(req.protocol),
        portOf('host_port', req.hostPort),
      );
      return { success: true, error: '' };
    },

    async getAttachmentStats(req) {
      const link = networks.link(
        checkId('container_id', req.containerId),
        checkId('network_id', req.networkId),
      );
      const s = link.stats();
      const drops = await networks.drops(req.containerId, req.networkId);
      return {
        toSwitch: direction(s.toTap),
        toContainer: direction(s.toStream),
        connections: link.connections,
        connected: link.connected,
        helperTap: deviceDrops(drops.helperTap),
        ovsPort: deviceDrops(drops.ovsPort),
        ovsCaptureDropped: BigInt(drops.ovsCapture ?? 0),
      };
    },
  };
}
