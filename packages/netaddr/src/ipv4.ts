/**
 * IPv4 addresses and prefixes as unsigned 32-bit numbers: strict parsing,
 * formatting, containment and overlap. No error wording: each caller words
 * its own errors (Docker's on the host, gRPC statuses in the VMs).
 */

/** An IPv4 prefix: `base` is the network address (no host bits set). */
export interface Cidr {
  base: number;
  prefix: number;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Parses a dotted quad strictly (no leading zeros, no spaces); undefined when it is not one. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Dotted-quad text of an address number. */
export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** The netmask of a prefix length as a number. */
export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses `a.b.c.d/n` as written (host bits kept); undefined when malformed. */
export function parseCidrText(text: string): { addr: number; prefix: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIpv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (addr === undefined || !/^(0|[1-9][0-9]?)$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > 32) return undefined;
  return { addr, prefix };
}

/** The prefix that `addr/prefix` lies in. */
export function networkOf(addr: number, prefix: number): Cidr {
  return { base: (addr & maskOf(prefix)) >>> 0, prefix };
}

/** `a.b.c.d/n` text of a prefix. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefix}`;
}

/** Last address of a prefix (the broadcast address for prefixes up to /30). */
export function lastAddress(cidr: Cidr): number {
  return cidr.base + 2 ** (32 - cidr.prefix) - 1;
}

/** True when `addr` lies in `cidr`. */
export function cidrContains(cidr: Cidr, addr: number): boolean {
  return addr >= cidr.base && addr <= lastAddress(cidr);
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrWithin(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContains(outer, inner.base);
}

/** True when two prefixes share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base <= lastAddress(b) && b.base <= lastAddress(a);
}

/** Usable host addresses of a prefix: without network and broadcast, except for /31 and /32. */
export function hostRange(cidr: Cidr): { first: number; last: number } {
  if (cidr.prefix >= 31) return { first: cidr.base, last: lastAddress(cidr) };
  return { first: cidr.base + 1, last: lastAddress(cidr) - 1 };
}

/** Whether two addresses share their first `prefix` bits. */
export function sameNetwork(a: number, b: number, prefix: number): boolean {
  const mask = maskOf(prefix);
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

/**
 * The address of a network's resolver in the helper (the DNS server that DHCP
 * leases name): the subnet's highest host address that is not the gateway.
 * No container is ever given it. Undefined for subnets of fewer than 6 hosts
 * (/30 and smaller), which keep every address for containers.
 */
export function resolverAddress(cidr: Cidr, gateway: number): number | undefined {
  if (cidr.prefix > 29) return undefined;
  const { last } = hostRange(cidr);
  return last === gateway ? last - 1 : last;
}
