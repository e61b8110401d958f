/**
 * The DNS server's records: built from one snapshot (network name →
 * containers), validated as a whole (a bad entry rejects the snapshot and
 * leaves the previous table in place), looked up case-insensitively.
 * Names answer as Docker's embedded DNS does: `name`, `alias`, the 12-digit id
 * prefix, and each of them qualified by the network (`api.front`); PTR of a
 * container address answers `name.network`.
 */
import { isIPv4 } from 'node:net';
import { invalidArgument } from './errors.js';

/** One container as the snapshot describes it (the proto's `ContainerDNSInfo`). */
export interface DnsContainer {
  name: string;
  id: string;
  ipAddress: string;
  aliases: string[];
}

/** Snapshot: network name → containers on it. */
export type DnsSnapshot = Record<string, { containers: DnsContainer[] } | undefined>;

/** Immutable name → IPv4 addresses table. */
export interface DnsTable {
  /**
   * The addresses of `name` (any case, with or without the trailing dot), or
   * `undefined` when the name is not in the snapshot. A name present on several
   * networks (or used by several containers) answers all its distinct addresses,
   * in snapshot order.
   */
  lookup(name: string): readonly string[] | undefined;
  /**
   * The names (`name.network`) of a reverse name (`4.3.2.1.in-addr.arpa`), or
   * `undefined` when no container has that address.
   */
  lookupPtr(name: string): readonly string[] | undefined;
  /** Number of distinct names. */
  readonly size: number;
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const CONTAINER_ID = /^[0-9a-f]{64}$/;

/** Lower-cases and strips one trailing dot: the table's key for a query name. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** True for a name made of DNS labels (letters, digits, '-', '_'; ≤63 per label, ≤253 in all). */
export function isValidDnsName(name: string): boolean {
  const n = normalizeName(name);
  if (n.length === 0 || n.length > 253) return false;
  return n.split('.').every((label) => LABEL.test(label));
}

/** The reverse name of an IPv4 address: `10.0.0.5` → `5.0.0.10.in-addr.arpa`. */
export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** The empty table (no snapshot yet). */
export const emptyDnsTable: DnsTable = {
  lookup: () => undefined,
  lookupPtr: () => undefined,
  size: 0,
};

function pushUnique(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (!list) map.set(key, [value]);
  else if (!list.includes(value)) list.push(value);
}

/**
 * Validates a snapshot and builds its table: the container name, its aliases
 * and the 12-character prefix of its id resolve to its address, bare and as
 * `x.network`. Throws `INVALID_ARGUMENT` naming the first bad entry.
 */
export function buildDnsTable(snapshot: DnsSnapshot): DnsTable {
  const entries = new Map<string, string[]>();
  const reverse = new Map<string, string[]>();
  for (const [network, peers] of Object.entries(snapshot)) {
    if (network.length === 0) throw invalidArgument('DNS snapshot: empty network name');
    const qualify = isValidDnsName(network);
    for (const [index, c] of (peers?.containers ?? []).entries()) {
      const where = `DNS snapshot: network ${JSON.stringify(network)} container #${index}`;
      if (!isIPv4(c.ipAddress)) {
        throw invalidArgument(`${where}: ip_address ${JSON.stringify(c.ipAddress)} is not IPv4`);
      }
      if (!isValidDnsName(c.name)) {
        throw invalidArgument(`${where}: name ${JSON.stringify(c.name)} is not a DNS name`);
      }
      if (c.id !== '' && !CONTAINER_ID.test(c.id.toLowerCase())) {
        throw invalidArgument(`${where}: id ${JSON.stringify(c.id)} is not 64 hex digits`);
      }
      for (const alias of c.aliases) {
        if (!isValidDnsName(alias)) {
          throw invalidArgument(`${where}: alias ${JSON.stringify(alias)} is not a DNS name`);
        }
      }
      // The full 64-digit id cannot be asked for: a DNS label holds at most 63 bytes.
      const names = [c.name, ...c.aliases, ...(c.id !== '' ? [c.id.slice(0, 12)] : [])];
      for (const name of names) {
        pushUnique(entries, normalizeName(name), c.ipAddress);
        if (qualify) pushUnique(entries, normalizeName(`${name}.${network}`), c.ipAddress);
      }
      if (qualify) {
        pushUnique(reverse, reverseName(c.ipAddress), normalizeName(`${c.name}.${network}`));
      }
    }
  }
  return {
    lookup: (name) => entries.get(normalizeName(name)),
    lookupPtr: (name) => reverse.get(normalizeName(name)),
    size: entries.size,
  };
}
