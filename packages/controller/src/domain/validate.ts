/**
 * Validation at the edge: one function per request message, returning the
 * normalized values the domain trusts, or throwing INVALID_ARGUMENT.
 */

import { parseUpstream } from '@arca-net/dns';
import {
  type Cidr,
  cidrContains,
  cidrWithin,
  formatCidr,
  hostRange,
  networkOf,
  parseCidrText,
  parseIpv4,
  parseMac,
} from '@arca-net/netaddr';
import { DATA_PORT_LIMIT, DATA_PORT_MIN, isDataPort, type network } from '@arca-net/proto';
import { invalid } from './errors.js';
import { checkRouter } from './routed.js';

/** Ids: what Docker uses (hex) and what tests use; no OVSDB or shell syntax. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Docker names and DNS names: letters, digits, '_', '.', '-', starting with a letter or digit. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}$/;

/**
 * Parses a canonical IPv4 CIDR (no host bits set); `error` says why `text` is
 * not one, in the words INVALID_ARGUMENT carries.
 */
export function parseCidr(text: string): { cidr: Cidr } | { error: string } {
  const parsed = parseCidrText(text);
  if (!parsed) return { error: `${JSON.stringify(text)} is not an IPv4 CIDR like 172.18.0.0/16` };
  const cidr = networkOf(parsed.addr, parsed.prefix);
  if (cidr.base !== parsed.addr) {
    return { error: `${text} has host bits set; the network is ${formatCidr(cidr)}` };
  }
  return { cidr };
}

export function checkId(what: string, value: string): string {
  if (!ID.test(value)) {
    throw invalid(
      `${what} ${JSON.stringify(value)} is not valid: use 1-128 of [A-Za-z0-9_.-], starting with a letter or digit`,
    );
  }
  return value;
}

export function checkName(what: string, value: string): string {
  if (!NAME.test(value)) {
    throw invalid(
      `${what} ${JSON.stringify(value)} is not valid: use [A-Za-z0-9_.-], starting with a letter or digit`,
    );
  }
  return value;
}

/** Lower-cases and checks a unicast MAC. */
export function checkMac(value: string): string {
  const parsed = parseMac(value);
  if ('mac' in parsed) return parsed.mac;
  switch (parsed.problem) {
    case 'malformed':
      throw invalid(`mac_address ${JSON.stringify(value)} is not a MAC like 02:42:ac:11:00:02`);
    case 'multicast':
      throw invalid(`mac_address ${value} is a multicast address; use a unicast MAC`);
    case 'zero':
      throw invalid('mac_address 00:00:00:00:00:00 is not usable');
  }
}

/** A CreateBridge request after validation. */
export interface NetworkSpec {
  networkId: string;
  name: string;
  subnet: Cidr;
  gateway: number;
  ipRange: Cidr | undefined;
  mtu: number;
  internal: boolean;
  labels: Record<string, string>;
  /** Upstreams of the network's resolver ("ip" or "ip:port"). */
  dnsUpstreams?: string[];
  /** 'overlay': a network of the whole cluster (central NB); absent: this host's. */
  driver?: 'overlay';
  /** Overlay: the router group it is routed in (`arca-net.router`); absent: isolated. */
  router?: string;
}

/** Default MTU of overlay networks: Geneve costs 58 bytes of a 1500-byte underlay (docs/cluster.md). */
export const OVERLAY_DEFAULT_MTU = 1400;

export function validateCreateBridge(req: network.CreateBridgeRequest): NetworkSpec {
  const networkId = checkId('network_id', req.networkId);
  const name = req.name === '' ? '' : checkName('name', req.name);
  const parsed = parseCidr(req.subnet);
  if ('error' in parsed) throw invalid(`subnet: ${parsed.error}`);
  const subnet = parsed.cidr;
  if (subnet.prefix < 8 || subnet.prefix > 30) {
    throw invalid(`subnet ${req.subnet}: prefix length must be between /8 and /30`);
  }
  const hosts = hostRange(subnet);
  let gateway = hosts.first;
  if (req.gateway !== '') {
    const gw = parseIpv4(req.gateway);
    if (gw === undefined)
      throw invalid(`gateway ${JSON.stringify(req.gateway)} is not an IPv4 address`);
    if (!cidrContains(subnet, gw) || gw < hosts.first || gw > hosts.last) {
      throw invalid(`gateway ${req.gateway} is not a host address of subnet ${formatCidr(subnet)}`);
    }
    gateway = gw;
  }
  let ipRange: Cidr | undefined;
  if (req.ipRange !== '') {
    const r = parseCidr(req.ipRange);
    if ('error' in r) throw invalid(`ip_range: ${r.error}`);
    if (!cidrWithin(subnet, r.cidr))
      throw invalid(`ip_range ${req.ipRange} is not inside subnet ${formatCidr(subnet)}`);
    ipRange = r.cidr;
  }
  if (req.driver !== '' && req.driver !== 'bridge' && req.driver !== 'overlay') {
    throw invalid(`driver ${JSON.stringify(req.driver)}: expected "bridge" or "overlay"`);
  }
  const overlay = req.driver === 'overlay';
  const mtu = req.mtu === 0 ? (overlay ? OVERLAY_DEFAULT_MTU : 1500) : req.mtu;
  if (mtu < 68 || mtu > 65535) throw invalid(`mtu ${req.mtu} is outside [68, 65535]`);
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.labels)) {
    if (!LABEL_KEY.test(key)) throw invalid(`label key ${JSON.stringify(key)} is not valid`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
    if (value.length > 1024 || /[\u0000-\u001f]/.test(value))
      throw invalid(`label ${key}: value too long or has control characters`);
    labels[key] = value;
  }
  const dnsUpstreams = (req.dnsUpstreams ?? []).map((u) => {
    try {
      parseUpstream(u);
      return u;
    } catch {
      throw invalid(`dns_upstreams: ${JSON.stringify(u)} is not "ip" or "ip:port"`);
    }
  });
  const router = checkRouter(req.router ?? '', overlay, req.internal);
  return {
    ...(overlay ? { driver: 'overlay' as const } : {}),
    ...(router ? { router } : {}),
    networkId,
    name,
    subnet,
    gateway,
    ipRange,
    mtu,
    internal: req.internal,
    labels,
    dnsUpstreams,
  };
}

/** An AttachContainer request after validation (the IP is still to be decided). */
export interface AttachSpec {
  containerId: string;
  networkId: string;
  requestedIp: number | undefined;
  mac: string;
  hostname: string;
  aliases: string[];
  vsockPort: number;
  /** Offload framing on the data stream. */
  offload: boolean;
}

export function validateAttach(req: network.AttachContainerRequest): AttachSpec {
  const containerId = checkId('container_id', req.containerId);
  const networkId = checkId('network_id', req.networkId);
  let requestedIp: number | undefined;
  if (req.ipAddress !== '') {
    requestedIp = parseIpv4(req.ipAddress);
    if (requestedIp === undefined)
      throw invalid(`ip_address ${JSON.stringify(req.ipAddress)} is not an IPv4 address`);
  }
  if (req.macAddress === '') throw invalid('mac_address is required (the host chooses it)');
  const mac = checkMac(req.macAddress);
  const hostname = req.hostname === '' ? '' : checkName('hostname', req.hostname);
  const aliases = [...new Set(req.aliases.map((a) => checkName('alias', a)))];
  if (!isDataPort(req.vsockPort)) {
    throw invalid(`vsock_port ${req.vsockPort} is outside [${DATA_PORT_MIN}, ${DATA_PORT_LIMIT})`);
  }
  return {
    containerId,
    networkId,
    requestedIp,
    mac,
    hostname,
    aliases,
    vsockPort: req.vsockPort,
    offload: req.offload ?? false,
  };
}

/** The outside world behind the helper's uplink, after validation. */
export interface ExternalNetwork {
  cidr: Cidr;
  /** Next hop of every network's default route; a host address of `cidr`. */
  gateway: number;
  /**
   * The part of `cidr` this helper hands out (ARCA_EXTERNAL_RANGE; absent: all
   * of it). Helpers of a cluster that share one external network each get
   * their own range, so no two hand out one address (docs/cluster.md).
   */
  range?: Cidr;
}

/** The host addresses this helper may use on the external network: its range's, inside `cidr`. */
export function externalPool(external: ExternalNetwork): { first: number; last: number } {
  const whole = hostRange(external.cidr);
  if (!external.range) return whole;
  const part = hostRange(external.range);
  return { first: Math.max(whole.first, part.first), last: Math.min(whole.last, part.last) };
}

/**
 * The helper's own address on the external network (`arca-fwd0`, set up by
 * helpervm/startup.sh): the last host address, or the one before when that
 * is the gateway (of the helper's range, when it has one). Never handed to a
 * network. A /30 spares none: undefined.
 */
export function forwardAddress(external: ExternalNetwork): number | undefined {
  if ((external.range ?? external.cidr).prefix >= 30) return undefined;
  const last = externalPool(external).last;
  return last === external.gateway ? last - 1 : last;
}

/**
 * Parses the uplink configuration (ARCA_EXTERNAL_CIDR / ARCA_EXTERNAL_GATEWAY,
 * optionally ARCA_EXTERNAL_RANGE): a canonical CIDR of at most /30, a host
 * address inside it, and a range (canonical, at most /29) inside it.
 */
export function parseExternalNetwork(
  cidr: string,
  gateway: string,
  range?: string,
): ExternalNetwork {
  const parsed = parseCidr(cidr);
  if ('error' in parsed) throw invalid(`external network: ${parsed.error}`);
  if (parsed.cidr.prefix < 8 || parsed.cidr.prefix > 30)
    throw invalid(`external network ${cidr}: prefix length must be between /8 and /30`);
  const gw = parseIpv4(gateway);
  const hosts = hostRange(parsed.cidr);
  if (gw === undefined || !cidrContains(parsed.cidr, gw) || gw < hosts.first || gw > hosts.last)
    throw invalid(`external gateway ${JSON.stringify(gateway)} is not a host address of ${cidr}`);
  if (!range) return { cidr: parsed.cidr, gateway: gw };
  const part = parseCidr(range);
  if ('error' in part) throw invalid(`external range: ${part.error}`);
  if (part.cidr.prefix < parsed.cidr.prefix || !cidrContains(parsed.cidr, part.cidr.base))
    throw invalid(`external range ${range} is not inside the external network ${cidr}`);
  if (part.cidr.prefix > 29)
    throw invalid(`external range ${range}: prefix length must be at most /29`);
  return { cidr: parsed.cidr, gateway: gw, range: part.cidr };
}
