/** IPv4 addresses and CIDRs as 32-bit numbers: parsing, containment, overlap. */

/** A parsed CIDR. */
export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses a dotted quad strictly (no leading zeros, no spaces); undefined if invalid. */
export function parseIp(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** Formats an unsigned 32-bit number as a dotted quad. */
export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/n"; `error` says why it is not a canonical CIDR. */
export function parseCidr(text: string): { cidr: Cidr } | { error: string } {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  const ip = m?.[1] !== undefined ? parseIp(m[1]) : undefined;
  const prefix = m?.[2] !== undefined ? Number(m[2]) : Number.NaN;
  if (ip === undefined || !(prefix >= 0 && prefix <= 32)) {
    return { error: `${JSON.stringify(text)} is not an IPv4 CIDR like 172.18.0.0/16` };
  }
  if ((ip & mask(prefix)) >>> 0 !== ip) {
    return {
      error: `${text} has host bits set; the network is ${formatIp((ip & mask(prefix)) >>> 0)}/${prefix}`,
    };
  }
  return { cidr: { base: ip, prefix } };
}

/** "a.b.c.d/n". */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

/** Last address of the CIDR (broadcast). */
export function lastIp(c: Cidr): number {
  return (c.base | (~mask(c.prefix) >>> 0)) >>> 0;
}

/** Whether `ip` lies in `c`. */
export function contains(c: Cidr, ip: number): boolean {
  return (ip & mask(c.prefix)) >>> 0 === c.base;
}

/** Whether `inner` lies entirely inside `outer`. */
export function within(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && contains(outer, inner.base);
}

/** Whether two CIDRs share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return within(a, b) || within(b, a);
}

/** Usable host addresses of a subnet: without network and broadcast (for prefixes up to /30). */
export function hostRange(c: Cidr): { first: number; last: number } {
  if (c.prefix >= 31) return { first: c.base, last: lastIp(c) };
  return { first: c.base + 1, last: lastIp(c) - 1 };
}
