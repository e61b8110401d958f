/**
 * MAC addresses of attachments: one stable, locally administered unicast
 * address per (container, network), chosen on the host once and applied both
 * in the helper's logical switch port and on the container's TAP.
 */
import { createHash } from 'node:crypto';
import { formatMac, parseMac } from '@arca-net/netaddr';
import { errors } from './errors.js';

/**
 * The default MAC of a container on a network: `02:42:` (locally
 * administered, unicast, Docker's prefix) followed by 4 bytes of
 * SHA-256(containerId, networkId). Same inputs, same MAC, across restarts.
 */
export function stableMac(containerId: string, networkId: string): string {
  const digest = createHash('sha256').update(`${containerId}\0${networkId}`).digest();
  return formatMac([0x02, 0x42, ...digest.subarray(0, 4)]);
}

/** Validates a user-given MAC (`aa:bb:cc:dd:ee:ff`, `-` separators allowed) and returns it lower-case with `:`. */
export function normalizeMac(mac: string): string {
  const parsed = parseMac(mac, { allowDashes: true });
  if ('mac' in parsed) return parsed.mac;
  switch (parsed.problem) {
    case 'malformed':
      throw errors.invalidMac(mac, 'expected six hex bytes like 02:42:ac:11:00:02');
    case 'multicast':
      throw errors.invalidMac(mac, 'multicast addresses cannot be assigned to an interface');
    case 'zero':
      throw errors.invalidMac(mac, 'the all-zero address is not valid');
  }
}
