/**
 * A network as the controller holds it in memory (its NB record with the
 * numbers derived from it, its attachments, DNS names and published ports),
 * and the pure decisions made on it: the address pool, the addresses OVN's
 * DHCP must not hand out, the next free address, an attachment's DNS names.
 */
import {
  type Cidr,
  cidrContains,
  formatIpv4,
  hostRange,
  lastAddress,
  parseIpv4,
  resolverAddress,
} from '@arca-net/netaddr';
import type { EndpointRecord, NetworkRecord, PublishedPortRecord } from '../ovn/model.js';
import { busy, invalid, taken } from './errors.js';
import { parseCidr } from './validate.js';

/** A network with its derived numbers and its attachments. */
export interface NetworkView {
  record: NetworkRecord;
  subnet: Cidr;
  gateway: number;
  /** Addresses handed out: [first, last] of ip_range or the subnet's hosts. */
  pool: { first: number; last: number };
  endpoints: Map<string, EndpointRecord>;
  /** name → IP, as in the network's DNS row. */
  dns: Map<string, string>;
  published: Map<string, PublishedPortRecord>;
}

/** The addresses OVN's DHCP must not hand out: the gateway and what lies outside the pool. */
export function exclusions(
  subnet: Cidr,
  gateway: number,
  pool: { first: number; last: number },
): string {
  const hosts = hostRange(subnet);
  const parts = [formatIpv4(gateway)];
  const range = (a: number, b: number) =>
    a === b ? formatIpv4(a) : `${formatIpv4(a)}..${formatIpv4(b)}`;
  if (pool.first > hosts.first) parts.push(range(hosts.first, pool.first - 1));
  if (pool.last < hosts.last) parts.push(range(pool.last + 1, hosts.last));
  return parts.join(' ');
}

/** The addresses handed out: ip_range within the subnet's hosts, else all of them. */
export function poolOf(subnet: Cidr, ipRange: Cidr | undefined): { first: number; last: number } {
  const hosts = hostRange(subnet);
  if (!ipRange) return hosts;
  return {
    first: Math.max(ipRange.base, hosts.first),
    last: Math.min(lastAddress(ipRange), hosts.last),
  };
}

/** The view of a network record read from NB; undefined when its numbers do not parse. */
export function viewOfRecord(
  rec: NetworkRecord,
  dns: Map<string, string>,
): NetworkView | undefined {
  const subnet = parseCidr(rec.subnet);
  const gateway = parseIpv4(rec.gateway);
  if ('error' in subnet || gateway === undefined) return undefined;
  const range = rec.ipRange ? parseCidr(rec.ipRange) : undefined;
  return {
    record: rec,
    subnet: subnet.cidr,
    gateway,
    pool: poolOf(subnet.cidr, range && 'cidr' in range ? range.cidr : undefined),
    endpoints: new Map(),
    dns,
    published: new Map(),
  };
}

/**
 * The address an attachment gets: `requested` when it is a free host address
 * of the subnet, else the lowest free one of the pool (the gateway and the
 * network's resolver are never free).
 */
export function pickIp(view: NetworkView, requested: number | undefined): number {
  const used = new Set<number>([view.gateway]);
  for (const ep of view.endpoints.values()) used.add(parseIpv4(ep.ip) ?? 0);
  // The network's resolver (the DHCP lease's DNS server) holds this one.
  const resolver = resolverAddress(view.subnet, view.gateway);
  if (resolver !== undefined) used.add(resolver);
  if (requested !== undefined) {
    const hosts = hostRange(view.subnet);
    if (
      !cidrContains(view.subnet, requested) ||
      requested < hosts.first ||
      requested > hosts.last
    ) {
      throw invalid(
        `ip_address ${formatIpv4(requested)} is not a host address of subnet ${view.record.subnet}`,
      );
    }
    if (requested === view.gateway)
      throw taken(`ip_address ${formatIpv4(requested)} is the network's gateway`);
    if (used.has(requested))
      throw taken(
        `ip_address ${formatIpv4(requested)} is already in use on network ${view.record.networkId}`,
      );
    return requested;
  }
  for (let ip = view.pool.first; ip <= view.pool.last; ip++) if (!used.has(ip)) return ip;
  throw busy(
    `network ${view.record.networkId} has no free address left in ${view.record.ipRange || view.record.subnet}`,
  );
}

/** The DNS names of an attachment: hostname, 12-character id, aliases (lower case, unique). */
export function dnsNames(
  ep: Pick<EndpointRecord, 'hostname' | 'containerId' | 'aliases'>,
): string[] {
  const names = [ep.hostname, ep.containerId.slice(0, 12), ...ep.aliases].filter((n) => n !== '');
  return [...new Set(names.map((n) => n.toLowerCase()))];
}
