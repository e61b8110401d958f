/** `lab stats`: the columns that say where an attachment's frames were dropped. */
import {
  type AttachmentDrops,
  type DeviceDropCounts,
  deviceDropTotal,
  ovsPortDropTotal,
} from '@arca-net/host';

/** Relays (host, forwarder, helper), the container's TAP, the helper's TAP, the OVS port (with its capture of the TAP). */
export const DROP_PLACES_HEADER = ['DROPPED AT: RELAYS', 'CTR TAP', 'HELPER TAP', 'OVS PORT'];

const device = (d: DeviceDropCounts | undefined, place: string, drops: AttachmentDrops): string =>
  d ? String(deviceDropTotal(d)) : drops.unreadable.includes(place) ? '?' : '-';

/** One attachment's drop places; '?' where the place did not answer, '-' where it has no counter. */
export function dropPlacesRow(drops: AttachmentDrops | undefined): string[] {
  if (!drops) return ['-', '-', '-', '-'];
  return [
    String(drops.relay),
    device(drops.containerTap, 'forwarder', drops),
    device(drops.helperTap, 'helper', drops),
    drops.ovsPort ? String(ovsPortDropTotal(drops)) : device(undefined, 'helper', drops),
  ];
}
