/**
 * Ethernet MAC addresses as the whole project writes them: six lower-case
 * hex bytes separated by `:`. Interfaces take unicast, non-zero addresses.
 */
import { randomBytes } from 'node:crypto';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Why a MAC cannot be assigned to an interface. */
export type MacProblem = 'malformed' | 'multicast' | 'zero';

/**
 * Reads a MAC (`:` or, with `allowDashes`, `-` between bytes; any case) and
 * returns it lower-case with `:`, or the reason an interface cannot have it.
 */
export function parseMac(
  text: string,
  options: { allowDashes?: boolean } = {},
): { mac: string } | { problem: MacProblem } {
  let mac = text.toLowerCase();
  if (options.allowDashes && /^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/.test(mac)) {
    mac = mac.replaceAll('-', ':');
  }
  if (!MAC.test(mac)) return { problem: 'malformed' };
  if (Number.parseInt(mac.slice(0, 2), 16) & 1) return { problem: 'multicast' };
  if (mac === '00:00:00:00:00:00') return { problem: 'zero' };
  return { mac };
}

/** `aa:bb:…` text of six bytes. */
export function formatMac(bytes: Uint8Array | readonly number[]): string {
  return [...bytes]
    .slice(0, 6)
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');
}

/** A random locally administered unicast MAC. */
export function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfe) | 0x02;
  return formatMac(bytes);
}
