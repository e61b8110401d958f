/**
 * The arguments of `ovs-docker`, checked before anything is made. The script
 * checks none of them (a bad MTU or MAC leaves a half-configured port and
 * exits 0); these messages are ours, in the script's `ovs-docker: …` form.
 */
import { isIP } from 'node:net';
import { parseMac } from '@arca-net/netaddr';

/** Longest interface name Linux takes (IFNAMSIZ 16 with its NUL). */
export const IFNAME_MAX_BYTES = 15;

/** Why `name` cannot be a Linux interface name, or undefined when it can. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  const bytes = Buffer.byteLength(name);
  if (bytes > IFNAME_MAX_BYTES) {
    return `it is ${bytes} bytes long, Linux takes at most ${IFNAME_MAX_BYTES}`;
  }
  if (name === '.' || name === '..') return 'Linux does not take "." or ".."';
  if (/[/:\s]/.test(name)) return 'Linux does not take "/", ":" or white space in one';
  return undefined;
}

/**
 * Why `name` cannot be a bridge name: a bridge is also an interface, and the
 * name must not read as OVSDB syntax (quotes, braces, brackets, `=`, `,`).
 */
export function bridgeNameProblem(name: string): string | undefined {
  const problem = interfaceNameProblem(name);
  if (problem) return problem;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    return 'only letters, digits, "_", "." and "-" are allowed';
  }
  return undefined;
}

/** Why `text` is not an ADDRESS (`IP` or `IP/PREFIX`, IPv4 or IPv6). */
export function addressProblem(text: string): string | undefined {
  const [ip = '', prefix, ...extra] = text.split('/');
  const family = isIP(ip);
  if (family === 0 || extra.length > 0) return 'not an IP address with an optional /PREFIX';
  if (prefix !== undefined) {
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
      return `the prefix length must be 0 to ${max}`;
    }
  }
  return undefined;
}

/** Why `text` is not a GATEWAY (an IP address). */
export function gatewayProblem(text: string): string | undefined {
  return isIP(text) === 0 ? 'not an IP address' : undefined;
}

/** Why `text` is not a MAC an interface can have. */
export function macProblem(text: string): string | undefined {
  const parsed = parseMac(text);
  if ('mac' in parsed) return undefined;
  return {
    malformed: 'not six hex bytes separated by ":"',
    multicast: 'a multicast address',
    zero: 'the all-zero address',
  }[parsed.problem];
}

/** Smallest and largest MTU of the container side (IPv4's minimum, veth's maximum). */
export const MTU_RANGE = [68, 65535] as const;

/** Why `text` is not an MTU. */
export function mtuProblem(text: string): string | undefined {
  const [min, max] = MTU_RANGE;
  if (!/^\d{1,6}$/.test(text) || Number(text) < min || Number(text) > max) {
    return `the MTU must be a number from ${min} to ${max}`;
  }
  return undefined;
}

/** Why `text` is not a VLAN tag (OVSDB's Port.tag: 0 to 4095). */
export function vlanProblem(text: string): string | undefined {
  if (!/^\d{1,4}$/.test(text) || Number(text) > 4095) {
    return `${text} is not in the valid range 0 to 4095 (inclusive)`;
  }
  return undefined;
}
