/**
 * Where an attachment's frames are dropped in the helper: the kernel
 * counters of its TAP (the relay writes into it, OVS reads it) and the OVS
 * interface's own statistics (`ovs-vsctl get Interface <port> statistics`).
 */
import { type DeviceDrops, readDeviceDrops } from '@arca-net/vsock';
import { type OvsdbRow, strMap } from '../ovn/json.js';

/** The drop counters of one attachment in the helper; undefined where unreadable. */
export interface HelperDrops {
  helperTap: DeviceDrops | undefined;
  ovsPort: DeviceDrops | undefined;
}

/**
 * The rx_dropped / tx_dropped of an Interface row's `statistics` column;
 * undefined when OVS reports neither (a port it has not opened yet).
 */
export function interfaceDrops(row: OvsdbRow): DeviceDrops | undefined {
  const stats = strMap(row, 'statistics');
  const rx = stats.get('rx_dropped');
  const tx = stats.get('tx_dropped');
  if (rx === undefined && tx === undefined) return undefined;
  return { rxDropped: Number(rx ?? 0), txDropped: Number(tx ?? 0) };
}

/** Reads both places for the TAP / OVS port `portName`; `ovsDrops` is the driver's reader. */
export async function readHelperDrops(
  portName: string,
  ovsDrops: ((name: string) => Promise<DeviceDrops | undefined>) | undefined,
): Promise<HelperDrops> {
  const [helperTap, ovsPort] = await Promise.all([
    readDeviceDrops(portName).catch(() => undefined),
    ovsDrops ? ovsDrops(portName).catch(() => undefined) : undefined,
  ]);
  return { helperTap, ovsPort };
}
