/**
 * MAC addresses of attachments: one stable, locally administered unicast
 * address per (container, network), chosen on the host once and applied both
 * in the helper's logical switch port and on the container's TAP.
 */
import { createHash } from 'node:crypto';
import { errors } from './errors.js';

/**
 * The default MAC of a container on a network: `02:42:` (locally
 * administered, unicast, Docker's prefix) followed by 4 bytes of
 * SHA-256(containerId, networkId). Same inputs, same MAC, across restarts.
 */
export function stableMac(containerId: string, networkId: string): string {
  const digest = createHash('sha256').update(`${containerId}\0${networkId}`).digest();
  const bytes = [0x02, 0x42, digest[0] ?? 0, digest[1] ?? 0, digest[2] ?? 0, digest[3] ?? 0];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Validates a user-given MAC (`aa:bb:cc:dd:ee:ff`, `-` separators allowed) and returns it lower-case with `:`. */
export function normalizeMac(mac: string): string {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(mac)) {
    throw errors.invalidMac(mac, 'expected six hex bytes like 02:42:ac:11:00:02');
  }
  const text = mac.toLowerCase().replaceAll('-', ':');
  const first = Number.parseInt(text.slice(0, 2), 16);
  if (first & 1)
    throw errors.invalidMac(mac, 'multicast addresses cannot be assigned to an interface');
  if (text === '00:00:00:00:00:00')
    throw errors.invalidMac(mac, 'the all-zero address is not valid');
  return text;
}
